/**
 * The daily digest: each listed metric's yesterday vs the day before and the same day last week with
 * a 7-day sparkline, the open alerts, and each experiment's status; one text plus one small-multiples chart.
 */
import type { Clock } from "../clock.js";
import type { DigestConfig, VigilConfig } from "../config/types.js";
import type { Database } from "../db/database.js";
import type { ExperimentReport } from "../experiments/experiment-report.js";
import type { Logger } from "../log.js";
import { errorText, scrubSecrets } from "../log.js";
import type { Alert } from "../model/alert.js";
import { formatDuration } from "../model/duration.js";
import { fmtDeviation, fmtDifference, fmtNum, seriesLabel } from "../model/format.js";
import type { DigestPanel, TextNotification } from "../model/notification.js";
import { toBucketTime } from "../sources/bucket-clock.js";
import { fetchBuckets } from "../sources/index.js";
import { fetchWindowValues } from "../sources/window-query.js";
import type { StateStore } from "../store/state-store.js";
import { dayKey, dayLabel, dayStart } from "./zoned-time.js";

export interface DigestDeps {
  config: VigilConfig;
  db: Database;
  store: StateStore;
  clock: Clock;
  log: Logger;
  /** Current experiment status (read-only evaluation); absent = no experiment section. */
  experiments?: () => Promise<ExperimentReport[]>;
}

export interface MetricSummary {
  metric: string;
  yesterday: number | null;
  dayBefore: number | null;
  lastWeek: number | null;
  anomalies: number;
  error?: string;
}

export interface Digest {
  notification: TextNotification;
  /** The local date it covers ("yesterday"), e.g. 2026-11-21. */
  day: string;
  metrics: MetricSummary[];
}

const pct = (a: number | null, b: number | null): string => {
  if (a === null || b === null || b === 0) return "—";
  return fmtDeviation((a - b) / Math.abs(b), 1) ?? "—";
};

const SEVERITY_ORDER = { critical: 0, warning: 1, info: 2 } as const;

export async function buildDigest(entry: DigestConfig, deps: DigestDeps): Promise<Digest> {
  const { config, store, clock } = deps;
  const tz = config.timezone;
  const now = clock.now();
  // Day windows, newest first: [yesterday, the day before, ..., 8 days ago]; local midnights (DST-safe).
  const starts = Array.from({ length: 9 }, (_, k) => dayStart(now, tz, k));
  const days = starts.slice(1).map((from, i) => ({ from, to: starts[i]! }));
  const yesterday = days[0]!;
  const fired = await store.alertsFiredSince(now - 86_400_000);
  const { summaries, panels } = await summarizeMetrics(entry, deps, starts, fired);

  const lines: string[] = [];
  if (summaries.length > 0) lines.push(...metricTable(summaries, dayLabel(days[7]!.from, tz).split(" ")[0]));
  const recent = fired.filter((a) => a.kind === "metric" && entry.metrics.includes(a.metric)).slice(0, 10);
  if (recent.length > 0) {
    lines.push("", `Anomalies in the last 24 h (${recent.length}${fired.length > recent.length ? "+" : ""}):`);
    for (const a of recent)
      lines.push(`#${a.id} ${seriesLabel(a.metric, a.series)} — ${fmtNum(a.value)} vs expected ${fmtNum(a.expected)} (${a.state})`);
  }
  lines.push(...(await openAlertLines(store, now)));
  if (entry.experiments && deps.experiments && config.experiments.length > 0) lines.push(...(await experimentLines(deps.experiments)));
  const notification: TextNotification = {
    type: "text",
    title: `📊 vigil daily digest — ${dayLabel(yesterday.from, tz)} (${tz})`,
    text: lines.join("\n"),
    at: now,
  };
  if (panels.length > 0) notification.panels = panels;
  return { notification, day: dayKey(yesterday.from, tz), metrics: summaries };
}

/** Each listed metric's day values and 7-day sparkline; a metric whose query fails is summarised as an error. */
async function summarizeMetrics(
  entry: DigestConfig,
  deps: DigestDeps,
  starts: number[],
  fired: Alert[],
): Promise<{ summaries: MetricSummary[]; panels: DigestPanel[] }> {
  const { config, db, log } = deps;
  const days = starts.slice(1).map((from, i) => ({ from, to: starts[i]! }));
  const today = starts[0]!;
  const metrics = config.metrics.filter((m) => entry.metrics.includes(m.name));
  const summaries: MetricSummary[] = [];
  const panels: DigestPanel[] = [];
  for (const m of metrics) {
    const anomalies = fired.filter((a) => a.metric === m.name && a.kind === "metric");
    try {
      const values = await fetchWindowValues(db, m, days);
      const s: MetricSummary = {
        metric: m.name,
        yesterday: values[0] ?? null,
        dayBefore: values[1] ?? null,
        lastWeek: values[7] ?? null,
        anomalies: anomalies.length,
      };
      summaries.push(s);
      // Sparkline: the last 7 days at the metric's own granularity (series summed: it shows shape),
      // in the metric's bucket time (floating local days for daily metrics).
      const res = await fetchBuckets(db, m, { from: toBucketTime(m, starts[7]!), to: toBucketTime(m, today) });
      const byT = new Map<number, number>();
      for (const series of res.series) for (const p of series.points) if (p.v !== null) byT.set(p.t, (byT.get(p.t) ?? 0) + p.v);
      panels.push({
        title: m.name,
        points: [...byT.entries()].sort((a, b) => a[0] - b[0]),
        anomalies: anomalies.map((a) => a.firstBucket ?? a.bucket ?? a.startedAt),
        note: `${fmtNum(s.yesterday)} · ${pct(s.yesterday, s.dayBefore)} d/d · ${pct(s.yesterday, s.lastWeek)} w/w`,
      });
    } catch (err) {
      const error = errorText(err);
      log.warn({ metric: m.name, err: error }, "digest: metric query failed");
      summaries.push({ metric: m.name, yesterday: null, dayBefore: null, lastWeek: null, anomalies: anomalies.length, error });
    }
  }
  return { summaries, panels };
}

/** The compact table: one aligned row per metric. */
function metricTable(summaries: MetricSummary[], weekday: string | undefined): string[] {
  const rows = [
    ["metric", "yesterday", "d/d", `vs last ${weekday}`, "anomalies 24h"],
    ...summaries.map((s) =>
      s.error
        ? [s.metric, "error", "", "", String(s.anomalies)]
        : [s.metric, fmtNum(s.yesterday), pct(s.yesterday, s.dayBefore), pct(s.yesterday, s.lastWeek), String(s.anomalies)],
    ),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  "));
}

async function openAlertLines(store: StateStore, now: number): Promise<string[]> {
  const open = (await store.openAlerts())
    .filter((a): a is Alert & { id: number } => a.id !== null && a.state !== "pending")
    .sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || a.startedAt - b.startedAt);
  const lines = ["", open.length ? `Open alerts (${open.length}):` : "Open alerts: none"];
  for (const a of open.slice(0, 15)) {
    lines.push(
      `#${a.id} ${a.severity} ${seriesLabel(a.metric, a.series)} — ${a.state}, open ${formatDuration(Math.max(60_000, Math.round((now - a.startedAt) / 60_000) * 60_000))}`,
    );
  }
  if (open.length > 15) lines.push(`… and ${open.length - 15} more (/status)`);
  return lines;
}

async function experimentLines(experiments: () => Promise<ExperimentReport[]>): Promise<string[]> {
  const lines = ["", "Experiments:"];
  try {
    for (const r of await experiments()) {
      const srm = r.srm
        ? `SRM p=${r.srm.p < 0.0001 ? r.srm.p.toExponential(1) : r.srm.p.toFixed(4)}${r.srm.mismatch ? " MISMATCH" : ""}`
        : "SRM —";
      lines.push(`${r.experiment} (${r.state}): ${[srm, ...r.guardrails.map(guardrailText)].join(" · ")}`);
    }
  } catch (err) {
    lines.push(`(experiment status unavailable: ${scrubSecrets(String(err))})`);
  }
  return lines;
}

function guardrailText(g: ExperimentReport["guardrails"][number]): string {
  const d = g.difference;
  const est = g.estimate !== null ? ` ${pct(1 + g.estimate, 1)}` : d ? ` ${fmtDifference(d.estimate)}` : "";
  const ci = g.interval
    ? ` [${pct(1 + g.interval.lower, 1)}, ${pct(1 + g.interval.upper, 1)}]`
    : d
      ? ` [${fmtDifference(d.interval.lower)}, ${fmtDifference(d.interval.upper)}]`
      : "";
  return `${g.guardrail}/${g.variant}: ${g.status.replace(/_/g, " ")}${est}${ci}${g.note ? ` (${g.note})` : ""}`;
}
