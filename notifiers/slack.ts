/**
 * The Slack channel: an alert is a Block Kit message with its chart, later changes edit that root
 * and reply in its thread so one alert stays one conversation; failures become retryable DeliveryErrors.
 */
import type { WebClient } from "@slack/web-api";
import { renderAlertChart } from "../src/charts/alert-chart.js";
import { renderSmallMultiples } from "../src/charts/small-multiples.js";
import type { ChannelConfig } from "../src/config/types.js";
import { seriesLabel } from "../src/model/format.js";
import type { AlertNotification, Notification } from "../src/model/notification.js";
import { checkChatChannel } from "./chat-channel.js";
import { alertMessage, type ChatMessage, followUpMessage, groupMessage, stateLine } from "./chat-message.js";
import { type ChatPacer, SLACK_CHANNEL_RATE, sharedPacer } from "./chat-pacer.js";
import { digestPanels } from "./digest-panels.js";
import type { Notifier, NotifierDeps, SendContext, SendResult } from "./notifier.js";
import { alertBlocks, fallbackText, lineMrkdwn, messageBlocks, type SlackBlock, stateMrkdwn } from "./slack-blocks.js";
import { slackDeliveryError, slackWebClient } from "./slack-client.js";

export interface SlackRef {
  channel: string;
  ts: string;
  /** The uploaded chart shown in the root message (kept when the root is edited). */
  file_id?: string;
}

export interface SlackNotifierOptions {
  client?: WebClient;
  pacer?: Pick<ChatPacer, "acquire">;
  timeoutMs?: number;
}

export function isSlackRef(v: unknown): v is SlackRef {
  if (!v || typeof v !== "object") return false;
  const r = v as Record<string, unknown>;
  return typeof r.channel === "string" && typeof r.ts === "string";
}

/** The root is gone or cannot be edited any more: post a new one instead. */
const ROOT_GONE = new Set(["message_not_found", "cant_update_message", "edit_window_closed"]);

export function createSlackNotifier(channel: string, config: ChannelConfig, deps: NotifierDeps, opts: SlackNotifierOptions = {}): Notifier {
  return new SlackNotifier(channel, config, deps, opts);
}

/** Extra fields of a threaded reply. */
interface ThreadOptions {
  thread_ts?: string;
  reply_broadcast?: boolean;
}

class SlackNotifier implements Notifier {
  readonly type = "slack" as const;
  private readonly client: WebClient;
  private readonly target: string;
  private readonly pacer: Pick<ChatPacer, "acquire">;
  private readonly what: string;
  /** Charts uploaded for a delivery whose message then failed: a retry reuses the file. */
  private readonly uploaded = new Map<string, string>();

  constructor(
    readonly channel: string,
    config: ChannelConfig,
    private readonly deps: NotifierDeps,
    opts: SlackNotifierOptions,
  ) {
    checkChatChannel("slack", channel, config, deps, opts.client !== undefined);
    const sl = deps.config.slack;
    this.client = opts.client ?? slackWebClient(sl!.token, sl?.api_url || undefined, deps.log, opts.timeoutMs);
    this.target = config.channel;
    this.pacer = opts.pacer ?? sharedPacer(`slack:${this.target}`, SLACK_CHANNEL_RATE);
    this.what = `slack ${channel}`;
  }

  async send(n: Notification, ctx: SendContext): Promise<SendResult> {
    if (n.type === "text") {
      const m: ChatMessage = { headline: n.title, lines: n.text.split("\n").map((t) => [{ text: t }]), buttons: [] };
      const panels = digestPanels(n);
      const png = panels ? renderSmallMultiples(panels, { title: n.title }) : null;
      await this.postWithChart((fileId) => messageBlocks(m, fileId, n.title), fallbackText(m), png, n.title, ctx.key);
      return {};
    }
    if (n.type === "group") {
      const m = groupMessage(n);
      return { ref: await this.post(messageBlocks(m), fallbackText(m)) };
    }
    if (n.event === "firing" && ctx.previousRef === null) return this.sendAlert(n, ctx.key);
    return this.sendChange(n, ctx.previousRef, ctx.key);
  }

  private async call<T>(fn: () => Promise<T>, paced = true): Promise<T> {
    if (paced) await this.pacer.acquire();
    try {
      return await fn();
    } catch (err) {
      throw slackDeliveryError(this.what, err);
    }
  }

  /** Upload a PNG privately; its id goes into an image block. */
  private async upload(png: Buffer, filename: string, title: string, key: string): Promise<string> {
    const known = this.uploaded.get(key);
    if (known) return known;
    const res = await this.call(() => this.client.filesUploadV2({ file: png, filename, title, alt_text: title }), false);
    const id = res.files[0]?.files?.[0]?.id;
    if (!id) throw slackDeliveryError(this.what, new Error("files.uploadV2 returned no file id"));
    this.uploaded.set(key, id);
    return id;
  }

  private async post(blocks: SlackBlock[], text: string, extra: ThreadOptions = {}): Promise<SlackRef> {
    const base = { channel: this.target, blocks, text, unfurl_links: false, unfurl_media: false };
    const { thread_ts, reply_broadcast } = extra;
    const res = await this.call(() =>
      this.client.chat.postMessage(thread_ts ? { ...base, thread_ts, reply_broadcast: reply_broadcast ?? false } : base),
    );
    if (!res.ts) throw slackDeliveryError(this.what, new Error("chat.postMessage returned no ts"));
    return { channel: res.channel ?? this.target, ts: res.ts };
  }

  /** Post with the chart; when Slack refuses the image block (file not ready), post without it and put the chart in the thread. */
  private async postWithChart(
    build: (fileId?: string) => SlackBlock[],
    text: string,
    png: Buffer | null,
    title: string,
    key: string,
  ): Promise<SlackRef> {
    if (!png) return this.post(build(), text);
    const fileId = await this.upload(png, `${key.replace(/[^a-zA-Z0-9_-]/g, "_")}.png`, title, key);
    try {
      const ref = { ...(await this.post(build(fileId), text)), file_id: fileId };
      this.uploaded.delete(key);
      return ref;
    } catch (err) {
      if (!/invalid_blocks/.test(String((err as Error).message))) throw err;
      this.deps.log.warn(
        { channel: this.channel, err: (err as Error).message },
        "slack: image block refused; posting the chart in the thread",
      );
      const ref = await this.post(build(), text);
      this.uploaded.delete(key);
      await this.call(
        () => this.client.filesUploadV2({ file: png, filename: "chart.png", title, channel_id: ref.channel, thread_ts: ref.ts }),
        false,
      );
      return ref;
    }
  }

  private async sendAlert(n: AlertNotification, key: string): Promise<SendResult> {
    const m = alertMessage(n);
    const ref = await this.postWithChart(
      (fileId) => alertBlocks(n, m, fileId),
      fallbackText(m),
      chartPng(n),
      `chart of alert #${n.alert.id}`,
      key,
    );
    return { ref };
  }

  private async sendChange(n: AlertNotification, previousRef: unknown, key: string): Promise<SendResult> {
    if (!isSlackRef(previousRef) || n.event === "firing") return this.sendAlert(n, key);
    const m = alertMessage(n);
    try {
      await this.call(() =>
        this.client.chat.update({
          channel: previousRef.channel,
          ts: previousRef.ts,
          blocks: alertBlocks(n, m, previousRef.file_id),
          text: fallbackText(m),
        }),
      );
    } catch (err) {
      const code = /: (\w+)/.exec((err as Error).message)?.[1];
      if (!code || !ROOT_GONE.has(code)) throw err;
      this.deps.log.warn(
        { channel: this.channel, ts: previousRef.ts, code },
        "slack: original alert message cannot be edited; posting a new one",
      );
      await this.post(alertBlocks(n, m), fallbackText(m));
      return {};
    }
    await this.replyInThread(n, previousRef);
    return {};
  }

  /** Reminders and resolutions are broadcast to the channel too, since an edit notifies no one. */
  private async replyInThread(n: AlertNotification, root: SlackRef): Promise<void> {
    const follow = followUpMessage(n);
    const state = stateLine(n);
    const text = state ? stateMrkdwn(n, state) : follow.lines.map(lineMrkdwn).join("\n") || fallbackText(follow);
    const loud = n.event === "reminder" || n.event === "resolved";
    await this.post([{ type: "section", text: { type: "mrkdwn", text, verbatim: true } }], fallbackText(follow), {
      thread_ts: root.ts,
      ...(loud ? { reply_broadcast: true } : {}),
    });
  }
}

function chartPng(n: AlertNotification): Buffer | null {
  if (!n.chart || n.chart.rows.length === 0) return null;
  const a = n.alert;
  return renderAlertChart(n.chart, {
    title: `#${a.id} ${a.severity} · ${seriesLabel(a.metric, a.series)}`,
    subtitle: `${a.detector}${a.reason ? `: ${a.reason}` : ""}`,
  });
}
