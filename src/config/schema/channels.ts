/** Where alerts and digests go. */
import { z } from "zod";
import { channelList, cron, quoted } from "./fields.js";

export const digest = z
  .strictObject({
    schedule: cron('When the digest is sent. Default "0 9 * * *".').optional(),
    notify: channelList("Channels that receive the digest. Default `defaults.notify`.").optional(),
    metrics: z.array(z.string().min(1)).describe("Metrics summarised. Default: all metrics.").optional(),
    experiments: z.boolean().describe("Include the experiments' status. Default true.").optional(),
  })
  .describe("A periodic summary of yesterday's metrics, open alerts and experiments.");

const sendResolved = z.boolean().describe("Also send a message when an alert resolves. Default true.").optional();

export const channel = z
  .discriminatedUnion("type", [
    z
      .strictObject({ type: z.literal("console").describe("Print alerts to standard output."), send_resolved: sendResolved })
      .describe("Standard output."),
    z
      .strictObject({
        type: z.literal("telegram").describe("A Telegram chat (needs the top-level `telegram` section)."),
        chat_id: z
          .union([z.string().min(1), z.int()], { error: (iss) => `expected a chat id, got ${quoted(iss.input)}` })
          .describe('Chat id, e.g. "-1001234567890" for a group.'),
        send_resolved: sendResolved,
      })
      .describe("A Telegram chat."),
    z
      .strictObject({
        type: z.literal("slack").describe("A Slack channel (needs the top-level `slack` section)."),
        channel: z.string().min(1).describe('Channel id, e.g. "C0123ABC".'),
        send_resolved: sendResolved,
      })
      .describe("A Slack channel."),
    z
      .strictObject({
        type: z.literal("webhook").describe("HTTP POST of one JSON object per alert state change."),
        url: z
          .url({ protocol: /^https?$/, error: (iss) => `expected an http(s) URL, got ${quoted(iss.input)}` })
          .describe("Where to POST."),
        headers: z.record(z.string(), z.string()).describe("Extra request headers (e.g. Authorization).").optional(),
        send_resolved: sendResolved,
      })
      .describe("A generic webhook."),
  ])
  .describe("Where alerts go.");
