/**
 * The Slack side of chat control over Socket Mode (the `/vigil` slash command and the buttons under
 * alerts); envelopes are acked within Slack's 3 seconds, so a slow answer follows as a message.
 */
import { SocketModeClient } from "@slack/socket-mode";
import type { WebClient } from "@slack/web-api";
import { parseSlackAction } from "../../notifiers/chat-message.js";
import { escapeMrkdwn, lineMrkdwn } from "../../notifiers/slack-blocks.js";
import { slackApiUrl, slackLogger, slackWebClient } from "../../notifiers/slack-client.js";
import type { VigilConfig } from "../config/types.js";
import { errorText, type Logger } from "../log.js";
import { type CommandDeps, type Invoker, type Reply, runButton, runCommand } from "./commands.js";
import type { RunningBot } from "./telegram-bot.js";

export interface SlackBotDeps extends CommandDeps {
  config: () => VigilConfig;
  /** How long a slash command may run before the ack goes out without its answer. */
  ackBudgetMs?: number;
  client?: WebClient;
  /** How long start waits for the Socket Mode connection before returning anyway. */
  startWaitMs?: number;
}

type Ack = (response?: Record<string, unknown>) => Promise<void>;

/** What the Socket Mode client hands to listeners; its payload is Slack's JSON, checked here. */
function envelope(evt: unknown): { ack: Ack; body: Record<string, unknown> } | null {
  if (!evt || typeof evt !== "object") return null;
  const e = evt as { ack?: unknown; body?: unknown };
  if (typeof e.ack !== "function" || !e.body || typeof e.body !== "object") return null;
  return { ack: e.ack as Ack, body: e.body as Record<string, unknown> };
}

const str = (v: unknown): string => (typeof v === "string" ? v : "");

function channelOf(config: VigilConfig, id: string, name: string): string | null {
  for (const [key, ch] of Object.entries(config.channels)) {
    if (ch.type !== "slack") continue;
    if (ch.channel === id || (name && (ch.channel === name || ch.channel === `#${name}`))) return key;
  }
  return null;
}

function invoker(config: VigilConfig, channel: string, userId: string, channelId: string): Invoker {
  return {
    actor: `slack:${userId}`,
    allowed: (config.slack?.allowed_users ?? []).includes(userId),
    channel,
    platform: "slack",
    detail: { user_id: userId, channel_id: channelId },
  };
}

/** Reply lines as mrkdwn; "slack:U…" actors become mentions. */
function replyText(r: Reply): string {
  const text = r.lines
    .map(lineMrkdwn)
    .join("\n")
    .replace(/\bby slack:([UW][A-Z0-9]{2,})/g, "by <@$1>");
  return text.length > 3000 ? `${text.slice(0, 2990)}…` : text;
}

const errText = (err: unknown) => errorText(err);

export async function startSlackBot(deps: SlackBotDeps): Promise<RunningBot> {
  const sl = deps.config().slack;
  if (!sl?.app_token) throw new Error("slack bot: slack.app_token (Socket Mode) is not set");
  if (!sl.token && !deps.client) throw new Error("slack bot: slack.token is not set");
  const log = deps.log.child({ component: "slack-bot" });
  const web = deps.client ?? slackWebClient(sl.token, sl.api_url || undefined, log);
  const url = slackApiUrl(sl.api_url || undefined);
  const socket = new SocketModeClient({
    appToken: sl.app_token,
    logger: slackLogger(log),
    // Socket Mode's own retry policy, with timers that do not keep a stopped daemon alive.
    clientOptions: { ...(url ? { slackApiUrl: url } : {}), retryConfig: { retries: 100, factor: 1.3, unref: true } },
  });
  const bot: BotContext = { deps, log, web };
  const budget = deps.ackBudgetMs ?? 2500;
  socket.on("slash_commands", (evt: unknown) => onSlashCommand(bot, budget, evt));
  socket.on("interactive", (evt: unknown) => onInteractive(bot, evt));
  socket.on("error", (err: unknown) => log.warn({ err: errText(err) }, "slack: socket mode error"));

  const connection = keepConnecting(socket, log);
  let waitTimer: NodeJS.Timeout | undefined;
  const connected = await Promise.race([
    connection.started,
    new Promise<null>((r) => (waitTimer = setTimeout(() => r(null), deps.startWaitMs ?? 10_000))),
  ]);
  clearTimeout(waitTimer);
  if (connected === null) log.warn("slack: socket mode not connected yet; still trying");
  return { stop: connection.stop };
}

/** What the event handlers share. */
interface BotContext {
  deps: SlackBotDeps;
  log: Logger;
  web: WebClient;
}

async function say(web: WebClient, channelId: string, userId: string, text: string, publicly: boolean): Promise<void> {
  if (publicly) await web.chat.postMessage({ channel: channelId, text, mrkdwn: true });
  else await web.chat.postEphemeral({ channel: channelId, user: userId, text });
}

function onSlashCommand({ deps, log, web }: BotContext, budget: number, evt: unknown): void {
  const env = envelope(evt);
  if (!env) return;
  const { ack, body } = env;
  const channelId = str(body.channel_id);
  const userId = str(body.user_id);
  const config = deps.config();
  const channel = channelOf(config, channelId, str(body.channel_name));
  if (!channel) {
    // Not one of vigil's channels: ignored (an empty ack shows nothing).
    ack().catch((err: unknown) => log.warn({ err: errText(err) }, "slack: ack failed"));
    return;
  }
  const [name = "help", ...rest] = str(body.text).trim().split(/\s+/);
  const work = runCommand(deps, invoker(config, channel, userId, channelId), name || "help", rest.join(" "), "/vigil ").catch(
    (err: unknown): Reply => {
      log.error({ err: errText(err), command: name }, "slack: command failed");
      return { lines: [[{ text: "⚠️ That failed on vigil's side; see its log." }]], public: false };
    },
  );
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((r) => {
    timer = setTimeout(() => r(null), budget);
  });
  void (async () => {
    const first = await Promise.race([work, late]);
    clearTimeout(timer);
    try {
      if (first) {
        await ack({ response_type: first.public ? "in_channel" : "ephemeral", text: replyText(first) });
        return;
      }
      await ack({ response_type: "ephemeral", text: "⏳ Working on it…" });
      const r = await work;
      await say(web, channelId, userId, replyText(r), r.public);
    } catch (err) {
      log.warn({ err: errText(err) }, "slack: answering a command failed");
    }
  })();
}

function onInteractive({ deps, log, web }: BotContext, evt: unknown): void {
  const env = envelope(evt);
  if (!env) return;
  const { ack, body } = env;
  ack().catch((err: unknown) => log.warn({ err: errText(err) }, "slack: ack failed"));
  if (body.type !== "block_actions") return;
  const user = (body.user ?? {}) as Record<string, unknown>;
  const chan = (body.channel ?? {}) as Record<string, unknown>;
  const userId = str(user.id);
  const channelId = str(chan.id);
  const config = deps.config();
  const channel = channelOf(config, channelId, str(chan.name));
  if (!channel) return;
  const list = Array.isArray(body.actions) ? (body.actions as unknown[]) : [];
  void (async () => {
    for (const a of list) {
      const o = (a ?? {}) as Record<string, unknown>;
      const press = parseSlackAction(str(o.action_id), str(o.value));
      if (!press) continue;
      try {
        const r = await runButton(deps, invoker(config, channel, userId, channelId), press);
        if (!r.ok) await say(web, channelId, userId, escapeMrkdwn(r.message), false);
      } catch (err) {
        log.error({ err: errText(err), action: o.action_id }, "slack: button failed");
        await say(web, channelId, userId, "⚠️ That failed on vigil's side.", false).catch(() => undefined);
      }
    }
  })();
}

/** Slack being unreachable must not hold up the daemon: keep trying in the background with a backoff that stop() cancels. */
function keepConnecting(socket: SocketModeClient, log: Logger): RunningBot & { started: Promise<boolean> } {
  let stopped = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let failures = 0;
  const connect = (): Promise<boolean> =>
    socket.start().then(
      async () => {
        failures = 0;
        // A stop that came while connecting: the new connection must not outlive it.
        if (stopped) await socket.disconnect().catch(() => undefined);
        return !stopped;
      },
      (err: unknown) => {
        if (stopped) return false;
        failures++;
        const retryInMs = Math.min(60_000, 1000 * 2 ** Math.min(failures, 6));
        log.error({ err: errText(err), retryInMs }, "slack: socket mode could not start");
        retryTimer = setTimeout(() => void connect(), retryInMs);
        retryTimer.unref();
        return false;
      },
    );
  return {
    started: connect(),
    async stop() {
      stopped = true;
      clearTimeout(retryTimer);
      await socket.disconnect().catch(() => undefined);
    },
  };
}
