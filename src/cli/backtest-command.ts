/** `vigil backtest` and `vigil tune`: replay a configured metric over its stored history. */

import { loadConfigFile } from "../config/load.js";
import { formatProblem } from "../config/problem.js";
import type { MetricConfig, VigilConfig } from "../config/types.js";
import { openDatabase } from "../db/open.js";
import { errorText } from "../log.js";
import { fmtBucket, fmtNum } from "../model/format.js";
import { toBucketTime } from "../sources/bucket-clock.js";
import { type BacktestAlert, defaultWindow, loadHistory, replay } from "./backtest/replay.js";
import { type AlertCounts, countAlerts, type TuneResult, tune } from "./backtest/tune.js";
import { writeBacktestChart } from "./backtest-chart.js";
import { textTable } from "./text-table.js";

interface Common {
  config: string;
  metric: string;
  from?: string;
  to?: string;
}

function parseTime(s: string | undefined, what: string): number | undefined {
  if (s === undefined) return undefined;
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw new Error(`--${what}: not a date/time: ${s}`);
  return t;
}

/**
 * The judged window [from, to) and the history it is read with: the metric's lookback before
 * `from` warms the detectors up, as the daemon's history load does.
 */
async function prepare(o: Common): Promise<{ config: VigilConfig; m: MetricConfig; from: number; to: number; warmFrom: number }> {
  const res = await loadConfigFile(o.config, process.env, { chatSecrets: "optional" });
  if (!res.ok) throw new Error(`invalid config:\n${res.problems.map(formatProblem).join("\n")}`);
  const m = res.config.metrics.find((x) => x.name === o.metric);
  if (!m) throw new Error(`no metric '${o.metric}' in ${o.config} (metrics: ${res.config.metrics.map((x) => x.name).join(", ")})`);
  const w = defaultWindow(m, Date.now());
  const from = bucketTime(m, o.from, "from") ?? w.from;
  return { config: res.config, m, from, to: bucketTime(m, o.to, "to") ?? w.to, warmFrom: from - m.lookbackMs };
}

/** --from/--to in the metric's bucket time: a bare date is that local day for local-day buckets, a time is an instant. */
function bucketTime(m: MetricConfig, s: string | undefined, what: string): number | undefined {
  const t = parseTime(s, what);
  if (t === undefined || s === undefined || /^\d{4}-\d{2}-\d{2}$/.test(s.trim())) return t;
  return toBucketTime(m, t);
}

/** An alert as `vigil backtest --json` prints it. */
export function alertJson(a: BacktestAlert): Record<string, unknown> {
  return {
    fired_at: new Date(a.firedAt).toISOString(),
    resolved_at: a.resolvedAt === null ? null : new Date(a.resolvedAt).toISOString(),
    series: a.series,
    detector: a.detector,
    value: a.value,
    expected: a.expected,
    lower: a.lower,
    upper: a.upper,
    reason: a.reason,
    kind: a.kind,
  };
}

/** The alerts as a table; times are UTC, or local dates for buckets of whole days. */
export function alertRows(alerts: readonly BacktestAlert[], granularityMs: number): string {
  const head = ["FIRED", "RESOLVED", "SERIES", "DETECTOR", "VALUE", "EXPECTED", "REASON"];
  const at = (t: number) => fmtBucket(t, granularityMs).replace(" UTC", "");
  const rows = alerts.map((a) => [
    at(a.firedAt),
    a.resolvedAt === null ? "open" : at(a.resolvedAt),
    a.series || "-",
    a.detector,
    fmtNum(a.value),
    fmtNum(a.expected),
    a.reason,
  ]);
  return textTable(head, rows);
}

async function withDb<T>(config: VigilConfig, fn: (db: Awaited<ReturnType<typeof openDatabase>>) => Promise<T>): Promise<T> {
  const url = config.database.url || process.env.DATABASE_URL || undefined;
  const db = await openDatabase({ url, dataDir: process.env.VIGIL_DATA_DIR || undefined });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

export async function backtestCommand(o: Common & { chart?: string; json?: boolean }): Promise<number> {
  try {
    const { config, m, from, to, warmFrom } = await prepare(o);
    const series = await withDb(config, (db) => loadHistory(db, m, warmFrom, to));
    const r = replay(m, series, warmFrom, to, o.chart !== undefined, from);
    if (o.json) {
      for (const a of r.alerts) process.stdout.write(`${JSON.stringify(alertJson(a))}\n`);
      if (o.chart) await writeBacktestChart(o.chart, m, r);
      return 0;
    }
    const weeks = (to - from) / (7 * 86_400_000);
    process.stdout.write(
      `backtest ${m.name}: ${fmtBucket(from, m.granularityMs)} → ${fmtBucket(to, m.granularityMs)}, ${r.series} series, ${r.points.toLocaleString("en-US")} buckets\n`,
    );
    if (r.alerts.length) process.stdout.write(`${alertRows(r.alerts, m.granularityMs)}\n`);
    process.stdout.write(
      `${r.alerts.length} alert${r.alerts.length === 1 ? "" : "s"} would have fired (${(r.alerts.length / Math.max(weeks, 1 / 7)).toFixed(1)} per week)\n`,
    );
    if (o.chart) {
      await writeBacktestChart(o.chart, m, r);
      process.stdout.write(`chart written to ${o.chart}\n`);
    }
    return 0;
  } catch (err) {
    process.stderr.write(`vigil backtest: ${errorText(err)}\n`);
    return 1;
  }
}

/** "novelty = 1.2, novelty_point = 1.3" */
function settingsText(settings: Readonly<Record<string, number>>): string {
  return Object.entries(settings)
    .map(([k, v]) => `${k} = ${v}`)
    .join(", ");
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}

/** "12 alerts (8.4/week: 10 missing data, 2 value)" */
function countsText(c: AlertCounts): string {
  return `${plural(c.alerts, "alert")} (${c.perWeek.toFixed(1)}/week: ${c.missing} missing data, ${c.value} value)`;
}

function countsJson(c: AlertCounts): Record<string, number> {
  return { alerts: c.alerts, per_week: Number(c.perWeek.toFixed(2)), missing: c.missing, value: c.value };
}

function tuneJson(m: MetricConfig, from: number, to: number, budget: number, t: TuneResult): Record<string, unknown> {
  return {
    metric: m.name,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    max_alerts_per_week: budget,
    before: countsJson(t.before),
    fixes: t.fixes.map((f) => ({
      key: f.key,
      why: f.why,
      yaml: f.yaml,
      before: countsJson(f.before),
      after: countsJson(f.after),
      accepted: f.accepted,
    })),
    sensitivity: t.choices.map((c) => ({ settings: c.settings, ...countsJson(countAlerts(c.alerts, t.weeks)), proposed: c === t.best })),
    proposal: {
      yaml: t.proposal.yaml,
      after: countsJson(t.proposal.after),
      fits: t.proposal.fits,
      alerts: t.proposal.alerts.map(alertJson),
    },
  };
}

export async function tuneCommand(o: Common & { maxAlertsPerWeek: number; json?: boolean }): Promise<number> {
  try {
    if (!(o.maxAlertsPerWeek >= 0)) throw new Error("--max-alerts-per-week takes a number ≥ 0");
    const { config, m, from, to, warmFrom } = await prepare(o);
    const series = await withDb(config, (db) => loadHistory(db, m, warmFrom, to));
    const t = tune(m, series, warmFrom, to, o.maxAlertsPerWeek, from);
    if (o.json) {
      process.stdout.write(`${JSON.stringify(tuneJson(m, from, to, o.maxAlertsPerWeek, t))}\n`);
      return 0;
    }
    const out = (s: string) => process.stdout.write(`${s}\n`);
    out(
      `tune ${m.name}: ${fmtBucket(from, m.granularityMs)} → ${fmtBucket(to, m.granularityMs)}, budget ${o.maxAlertsPerWeek} alerts/week`,
    );
    out(`as configured: ${countsText(t.before)}`);
    const kept = t.fixes.filter((f) => f.accepted);
    for (const f of t.fixes) {
      out(
        `\n${f.accepted ? "fix" : "tried, not kept"}: ${f.yaml.join("; ")}\n  why: ${f.why}\n  ${countsText(f.before)} → ${countsText(f.after)}`,
      );
    }
    if (t.param === null) out(`\n${m.name}: none of its detectors has a sensitivity (k, sigma or novelty) to tune`);
    else if (kept.length) out(`\nsensitivity, with ${kept.map((f) => f.key).join(", ")} as above:`);
    for (const c of t.choices) {
      const mark = c === t.best ? "  ← proposed" : "";
      out(`\n${settingsText(c.settings)}: ${plural(c.alerts.length, "alert")} (${c.perWeek.toFixed(1)}/week)${mark}`);
      if (c.alerts.length) out(alertRows(c.alerts.slice(0, 20), m.granularityMs));
      if (c.alerts.length > 20) out(`… and ${c.alerts.length - 20} more`);
    }
    const what = [...kept.map((f) => f.yaml.join("; ")), ...(t.best ? [settingsText(t.best.settings)] : [])].join(", ");
    const lines = t.proposal.yaml.map((l) => `  ${l}`).join("\n");
    if (t.proposal.fits && t.proposal.yaml.length) {
      out(`\nproposal: ${what} (${t.proposal.after.perWeek.toFixed(1)} alerts/week); in ${m.name}'s config:\n${lines}`);
      if (kept.length) out(`as configured: ${countsText(t.before)} → with the proposal: ${countsText(t.proposal.after)}`);
    } else if (t.proposal.fits) out(`\n${m.name} already fits the budget: ${countsText(t.before)}`);
    else {
      out(`\nno setting tried keeps ${m.name} under ${o.maxAlertsPerWeek} alerts/week; consider min_change or for`);
      if (t.proposal.yaml.length) out(`the closest: ${countsText(t.proposal.after)}, with:\n${lines}`);
    }
    return 0;
  } catch (err) {
    process.stderr.write(`vigil tune: ${errorText(err)}\n`);
    return 1;
  }
}
