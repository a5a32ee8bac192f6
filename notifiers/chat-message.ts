/**
 * The content of a chat alert message, independent of the markup: Telegram renders it as HTML,
 * Slack as Block Kit. Data (metric names, series keys, reasons) stays plain text here; each
 * renderer escapes it for its own markup, so no data can ever be read as markup.
 */

import type { Alert, AlertState } from "../src/model/alert.js";
import { formatDuration } from "../src/model/duration.js";
import { deviationParts, experimentAlertLines, fmtDeviation, fmtNum, fmtTime, roundForHumans, seriesLabel } from "../src/model/format.js";
import type { AlertNotification, GroupNotification } from "../src/model/notification.js";

export interface Span {
  text: string;
  bold?: boolean;
  italic?: boolean;
  code?: boolean;
  href?: string;
}
export type Line = Span[];

export type ButtonAction = "ack" | "unack" | "snooze" | "resolve";

export interface ButtonSpec {
  action: ButtonAction;
  alertId: number;
  label: string;
  /** Snooze duration as written ("1h"). */
  arg?: string;
  style?: "primary" | "danger";
}

export interface ChatMessage {
  /** Short plain headline: notification previews, Slack header and fallback text. */
  headline: string;
  lines: Line[];
  /** Rows of buttons; empty when nothing can be done (resolved). */
  buttons: ButtonSpec[][];
}

/** Long data is clipped in messages: a 5,000-character series key helps no one reading a phone. */
export interface MessageLimits {
  label: number;
  reason: number;
}
export const DEFAULT_LIMITS: MessageLimits = { label: 1000, reason: 600 };

export const SNOOZE_CHOICES = ["1h", "4h", "24h"] as const;

const STATE_HEAD: Record<AlertState, string> = {
  pending: "🟡 PENDING",
  firing: "🔴 FIRING",
  acknowledged: "👀 ACKNOWLEDGED",
  snoozed: "💤 SNOOZED",
  resolved: "✅ RESOLVED",
};

/**
 * Clip to at most `max` UTF-16 units (what Telegram and Slack count) with an ellipsis, never
 * splitting a surrogate pair.
 */
export function clipText(text: string, max: number): string {
  if (text.length <= max) return text;
  let out = "";
  for (const cp of text) {
    if (out.length + cp.length > max - 1) break;
    out += cp;
  }
  return `${out}…`;
}

/** "telegram:@alice" -> "@alice"; "slack:U123" stays (Slack renders it as a mention). */
export function actorLabel(actor: string): string {
  const m = /^(?:telegram|user):(.+)$/.exec(actor);
  return m ? m[1]! : actor;
}

export function stateHeadline(a: Alert & { id: number }, event: AlertNotification["event"], limits = DEFAULT_LIMITS): string {
  const head = event === "reminder" && a.state === "firing" ? "🔁 STILL FIRING" : STATE_HEAD[a.state];
  return `${head} #${a.id} · ${a.severity} · ${clipText(seriesLabel(a.metric, a.series), limits.label)}`;
}

/** Who changed the alert and when, for the edited message. Null for the engine's first firing. */
export function stateLine(n: AlertNotification): Line | null {
  const a = n.alert;
  const human = n.actor !== "engine" && n.actor !== "";
  const by = human ? ` by ${actorLabel(n.actor)}` : "";
  const at = ` at ${fmtTime(n.at)}`;
  switch (a.state) {
    case "acknowledged":
      return [{ text: `👀 Acknowledged${by}${at}`, bold: true }];
    case "snoozed":
      return [{ text: `💤 Snoozed until ${fmtTime(a.snoozedUntil)}${by}`, bold: true }];
    case "resolved": {
      const lasted = a.firedAt !== null ? `, after ${formatDuration(roundForHumans(Math.max(0, n.at - a.firedAt)))}` : "";
      return [{ text: human ? `✅ Resolved${by}${at}${lasted}` : `✅ Resolved: back to normal${at}${lasted}`, bold: true }];
    }
    case "firing":
      if (n.event === "update" && n.previousState && n.previousState !== "firing") {
        const why = n.previousState === "snoozed" && !human ? "Snooze ended" : `${capitalise(n.note || "changed")}${by}`;
        return [{ text: `🔴 ${why}${at}`, bold: true }];
      }
      return null;
    default:
      return null;
  }
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Buttons for an alert in its current state: Acknowledge ↔ Unacknowledge, no Resolve once resolved. */
export function alertButtons(a: Alert & { id: number }): ButtonSpec[][] {
  if (a.state === "resolved") return [];
  const first: ButtonSpec =
    a.state === "acknowledged"
      ? { action: "unack", alertId: a.id, label: "↩️ Unacknowledge" }
      : { action: "ack", alertId: a.id, label: "👀 Acknowledge", style: "primary" };
  const snoozes = SNOOZE_CHOICES.map((d): ButtonSpec => ({ action: "snooze", alertId: a.id, label: `💤 ${d}`, arg: d }));
  return [[first, { action: "resolve", alertId: a.id, label: "✅ Resolve", style: "danger" }], snoozes];
}

/** Top contributing dimension values, when the engine attached them (`details.contributors`). */
function contributors(a: Alert): string[] {
  const raw = a.details.contributors;
  if (!Array.isArray(raw)) return [];
  const out: string[] = [];
  for (const c of raw.slice(0, 5)) {
    if (typeof c === "string") out.push(c);
    else if (c && typeof c === "object") {
      const o = c as Record<string, unknown>;
      const dim = typeof o.dimension === "string" ? o.dimension : "";
      const val = o.value === undefined ? "" : String(o.value);
      const pct = typeof o.change === "number" ? fmtDeviation(o.change) : typeof o.change === "string" ? o.change : null;
      const change = pct === null ? "" : ` (${pct})`;
      if (dim || val) out.push(`${dim}${dim && val ? "=" : ""}${val}${change}`);
    }
  }
  return out;
}

/** The full alert message: the same content on every chat platform. */
export function alertMessage(n: AlertNotification, limits = DEFAULT_LIMITS): ChatMessage {
  const a = n.alert;
  const lines: Line[] = [];
  // The state goes first: a caption cut at Telegram's 1024 characters must still show it.
  const state = stateLine(n);
  if (state) lines.push(state);
  if (a.kind === "srm" || a.kind === "guardrail") {
    // Experiment alerts: the per-arm numbers, interval, p-value and what to do (headline dropped:
    // the chat message has its own).
    for (const text of experimentAlertLines(n).slice(1)) lines.push([{ text: clipText(text, limits.reason) }]);
    return { headline: stateHeadline(a, n.event, limits), lines, buttons: alertButtons(a) };
  }
  if (a.kind === "meta") {
    lines.push([{ text: `vigil ${a.detector} problem: ` }, { text: clipText(a.reason, limits.reason) }]);
  } else {
    const band = a.lower !== null || a.upper !== null ? ` (band ${fmtNum(a.lower)} – ${fmtNum(a.upper)})` : "";
    lines.push([{ text: fmtNum(a.value), bold: true }, { text: ` vs expected ${fmtNum(a.expected)}${band}` }]);
    const dev = deviationParts(a);
    if (dev.length) lines.push([{ text: "deviation: " }, { text: dev.join(", "), bold: true }]);
    const reason = a.reason ? [{ text: " — " }, { text: clipText(a.reason, limits.reason) }] : [];
    lines.push([{ text: "detector: " }, { text: a.detector, code: true }, ...reason]);
  }
  if (a.bucket !== null && a.kind !== "meta") {
    const g = typeof a.details.granularityMs === "number" ? a.details.granularityMs : 0;
    lines.push([
      { text: `window: ${fmtTime(a.bucket)}${g ? ` + ${formatDuration(g)}` : ""} · since ${fmtTime(a.firstBucket ?? a.startedAt)}` },
    ]);
  }
  const lastWeek = a.details.lastWeek;
  if (typeof lastWeek === "number") lines.push([{ text: `same time last week: ${fmtNum(lastWeek)}` }]);
  // One line per contributing slice: "country=BR: −38% vs expected, explains 71% of the drop".
  for (const c of contributors(a)) lines.push([{ text: "▸ " }, { text: clipText(c, limits.reason) }]);
  if (typeof a.details.description === "string" && a.details.description) {
    lines.push([{ text: clipText(a.details.description, limits.reason), italic: true }]);
  }
  const runbook = a.details.runbook;
  if (typeof runbook === "string" && runbook) {
    lines.push(
      /^https?:\/\//i.test(runbook) ? [{ text: "runbook", href: runbook }] : [{ text: `runbook: ${clipText(runbook, limits.reason)}` }],
    );
  }
  return { headline: stateHeadline(a, n.event, limits), lines, buttons: alertButtons(a) };
}

/** A short note under the original (reminder or resolution), sent as a reply/thread message. */
export function followUpMessage(n: AlertNotification, limits = DEFAULT_LIMITS): ChatMessage {
  const a = n.alert;
  const lines: Line[] = [];
  const state = stateLine(n);
  if (state) lines.push(state);
  else if (a.kind !== "meta") {
    const dev = deviationParts(a);
    lines.push([{ text: `${fmtNum(a.value)} vs expected ${fmtNum(a.expected)}${dev.length ? ` (${dev.join(", ")})` : ""}` }]);
  }
  return { headline: stateHeadline(a, n.event, limits), lines, buttons: n.event === "reminder" ? alertButtons(a) : [] };
}

/** Several series of one metric opened in one tick: one message, one line and one Ack button each. */
export function groupMessage(n: GroupNotification, limits = DEFAULT_LIMITS): ChatMessage {
  const first = n.alerts[0]?.alert;
  const lines: Line[] = [];
  const perLine = Math.max(40, Math.floor(limits.label / Math.max(1, n.alerts.length)));
  for (const item of n.alerts) {
    const x = item.alert;
    const dev = deviationParts(x);
    lines.push([
      { text: `#${x.id}`, bold: true },
      { text: ` ${clipText(x.series || "(all)", perLine)}: ` },
      { text: `${fmtNum(x.value)} vs ${fmtNum(x.expected)}${dev.length ? ` (${dev.join(", ")})` : ""} — ${x.detector}` },
    ]);
  }
  const runbook = first?.details.runbook;
  if (typeof runbook === "string" && /^https?:\/\//i.test(runbook)) lines.push([{ text: "runbook", href: runbook }]);
  const buttons = n.alerts
    .slice(0, 8)
    .map((item): ButtonSpec[] => [{ action: "ack", alertId: item.alert.id, label: `👀 Ack #${item.alert.id}` }]);
  const head = `🔴 FIRING ${n.alerts.length} series of ${clipText(n.metric, limits.label)}${first ? ` · ${first.severity}` : ""}`;
  return { headline: head, lines, buttons };
}

/** Plain text of a message (fallbacks, logs). */
export function plainText(m: ChatMessage): string {
  return [m.headline, ...m.lines.map((l) => l.map((s) => s.text).join(""))].join("\n");
}

/** Telegram callback_data (≤ 64 bytes): "a:123", "u:123", "r:123", "s:123:1h". */
export function callbackData(b: ButtonSpec): string {
  const code = { ack: "a", unack: "u", snooze: "s", resolve: "r" }[b.action];
  return b.arg ? `${code}:${b.alertId}:${b.arg}` : `${code}:${b.alertId}`;
}

export interface ButtonPress {
  action: ButtonAction;
  alertId: number;
  arg?: string;
}

export function parseCallbackData(data: string): ButtonPress | null {
  const m = /^([ausr]):(\d{1,15})(?::([0-9a-z]{1,8}))?$/.exec(data);
  if (!m) return null;
  const action = ({ a: "ack", u: "unack", s: "snooze", r: "resolve" } as const)[m[1] as "a" | "u" | "s" | "r"];
  if ((action === "snooze") !== (m[3] !== undefined)) return null;
  return m[3] ? { action, alertId: Number(m[2]), arg: m[3] } : { action, alertId: Number(m[2]) };
}

/** Slack action_id: vigil_ack, vigil_unack, vigil_resolve, vigil_snooze_1h; the value is the alert id. */
export function slackActionId(b: ButtonSpec): string {
  return b.arg ? `vigil_${b.action}_${b.arg}` : `vigil_${b.action}`;
}

export function parseSlackAction(actionId: string, value: string): ButtonPress | null {
  const m = /^vigil_(ack|unack|resolve|snooze)(?:_([0-9a-z]{1,8}))?$/.exec(actionId);
  if (!m || !/^\d{1,15}$/.test(value)) return null;
  const action = m[1] as ButtonAction;
  if ((action === "snooze") !== (m[2] !== undefined)) return null;
  return m[2] ? { action, alertId: Number(value), arg: m[2] } : { action, alertId: Number(value) };
}
