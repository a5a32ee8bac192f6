/** Plain-text rendering of notifications, shared by the console and as the fallback of richer channels. */
import { formatDuration } from "../duration.js";
import type { AlertNotification, GroupNotification, Notification } from "./notification.js";

const nf = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });

export function fmtNum(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e9 || a < 1e-3)) return v.toExponential(2);
  return nf.format(a >= 100 ? Math.round(v) : v);
}

/** "2026-11-22 15:00 UTC" */
export function fmtTime(ms: number | null): string {
  if (ms === null) return "—";
  return `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

export function seriesLabel(metric: string, series: string): string {
  return series ? `${metric} {${series}}` : metric;
}

export function deviationParts(a: { value: number | null; expected: number | null; sigmas: number | null }): string[] {
  const parts: string[] = [];
  if (a.value !== null && a.expected !== null && a.expected !== 0) {
    const pct = ((a.value - a.expected) / Math.abs(a.expected)) * 100;
    parts.push(`${pct >= 0 ? "+" : "−"}${Math.abs(pct).toFixed(1)}%`);
  }
  if (a.sigmas !== null && Number.isFinite(a.sigmas)) parts.push(`${a.sigmas >= 0 ? "+" : "−"}${Math.abs(a.sigmas).toFixed(1)}σ`);
  return parts;
}

const HEADLINE: Record<AlertNotification["event"], string> = {
  firing: "🔴 FIRING",
  reminder: "🔁 STILL FIRING",
  resolved: "✅ RESOLVED",
  update: "ℹ️ UPDATE",
};

export function alertLines(n: AlertNotification): string[] {
  const a = n.alert;
  const lines: string[] = [];
  lines.push(`${HEADLINE[n.event]} #${a.id} · ${a.severity} · ${seriesLabel(a.metric, a.series)}`);
  if (a.kind === "meta") {
    lines.push(`vigil ${a.detector} problem: ${a.reason}`);
  } else if (n.event === "resolved") {
    const lasted = a.firedAt !== null ? ` after ${formatDuration(roundForHumans(n.at - a.firedAt))}` : "";
    lines.push(`${n.note}${lasted}; last value ${fmtNum(a.value)}`);
  } else {
    const band = a.lower !== null || a.upper !== null ? ` (band ${fmtNum(a.lower)} – ${fmtNum(a.upper)})` : "";
    const dev = deviationParts(a);
    lines.push(`${fmtNum(a.value)} vs expected ${fmtNum(a.expected)}${band}${dev.length ? `: ${dev.join(", ")}` : ""}`);
    lines.push(`detector: ${a.detector}${a.reason ? ` — ${a.reason}` : ""}`);
  }
  if (a.bucket !== null && a.kind !== "meta") {
    const g = typeof a.details.granularityMs === "number" ? a.details.granularityMs : 0;
    // "since" is when the data went wrong (first anomalous bucket), not when vigil noticed.
    lines.push(`window: ${fmtTime(a.bucket)}${g ? ` + ${formatDuration(g)}` : ""} · since ${fmtTime(a.firstBucket ?? a.startedAt)}`);
  }
  if (a.details.runbook) lines.push(`runbook: ${a.details.runbook}`);
  return lines;
}

export function groupLines(n: GroupNotification): string[] {
  const first = n.alerts[0]?.alert;
  const lines = [`🔴 FIRING ${n.alerts.length} series of ${n.metric}${first ? ` · ${first.severity}` : ""}`];
  for (const a of n.alerts) {
    const x = a.alert;
    const dev = deviationParts(x);
    lines.push(`#${x.id} ${x.series || "(all)"}: ${fmtNum(x.value)} vs expected ${fmtNum(x.expected)}${dev.length ? ` (${dev.join(", ")})` : ""} — ${x.detector}`);
  }
  if (first?.details.runbook) lines.push(`runbook: ${first.details.runbook}`);
  return lines;
}

export function notificationText(n: Notification): string {
  if (n.type === "text") return `${n.title}\n${n.text}`;
  if (n.type === "group") return groupLines(n).join("\n");
  return alertLines(n).join("\n");
}

/** Durations in messages: seconds only matter under a minute, minutes only under a day. */
export function roundForHumans(ms: number): number {
  const unit = ms >= 86_400_000 ? 3_600_000 : ms >= 60_000 ? 60_000 : 1000;
  return Math.round(ms / unit) * unit;
}
