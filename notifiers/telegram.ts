/**
 * The Telegram channel: an alert is a chart photo with the message as caption, later changes edit
 * that message so one alert stays one message; failures become DeliveryErrors the dispatcher retries.
 */
import { Api, InputFile, NetworkError, ParseError, TelegramApiError, TimeoutError } from "node-telegram-bot-api";
import { renderAlertChart } from "../src/charts/alert-chart.js";
import { renderSmallMultiples } from "../src/charts/small-multiples.js";
import type { ChannelConfig } from "../src/config/types.js";
import { seriesLabel } from "../src/model/format.js";
import type { AlertNotification, GroupNotification, Notification, TextNotification } from "../src/model/notification.js";
import { checkChatChannel } from "./chat-channel.js";
import { alertMessage, type ChatMessage, followUpMessage, groupMessage } from "./chat-message.js";
import { type ChatPacer, sharedPacer, TELEGRAM_CHAT_RATE, TELEGRAM_GROUP_RATE } from "./chat-pacer.js";
import { digestPanels } from "./digest-panels.js";
import { DeliveryError, type Notifier, type NotifierDeps, type SendContext, type SendResult } from "./notifier.js";
import { CAPTION_LIMIT, inlineKeyboard, messageHtml, TEXT_LIMIT } from "./telegram-html.js";

/** What is stored to edit the alert's message later. */
export interface TelegramRef {
  chat_id: string;
  message_id: number;
  kind: "photo" | "text";
  /** The chart photo sent before a text that did not fit in a caption. */
  photo_message_id?: number;
}

export interface TelegramNotifierOptions {
  /** The Bot API client (tests and the daemon may share one); built from the config otherwise. */
  api?: Api;
  pacer?: Pick<ChatPacer, "acquire">;
  /** Client timeout per request. */
  timeoutMs?: number;
}

export function isTelegramRef(v: unknown): v is TelegramRef {
  if (!v || typeof v !== "object") return false;
  const r = v as Record<string, unknown>;
  return typeof r.chat_id === "string" && typeof r.message_id === "number" && (r.kind === "photo" || r.kind === "text");
}

/**
 * The notifier's own client: no library retries (the dispatcher retries with the outbox's
 * backoff and honours retry_after without blocking other channels).
 */
export function telegramApi(token: string, apiUrl: string | undefined, timeoutMs = 30_000): Api {
  return new Api(token, { ...(apiUrl ? { apiRoot: apiUrl } : {}), maxRetries: 0, timeoutMs });
}

export function telegramDeliveryError(what: string, err: unknown): DeliveryError {
  if (err instanceof TelegramApiError) {
    const code = err.errorCode;
    const msg = `${what}: ${code} ${err.description}`;
    if (code === 429) return new DeliveryError(msg, { status: 429, retryAfterMs: (err.retryAfter ?? 1) * 1000 });
    if (code >= 500) return new DeliveryError(msg, { status: code });
    const hint = err.migrateToChatId !== undefined ? ` (the group is now chat ${err.migrateToChatId}: update chat_id)` : "";
    return new DeliveryError(`${msg}${hint}`, { status: code, permanent: true });
  }
  if (err instanceof TimeoutError) return new DeliveryError(`${what}: timed out`);
  if (err instanceof NetworkError) {
    const cause = (err as { cause?: { cause?: { code?: string }; message?: string } }).cause;
    return new DeliveryError(`${what}: ${cause?.cause?.code ?? cause?.message ?? err.message}`);
  }
  if (err instanceof ParseError) return new DeliveryError(`${what}: unreadable answer from the Bot API`);
  return new DeliveryError(`${what}: ${err instanceof Error ? err.message : String(err)}`);
}

const NOT_MODIFIED = /message is not modified/i;
const GONE = /message to edit not found|message can't be edited|MESSAGE_ID_INVALID/i;

export function createTelegramNotifier(
  channel: string,
  config: ChannelConfig,
  deps: NotifierDeps,
  opts: TelegramNotifierOptions = {},
): Notifier {
  return new TelegramNotifier(channel, config, deps, opts);
}

class TelegramNotifier implements Notifier {
  readonly type = "telegram" as const;
  private readonly api: Api;
  private readonly chatId: string;
  private readonly pacer: Pick<ChatPacer, "acquire">;
  private readonly what: string;
  /** Photos already sent for a delivery whose text then failed: a retry sends only the text. */
  private readonly photoSent = new Map<string, number>();

  constructor(
    readonly channel: string,
    config: ChannelConfig,
    private readonly deps: NotifierDeps,
    opts: TelegramNotifierOptions,
  ) {
    checkChatChannel("telegram", channel, config, deps, opts.api !== undefined);
    const tg = deps.config.telegram;
    this.api = opts.api ?? telegramApi(tg!.token, tg?.api_url || undefined, opts.timeoutMs);
    const chatId = config.chat_id;
    this.chatId = chatId;
    this.pacer = opts.pacer ?? sharedPacer(`telegram:${chatId}`, chatId.startsWith("-") ? TELEGRAM_GROUP_RATE : TELEGRAM_CHAT_RATE);
    this.what = `telegram ${channel}`;
  }

  async send(n: Notification, ctx: SendContext): Promise<SendResult> {
    if (n.type === "text") return this.sendTextNotification(n, ctx.key);
    if (n.type === "group") return this.sendGroup(n);
    if (n.event === "firing" && ctx.previousRef === null) return this.sendAlert(n, ctx.key);
    return this.sendChange(n, ctx.previousRef, ctx.key);
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    await this.pacer.acquire();
    try {
      return await fn();
    } catch (err) {
      throw telegramDeliveryError(this.what, err);
    }
  }

  private async sendText(m: ChatMessage, replyTo?: number): Promise<number> {
    const { html } = messageHtml(m, TEXT_LIMIT);
    const markup = inlineKeyboard(m.buttons);
    const res = await this.call(() =>
      this.api.sendMessage({
        chat_id: this.chatId,
        text: html,
        parse_mode: "HTML",
        link_preview_options: { is_disabled: true },
        ...(markup ? { reply_markup: markup } : {}),
        ...(replyTo ? { reply_parameters: { message_id: replyTo, allow_sending_without_reply: true } } : {}),
      }),
    );
    return res.message_id;
  }

  /** A picture with the message: as its caption when it fits, else the picture and then the text. */
  private async sendWithPicture(m: ChatMessage, png: Buffer, filename: string, key: string): Promise<TelegramRef> {
    const chatId = this.chatId;
    const caption = messageHtml(m, CAPTION_LIMIT);
    const markup = inlineKeyboard(m.buttons);
    const photo = new InputFile(new Uint8Array(png), { filename, contentType: "image/png" });
    if (!caption.truncated) {
      const res = await this.call(() =>
        this.api.sendPhoto({
          chat_id: chatId,
          photo,
          caption: caption.html,
          parse_mode: "HTML",
          ...(markup ? { reply_markup: markup } : {}),
        }),
      );
      return { chat_id: chatId, message_id: res.message_id, kind: "photo" };
    }
    let photoId = this.photoSent.get(key);
    if (photoId === undefined) {
      photoId = (await this.call(() => this.api.sendPhoto({ chat_id: chatId, photo }))).message_id;
      this.photoSent.set(key, photoId);
    }
    const textId = await this.sendText(m, photoId);
    this.photoSent.delete(key);
    return { chat_id: chatId, message_id: textId, kind: "text", photo_message_id: photoId };
  }

  private async sendAlert(n: AlertNotification, key: string): Promise<SendResult> {
    const m = alertMessage(n);
    if (n.chart && n.chart.rows.length > 0) {
      const a = n.alert;
      const png = renderAlertChart(n.chart, {
        title: `#${a.id} ${a.severity} · ${seriesLabel(a.metric, a.series)}`,
        subtitle: `${a.detector}${a.reason ? `: ${a.reason}` : ""}`,
      });
      return { ref: await this.sendWithPicture(m, png, `alert-${a.id}.png`, key) };
    }
    return { ref: { chat_id: this.chatId, message_id: await this.sendText(m), kind: "text" } satisfies TelegramRef };
  }

  /** Edit the original to show the new state; false when it no longer exists. */
  private async editOriginal(ref: TelegramRef, n: AlertNotification): Promise<boolean> {
    const m = alertMessage(n);
    const markup = inlineKeyboard(m.buttons) ?? { inline_keyboard: [] };
    try {
      if (ref.kind === "photo") {
        const { html } = messageHtml(m, CAPTION_LIMIT);
        await this.call(() =>
          this.api.editMessageCaption({
            chat_id: ref.chat_id,
            message_id: ref.message_id,
            caption: html,
            parse_mode: "HTML",
            reply_markup: markup,
          }),
        );
      } else {
        const { html } = messageHtml(m, TEXT_LIMIT);
        await this.call(() =>
          this.api.editMessageText({
            chat_id: ref.chat_id,
            message_id: ref.message_id,
            text: html,
            parse_mode: "HTML",
            link_preview_options: { is_disabled: true },
            reply_markup: markup,
          }),
        );
      }
      return true;
    } catch (err) {
      if (err instanceof DeliveryError && NOT_MODIFIED.test(err.message)) return true;
      if (err instanceof DeliveryError && GONE.test(err.message)) {
        this.deps.log.warn(
          { channel: this.channel, messageId: ref.message_id },
          "telegram: original alert message is gone; sending a new one",
        );
        return false;
      }
      throw err;
    }
  }

  private async sendChange(n: AlertNotification, previousRef: unknown, key: string): Promise<SendResult> {
    if (!isTelegramRef(previousRef)) {
      // Nothing to edit (first sent as part of a group, or the channel was added later): say it anew.
      return n.event === "firing"
        ? this.sendAlert(n, key)
        : { ref: { chat_id: this.chatId, message_id: await this.sendText(alertMessage(n)), kind: "text" } };
    }
    if (n.event === "firing") return this.sendAlert(n, key);
    const edited = await this.editOriginal(previousRef, n);
    if (!edited) {
      await this.sendText(alertMessage(n));
      return {};
    }
    // Reminders and resolutions should reach people, and an edit notifies no one.
    if (n.event === "reminder" || n.event === "resolved") await this.sendText(followUpMessage(n), previousRef.message_id);
    return {};
  }

  private async sendGroup(n: GroupNotification): Promise<SendResult> {
    const m = groupMessage(n);
    return { ref: { chat_id: this.chatId, message_id: await this.sendText(m), kind: "text" } satisfies TelegramRef };
  }

  private async sendTextNotification(n: TextNotification, key: string): Promise<SendResult> {
    const m: ChatMessage = { headline: n.title, lines: n.text.split("\n").map((t) => [{ text: t }]), buttons: [] };
    const panels = digestPanels(n);
    if (panels) {
      await this.sendWithPicture(m, renderSmallMultiples(panels, { title: n.title }), "digest.png", key);
      return {};
    }
    await this.sendText(m);
    return {};
  }
}
