/** `vigil backtest` and `vigil tune`: replay a configured metric over its stored history. */
import { defaultWindow, loadHistory, type BacktestAlert, replay, tune } from "../backtest.js";
import { loadConfigFile } from "../config/load.js";
import { formatProblem } from "../config/problem.js";
import type { DetectorConfig, MetricConfig, VigilConfig } from "../config/types.js";
import { openDatabase } from "../db/open.js";
import { fmtNum, fmtTime } from "../delivery/format.js";
import { errorText, } from "../log.js";
import { stringify } from "yaml";
import { getDetector } from "../../detectors/registry.js";
import { toBucketTime } from "../sources/bucket-clock.js";
import { writeBacktestChart } from "./backtest-chart.js";

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
  const res = await loadConfigFile(o.config);
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

export function alertRows(alerts: readonly BacktestAlert[]): string {
  const head = ["FIRED", "RESOLVED", "SERIES", "DETECTOR", "VALUE", "EXPECTED", "REASON"];
  const rows = alerts.map((a) => [
    fmtTime(a.firedAt).replace(" UTC", ""),
    a.resolvedAt === null ? "open" : fmtTime(a.resolvedAt).replace(" UTC", ""),
    a.series || "-",
    a.detector,
    fmtNum(a.value),
    fmtNum(a.expected),
    a.reason,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n");
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
      `backtest ${m.name}: ${fmtTime(from)} → ${fmtTime(to)}, ${r.series} series, ${r.points.toLocaleString("en-US")} buckets\n`,
    );
    if (r.alerts.length) process.stdout.write(`${alertRows(r.alerts)}\n`);
    process.stdout.write(`${r.alerts.length} alert${r.alerts.length === 1 ? "" : "s"} would have fired (${(r.alerts.length / Math.max(weeks, 1 / 7)).toFixed(1)} per week)\n`);
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

/**
 * A detector entry as an operator would write it: `type`, the tuned settings, and the parameters
 * that differ from the detector's defaults (the resolved config holds every default filled in).
 */
function asWritten(d: DetectorConfig, settings: Readonly<Record<string, number>>): DetectorConfig {
  const def = getDetector(d.type);
  const defaults = def?.params.safeParse({});
  const base = defaults?.success ? (defaults.data as Record<string, unknown>) : {};
  const out: DetectorConfig = { type: d.type };
  for (const [k, v] of Object.entries(d)) {
    if (k === "type") continue;
    if (k in settings || JSON.stringify(base[k]) !== JSON.stringify(v)) out[k] = v;
  }
  return out;
}

/** "novelty = 1.2, novelty_point = 1.3" */
function settingsText(settings: Readonly<Record<string, number>>): string {
  return Object.entries(settings)
    .map(([k, v]) => `${k} = ${v}`)
    .join(", ");
}

export async function tuneCommand(o: Common & { maxAlertsPerWeek: number }): Promise<number> {
  try {
    if (!(o.maxAlertsPerWeek >= 0)) throw new Error("--max-alerts-per-week takes a number ≥ 0");
    const { config, m, from, to, warmFrom } = await prepare(o);
    const series = await withDb(config, (db) => loadHistory(db, m, warmFrom, to));
    const t = tune(m, series, warmFrom, to, o.maxAlertsPerWeek, from);
    if (t.param === null) {
      process.stdout.write(`${m.name}: none of its detectors has a sensitivity (k, sigma or novelty) to tune\n`);
      return 0;
    }
    process.stdout.write(`tune ${m.name}: ${fmtTime(from)} → ${fmtTime(to)}, budget ${o.maxAlertsPerWeek} alerts/week\n`);
    for (const c of t.choices) {
      const mark = c === t.best ? "  ← proposed" : "";
      process.stdout.write(`\n${settingsText(c.settings)}: ${c.alerts.length} alert${c.alerts.length === 1 ? "" : "s"} (${c.perWeek.toFixed(1)}/week)${mark}\n`);
      if (c.alerts.length) process.stdout.write(`${alertRows(c.alerts.slice(0, 20))}\n`);
      if (c.alerts.length > 20) process.stdout.write(`… and ${c.alerts.length - 20} more\n`);
    }
    process.stdout.write(
      t.best
        ? `\nproposal: ${settingsText(t.best.settings)} (${t.best.perWeek.toFixed(1)} alerts/week); in ${m.name}'s config:\n  detectors: ${stringify(t.best.detectors.map((d) => asWritten(d, t.best!.settings)), { collectionStyle: "flow", lineWidth: 0 }).trim()}\n`
        : `\nno setting tried keeps ${m.name} under ${o.maxAlertsPerWeek} alerts/week; consider min_change or for\n`,
    );
    return 0;
  } catch (err) {
    process.stderr.write(`vigil tune: ${errorText(err)}\n`);
    return 1;
  }
}
