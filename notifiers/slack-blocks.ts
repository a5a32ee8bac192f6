/**
 * Block Kit for alerts: header, fields, context, the chart image and the buttons, within Slack's
 * limits (50 blocks, 150 characters of header, 3000 per section text, 10 fields of 2000, 10
 * context elements, 25 actions, 75 characters of button text). Data is escaped for mrkdwn
 * (`& < >`), so it can neither mention (`<!channel>`) nor link.
 */

import { formatDuration } from "../src/model/duration.js";
import { deviationParts, fmtNum, fmtTime } from "../src/model/format.js";
import type { AlertNotification } from "../src/model/notification.js";
import { type ButtonSpec, type ChatMessage, clipText, type Line, slackActionId, stateHeadline, stateLine } from "./chat-message.js";

export const LIMITS = {
  blocks: 50,
  header: 150,
  section: 3000,
  field: 2000,
  fields: 10,
  context: 10,
  actions: 25,
  button: 75,
  fallback: 3000,
};

export interface TextObject {
  type: "plain_text" | "mrkdwn";
  text: string;
  emoji?: boolean;
  verbatim?: boolean;
}
export interface Button {
  type: "button";
  text: TextObject;
  action_id: string;
  value: string;
  style?: "primary" | "danger";
}
export type SlackBlock =
  | { type: "header"; text: TextObject }
  | { type: "section"; text?: TextObject; fields?: TextObject[] }
  | { type: "context"; elements: TextObject[] }
  | { type: "image"; slack_file: { id: string }; alt_text: string; title?: TextObject }
  | { type: "actions"; block_id?: string; elements: Button[] }
  | { type: "divider" };

export function escapeMrkdwn(text: string): string {
  return text.replace(/[&<>]/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : "&gt;"));
}

const mrkdwn = (text: string, max = LIMITS.section): TextObject => ({ type: "mrkdwn", text: clipMrkdwn(text, max), verbatim: true });
const plain = (text: string, max: number): TextObject => ({ type: "plain_text", text: clipText(text, max) || " ", emoji: true });

/** Clip already-escaped mrkdwn without cutting an entity (`&amp;`) in half. */
export function clipMrkdwn(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = clipText(text, max);
  const amp = cut.lastIndexOf("&");
  if (amp >= 0 && !/^&(?:amp|lt|gt);/.test(cut.slice(amp)) && amp > cut.length - 6) cut = `${cut.slice(0, amp)}…`;
  return cut;
}

/** "slack:U123" as a mention; other actors as escaped text. */
export function actorMrkdwn(actor: string): string {
  const m = /^slack:([UW][A-Z0-9]{2,})$/.exec(actor);
  return m ? `<@${m[1]}>` : escapeMrkdwn(actor.replace(/^(?:telegram|user):/, ""));
}

/** One line of spans as mrkdwn: data escaped, styling from the span flags. */
export function lineMrkdwn(line: Line): string {
  return line
    .map((s) => {
      let t = escapeMrkdwn(s.text);
      if (s.href && /^https?:\/\/[^\s|<>]+$/i.test(s.href)) return `<${escapeMrkdwn(s.href)}|${t}>`;
      if (!t.trim()) return t;
      if (s.code) t = `\`${t.replace(/`/g, "'")}\``;
      if (s.bold) t = `*${t}*`;
      if (s.italic) t = `_${t}_`;
      return t;
    })
    .join("");
}

export function buttonElements(row: readonly ButtonSpec[]): Button[] {
  return row.map((b) => ({
    type: "button",
    text: plain(b.label, LIMITS.button),
    action_id: slackActionId(b),
    value: String(b.alertId),
    ...(b.style ? { style: b.style } : {}),
  }));
}

/** Buttons as actions blocks (≤ 25 elements each, action_ids unique within a block). */
export function actionBlocks(rows: readonly ButtonSpec[][]): SlackBlock[] {
  const out: SlackBlock[] = [];
  let current: Button[] = [];
  const seen = new Set<string>();
  for (const b of buttonElements(rows.flat())) {
    if (current.length === LIMITS.actions || seen.has(b.action_id)) {
      out.push({ type: "actions", elements: current });
      current = [];
      seen.clear();
    }
    current.push(b);
    seen.add(b.action_id);
  }
  if (current.length) out.push({ type: "actions", elements: current });
  return out;
}

/** The alert's root message. `fileId` is the uploaded chart, when there is one. */
export function alertBlocks(n: AlertNotification, m: ChatMessage, fileId?: string): SlackBlock[] {
  const a = n.alert;
  const blocks: SlackBlock[] = [{ type: "header", text: plain(stateHeadline(a, n.event), LIMITS.header) }];
  // The header is short: the full metric and series go into a section.
  blocks.push({ type: "section", text: mrkdwn(`*${escapeMrkdwn(a.metric)}*${a.series ? `  {${escapeMrkdwn(a.series)}}` : ""}`) });
  if (a.kind === "meta") {
    blocks.push({ type: "section", text: mrkdwn(`vigil ${escapeMrkdwn(a.detector)} problem: ${escapeMrkdwn(a.reason)}`) });
  } else {
    const fields: string[] = [`*Value*\n${fmtNum(a.value)} vs expected ${fmtNum(a.expected)}`];
    const dev = deviationParts(a);
    if (dev.length) fields.push(`*Deviation*\n${dev.join(", ")}`);
    if (a.lower !== null || a.upper !== null) fields.push(`*Band*\n${fmtNum(a.lower)} – ${fmtNum(a.upper)}`);
    fields.push(`*Detector*\n\`${escapeMrkdwn(a.detector)}\``);
    if (a.bucket !== null) {
      const g = typeof a.details.granularityMs === "number" ? a.details.granularityMs : 0;
      fields.push(`*Window*\n${fmtTime(a.bucket)}${g ? ` + ${formatDuration(g)}` : ""}`);
      fields.push(`*Since*\n${fmtTime(a.firstBucket ?? a.startedAt)}`);
    }
    blocks.push({ type: "section", fields: fields.slice(0, LIMITS.fields).map((f) => mrkdwn(f, LIMITS.field)) });
    if (a.reason) blocks.push({ type: "section", text: mrkdwn(`_${escapeMrkdwn(a.reason)}_`) });
  }
  // Everything else from the neutral message (top contributors, description, runbook) as context.
  const context = m.lines
    .filter((l) => l.some((s) => s.href || s.italic || s.text.startsWith("top: ")))
    .map((l) => mrkdwn(lineMrkdwn(l), LIMITS.field));
  if (context.length) blocks.push({ type: "context", elements: context.slice(0, LIMITS.context) });
  if (fileId) blocks.push({ type: "image", slack_file: { id: fileId }, alt_text: clipText(`chart of ${a.metric} ${a.series}`, 2000) });
  const state = stateLine(n);
  if (state) blocks.push({ type: "context", elements: [mrkdwn(stateMrkdwn(n, state))] });
  blocks.push(...actionBlocks(m.buttons));
  return blocks.slice(0, LIMITS.blocks);
}

/** The state line with the actor as a Slack mention when it is one. */
export function stateMrkdwn(n: AlertNotification, state: Line): string {
  const text = lineMrkdwn(state);
  if (!/^slack:/.test(n.actor)) return text;
  const shown = escapeMrkdwn(n.actor.replace(/^(?:telegram|user):/, ""));
  return text.replace(shown, actorMrkdwn(n.actor));
}

/** Generic message (groups, follow-ups, text notifications) as blocks. */
export function messageBlocks(m: ChatMessage, fileId?: string, altText = "chart"): SlackBlock[] {
  const blocks: SlackBlock[] = [{ type: "header", text: plain(m.headline, LIMITS.header) }];
  // Lines are packed into sections of up to 3000 characters, leaving room for image and buttons.
  const room = LIMITS.blocks - 1 - (fileId ? 1 : 0) - Math.ceil(m.buttons.flat().length / LIMITS.actions);
  let buf = "";
  for (const l of m.lines) {
    const text = lineMrkdwn(l);
    if (buf && buf.length + 1 + text.length > LIMITS.section) {
      if (blocks.length >= room) break;
      blocks.push({ type: "section", text: mrkdwn(buf) });
      buf = "";
    }
    buf = buf ? `${buf}\n${text}` : text;
  }
  if (buf && blocks.length < room) blocks.push({ type: "section", text: mrkdwn(buf) });
  if (fileId) blocks.push({ type: "image", slack_file: { id: fileId }, alt_text: clipText(altText, 2000) });
  blocks.push(...actionBlocks(m.buttons));
  return blocks.slice(0, LIMITS.blocks);
}

/** Notification text (previews, screen readers, clients without blocks). */
export function fallbackText(m: ChatMessage): string {
  return clipMrkdwn(escapeMrkdwn(m.headline), LIMITS.fallback);
}
