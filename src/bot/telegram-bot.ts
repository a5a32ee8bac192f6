/**
 * The Telegram side of chat control over long polling: commands and the inline buttons under alerts,
 * listened to only in configured channels; every button press is answered so the client's spinner stops.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Api, type CallbackQuery, longPoll, type Message, TelegramApiError, type Update } from "node-telegram-bot-api";
import { parseCallbackData } from "../../notifiers/chat-message.js";
import { type ChatPacer, sharedPacer, TELEGRAM_CHAT_RATE, TELEGRAM_GROUP_RATE } from "../../notifiers/chat-pacer.js";
import { renderLines, TEXT_LIMIT } from "../../notifiers/telegram-html.js";
import type { VigilConfig } from "../config/types.js";
import { errorText, type Logger } from "../log.js";
import { COMMANDS, type CommandDeps, type Invoker, type Reply, runButton, runCommand } from "./commands.js";

export interface TelegramBotDeps extends CommandDeps {
  config: () => VigilConfig;
  /** Long-poll seconds (Telegram holds getUpdates open this long when idle). */
  pollTimeoutSec?: number;
  api?: Api;
  /** Pacing of replies (default: the chat's shared pacer, which the notifiers use too). */
  pacer?: Pick<ChatPacer, "acquire">;
}

export interface RunningBot {
  stop(): Promise<void>;
}

/** The configured channel name of a chat, or null when the chat is not one of ours. */
function channelOf(config: VigilConfig, chatId: number | string): string | null {
  for (const [name, ch] of Object.entries(config.channels)) {
    if (ch.type === "telegram" && ch.chat_id === String(chatId)) return name;
  }
  return null;
}

function invoker(config: VigilConfig, channel: string, from: { id: number; username?: string }, chatId: number): Invoker {
  return {
    actor: from.username ? `telegram:@${from.username}` : `telegram:${from.id}`,
    allowed: (config.telegram?.allowed_users ?? []).includes(from.id),
    channel,
    platform: "telegram",
    detail: { user_id: from.id, chat_id: chatId },
  };
}

const errText = (err: unknown) => errorText(err);

export async function startTelegramBot(deps: TelegramBotDeps): Promise<RunningBot> {
  const tg = deps.config().telegram;
  if (!tg?.token && !deps.api) throw new Error("telegram bot: telegram.token is not set");
  const api = deps.api ?? new Api(tg!.token, { ...(tg?.api_url ? { apiRoot: tg.api_url } : {}), timeoutMs: 30_000 });
  const log = deps.log.child({ component: "telegram-bot" });
  const ac = new AbortController();
  let username: string | undefined;
  try {
    username = (await api.getMe()).username;
    await api.setMyCommands({
      commands: COMMANDS.map((c) => ({ command: c.name, description: `${c.args ? `${c.args} — ` : ""}${c.description}`.slice(0, 256) })),
    });
  } catch (err) {
    // Commands still work unregistered; polling below retries the connection.
    log.warn({ err: errText(err) }, "telegram: getMe/setMyCommands failed");
  }
  const bot: BotContext = { deps, api, log, username };
  const loop = pollUpdates(bot, ac.signal);
  return {
    async stop() {
      ac.abort();
      await loop;
    },
  };
}

/** What the update handlers share. */
interface BotContext {
  deps: TelegramBotDeps;
  api: Api;
  log: Logger;
  /** The bot's own @username, to ignore commands addressed to other bots. */
  username: string | undefined;
}

async function reply({ deps, api }: BotContext, chatId: number, replyTo: number, r: Reply): Promise<void> {
  const { html } = renderLines(r.lines, TEXT_LIMIT);
  const key = String(chatId);
  await (deps.pacer ?? sharedPacer(`telegram:${key}`, key.startsWith("-") ? TELEGRAM_GROUP_RATE : TELEGRAM_CHAT_RATE)).acquire();
  await api.sendMessage({
    chat_id: chatId,
    text: html,
    parse_mode: "HTML",
    link_preview_options: { is_disabled: true },
    reply_parameters: { message_id: replyTo, allow_sending_without_reply: true },
  });
}

async function onMessage(bot: BotContext, msg: Message): Promise<void> {
  const { deps, log, username } = bot;
  const config = deps.config();
  const channel = channelOf(config, msg.chat.id);
  if (!channel || !msg.from || !msg.text) return;
  const m = /^\/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]+))?(?:\s+([\s\S]*))?$/.exec(msg.text.trim());
  if (!m) return;
  // In groups "/status@otherbot" is for another bot.
  if (m[2] && username && m[2].toLowerCase() !== username.toLowerCase()) return;
  const who = invoker(config, channel, msg.from, msg.chat.id);
  let r: Reply;
  try {
    r = await runCommand(deps, who, m[1]!, m[3] ?? "", "/");
  } catch (err) {
    log.error({ err: errText(err), command: m[1] }, "telegram: command failed");
    r = { lines: [[{ text: "⚠️ That failed on vigil's side; see its log." }]], public: false };
  }
  await reply(bot, msg.chat.id, msg.message_id, r);
}

async function onCallback({ deps, api, log }: BotContext, q: CallbackQuery): Promise<void> {
  let answer = "";
  try {
    const config = deps.config();
    const chatId = q.message?.chat.id;
    const channel = chatId === undefined ? null : channelOf(config, chatId);
    const press = q.data ? parseCallbackData(q.data) : null;
    if (!channel || chatId === undefined) answer = "This chat is not a vigil channel.";
    else if (!press) answer = "Unknown button.";
    else answer = (await runButton(deps, invoker(config, channel, q.from, chatId), press)).message;
  } catch (err) {
    log.error({ err: errText(err), data: q.data }, "telegram: button failed");
    answer = "⚠️ That failed on vigil's side.";
  } finally {
    await api
      .answerCallbackQuery({ callback_query_id: q.id, text: answer.slice(0, 200), show_alert: answer.startsWith("⛔") })
      .catch((err: unknown) => {
        log.warn({ err: errText(err) }, "telegram: answerCallbackQuery failed");
      });
  }
}

async function handle(bot: BotContext, u: Update): Promise<void> {
  if ("message" in u) await onMessage(bot, u.message);
  else if ("callback_query" in u) await onCallback(bot, u.callback_query);
}

/** Long-poll until aborted; a failed poll is retried with a growing backoff. */
async function pollUpdates(bot: BotContext, signal: AbortSignal): Promise<void> {
  const { deps, api, log } = bot;
  let offset: number | undefined;
  let backoff = 1000;
  while (!signal.aborted) {
    try {
      const updates = longPoll(
        api,
        {
          ...(offset !== undefined ? { offset } : {}),
          timeout: deps.pollTimeoutSec ?? 30,
          allowedUpdates: ["message", "callback_query"],
          onError: (err) => log.warn({ err: errText(err) }, "telegram: getUpdates failed; retrying"),
        },
        signal,
      );
      for await (const u of updates) {
        offset = u.update_id + 1;
        backoff = 1000;
        try {
          await handle(bot, u);
        } catch (err) {
          log.error({ err: errText(err), update: u.update_id }, "telegram: update handling failed");
        }
      }
    } catch (err) {
      if (signal.aborted) break;
      // 401 (bad token) or 409 (a webhook is set, or another poller): keep trying, slowly, and say why.
      const hint =
        err instanceof TelegramApiError && err.errorCode === 409 ? " (another bot instance or a webhook is using this token)" : "";
      log.error({ err: errText(err), retryInMs: backoff }, `telegram: polling stopped${hint}`);
      await sleep(backoff, undefined, { signal }).catch(() => undefined);
      backoff = Math.min(backoff * 2, 5 * 60_000);
    }
  }
}
