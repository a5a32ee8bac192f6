/** Plain-text rendering of notifications, shared by the console and as the fallback of richer channels. */
import { formatDuration } from "./duration.js";
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

/** A bucket's start: the date for buckets of whole days (their times are local dates, see bucket-clock.ts), else fmtTime. */
export function fmtBucket(ms: number | null, granularityMs: number): string {
  if (ms === null || granularityMs < 86_400_000 || granularityMs % 86_400_000 !== 0) return fmtTime(ms);
  return new Date(ms).toISOString().slice(0, 10);
}

export function seriesLabel(metric: string, series: string): string {
  return series ? `${metric} {${series}}` : metric;
}

/**
 * A relative change (0.25 = +25%) as "+25%" with `digits` decimals, or null when it says nothing:
 * not finite, or beyond ±10,000% (against an expected value next to zero, such as a count that
 * was idle, the percentage is an artefact: "+2150000000%").
 */
export function fmtDeviation(fraction: number, digits = 0): string | null {
  return Number.isFinite(fraction) && Math.abs(fraction) <= 100 ? fmtChange(fraction, digits) : null;
}

export function deviationParts(a: { value: number | null; expected: number | null; sigmas: number | null }): string[] {
  const parts: string[] = [];
  if (a.value !== null && a.expected !== null && a.expected !== 0) {
    const pct = fmtDeviation((a.value - a.expected) / Math.abs(a.expected), 1);
    if (pct !== null) parts.push(pct);
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
  if (a.kind === "srm" || a.kind === "guardrail") return experimentAlertLines(n);
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
    for (const c of contextLines(a)) lines.push(c);
  }
  if (a.bucket !== null && a.kind !== "meta") {
    const g = typeof a.details.granularityMs === "number" ? a.details.granularityMs : 0;
    // "since" is when the data went wrong (first anomalous bucket), not when vigil noticed.
    lines.push(
      `window: ${fmtBucket(a.bucket, g)}${g ? ` + ${formatDuration(g)}` : ""} · since ${a.firstBucket !== null ? fmtBucket(a.firstBucket, g) : fmtTime(a.startedAt)}`,
    );
  }
  if (a.details.runbook) lines.push(`runbook: ${a.details.runbook}`);
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Experiment alerts (kinds srm and guardrail): their numbers live in `details`, written by
// src/experiments/evaluate.ts. Details are JSON from the outbox, so every field is read defensively.

const sig = new Intl.NumberFormat("en-US", { maximumSignificantDigits: 4 });

/** A per-arm mean: four significant digits (0.3012 vs 0.3314 must stay apart), big numbers grouped. */
export function fmtMean(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  return Math.abs(v) >= 1000 ? fmtNum(v) : sig.format(v);
}

/** "+10.1%" / "−3.0%" for a relative change given as a fraction. */
export function fmtChange(x: number | null | undefined, digits = 1): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "—";
  return `${x >= 0 ? "+" : "−"}${Math.abs(x * 100).toFixed(digits)}%`;
}

/** "+0.0213" / "−1,250": a signed difference in the metric's own unit, as precise as fmtMean. */
export function fmtDifference(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "—";
  return `${x >= 0 ? "+" : "−"}${fmtMean(Math.abs(x))}`;
}

export function fmtP(p: number | null | undefined): string {
  if (p === null || p === undefined || !Number.isFinite(p)) return "—";
  if (p < 0.001) return p.toExponential(1);
  return p >= 0.1 ? p.toFixed(2) : p.toFixed(3);
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const str = (v: unknown): string => (typeof v === "string" ? v : "");
const records = (v: unknown): Record<string, unknown>[] =>
  Array.isArray(v) ? v.filter((x): x is Record<string, unknown> => typeof x === "object" && x !== null) : [];

/**
 * Plain-text body of an `srm` or `guardrail` alert: the experiment and variant, units and mean per
 * arm, the relative change with its always-valid interval, the p-value, since when, and what to do.
 */
export function experimentAlertLines(n: AlertNotification): string[] {
  const a = n.alert;
  const d = a.details;
  const lines: string[] = [];
  const pct = (x: number) => `${+(x * 100).toFixed(2)}%`;
  if (a.kind === "srm") {
    lines.push(`${HEADLINE[n.event]} #${a.id} · ${a.severity} · experiment ${a.metric}: sample ratio mismatch`);
    const arms = records(d.arms);
    if (arms.length > 0) {
      lines.push(
        arms
          .map(
            (x) =>
              `${str(x.variant)}: ${fmtNum(num(x.units))} units (${pct(num(x.observedShare) ?? 0)}, expected ${pct(num(x.expectedShare) ?? 0)})`,
          )
          .join(" · "),
      );
    }
    if (n.event === "resolved")
      lines.push(`${n.note}${a.firedAt !== null ? ` after ${formatDuration(roundForHumans(n.at - a.firedAt))}` : ""}`);
    else {
      const dev = num(d.maxDeviation);
      lines.push(
        `chi-square p = ${fmtP(num(d.p))} (alerts below ${fmtP(num(d.srmAlpha))})${dev !== null ? `; largest deviation ${+(dev * 100).toFixed(2)} percentage points` : ""}`,
      );
    }
  } else {
    const variant = str(d.variant) || a.series;
    const guardrail = str(d.guardrail) || a.detector;
    const status = str(d.status);
    const what = n.event === "resolved" ? "no longer harmed" : status === "harmed" || status === "" ? "harmed" : status.replace(/_/g, " ");
    lines.push(`${HEADLINE[n.event]} #${a.id} · ${a.severity} · experiment ${a.metric}: guardrail ${guardrail} ${what} in ${variant}`);
    const arms = records(d.arms);
    if (arms.length > 0)
      lines.push(arms.map((x) => `${str(x.variant)}: ${fmtNum(num(x.units))} units, mean ${fmtMean(num(x.mean))}`).join(" · "));
    const alpha = num(d.alpha);
    // A control mean of 0 leaves no relative change: the difference in the metric's unit stands in for it (and the margin, a fraction of 0, is 0).
    const absolute = num(d.difference) !== null;
    const margin = absolute ? null : num(d.margin);
    const fmt = absolute ? fmtDifference : fmtChange;
    const lower = num(absolute ? d.differenceLower : d.lower);
    const upper = num(absolute ? d.differenceUpper : d.upper);
    const interval =
      lower !== null && upper !== null
        ? ` (interval ${fmt(lower)} to ${fmt(upper)}, always valid${alpha !== null ? `, one-sided ${+((1 - alpha) * 100).toFixed(1)}%` : ""})`
        : "";
    const bad = str(d.badDirection);
    lines.push(
      `${absolute ? "difference" : "relative change"} ${fmt(num(absolute ? d.difference : d.estimate))}${interval}${bad ? `; ${bad} is bad` : ""}${margin ? `, margin ${fmtChange(margin).replace("+", "")}` : ""}`,
    );
    if (str(d.note)) lines.push(str(d.note));
    if (n.event === "resolved")
      lines.push(`${n.note}${a.firedAt !== null ? ` after ${formatDuration(roundForHumans(n.at - a.firedAt))}` : ""}`);
    else lines.push(`p = ${fmtP(num(d.p))} (one-sided, valid under continuous monitoring)`);
  }
  lines.push(`since ${fmtTime(a.firedAt ?? a.startedAt)} · checked ${fmtTime(a.bucket ?? a.updatedAt)}`);
  const action = str(d.action);
  if (action && n.event !== "resolved") lines.push(`what to do: ${action}`);
  if (d.runbook) lines.push(`runbook: ${d.runbook}`);
  return lines;
}

export function groupLines(n: GroupNotification): string[] {
  const first = n.alerts[0]?.alert;
  const lines = [`🔴 FIRING ${n.alerts.length} series of ${n.metric}${first ? ` · ${first.severity}` : ""}`];
  for (const a of n.alerts) {
    const x = a.alert;
    const dev = deviationParts(x);
    lines.push(
      `#${x.id} ${x.series || "(all)"}: ${fmtNum(x.value)} vs expected ${fmtNum(x.expected)}${dev.length ? ` (${dev.join(", ")})` : ""} — ${x.detector}`,
    );
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

/** "same time last week" and the dimension values that explain the deviation (root cause). */
export function contextLines(a: Pick<AlertNotification["alert"], "details" | "value">): string[] {
  const out: string[] = [];
  const lw = a.details.lastWeek;
  if (typeof lw === "number") {
    const pct =
      a.value !== null && lw !== 0
        ? ` (${a.value >= lw ? "+" : "−"}${Math.abs(((a.value - lw) / Math.abs(lw)) * 100).toFixed(1)}% now)`
        : "";
    out.push(`same time last week: ${fmtNum(lw)}${pct}`);
  }
  const drivers = a.details.contributors;
  if (Array.isArray(drivers) && drivers.length > 0) {
    out.push("top contributors:");
    for (const d of drivers.slice(0, 5)) if (typeof d === "string") out.push(`  • ${d}`);
  }
  return out;
}
