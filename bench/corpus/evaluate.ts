/**
 * Judges a dataset the way an operator would: load it, write the newcomer's config, replay every
 * metric with the code `vigil backtest` runs (loadHistory + replay), and sort the alerts into
 * those that caught a labelled incident and those an operator would have been woken by for
 * nothing, split by kind (missing data vs value).
 */
import { type BacktestAlert, loadHistory, replay } from "../../src/cli/backtest/replay.js";
import { loadConfigText } from "../../src/config/load.js";
import type { Database } from "../../src/db/database.js";
import { type DatasetLabels, type DatasetSpec, type Incident, loadDataset, newcomerYaml } from "./corpus.js";

const DAY = 86_400_000;
const WEEK = 7 * 86_400_000;
/** An alert this many buckets after a label window's end still counts as catching it. */
export const TOLERANCE_BUCKETS = 3;
/**
 * An alert still firing when a label window starts catches it if it fired at most this many buckets
 * before: labels start where a rule first holds (a tenth of the usual rentals), which an outage that
 * began at night reaches hours after its first empty bucket alerted.
 */
export const LEAD_BUCKETS = 24;

export type AlertKind = "missing" | "value";

/** As `vigil backtest --json` classifies alerts: missing-data reasons vs everything else. */
export function alertKind(a: Pick<BacktestAlert, "reason" | "detector">): AlertKind {
  return /^(no data|data resumed)/i.test(a.reason) || a.detector === "missing" ? "missing" : "value";
}

export interface IncidentResult {
  name: string;
  kind: Incident["kind"];
  expect: Incident["expect"];
  start: string;
  end: string;
  caught: boolean;
  /** The first alert that caught it. */
  by: { at: string; kind: AlertKind; reason: string } | null;
}

export interface MetricQuality {
  dataset: string;
  metric: string;
  from: string;
  to: string;
  weeks: number;
  buckets: number;
  incidents: IncidentResult[];
  alerts: number;
  /** Alerts that caught no incident, by kind. */
  outside: { total: number; missing: number; value: number; perWeek: number };
  /** Alerts outside incidents the budget allows over this span: 4 per 60 days of sub-daily buckets, 4 per year of daily ones (at least 4). */
  budget: number;
  /** Alerts that caught no incident (outside every window, or of the wrong kind inside one). */
  falseAlerts: Array<{ at: string; kind: AlertKind; reason: string; value: number | null }>;
}

export type DatasetQuality = { dataset: string; rows: number; metrics: MetricQuality[] } | { dataset: string; rejected: string[] };

export interface EvaluateOptions {
  /** Metric YAML lines added to every metric (e.g. `fill: zero`). */
  extra?: readonly string[];
  /** Add each metric's operator hints (calendar, holidays). */
  hints?: boolean;
  /** Only rows with time in [from, to). */
  range?: { from: number; to: number };
  /** Judge from here on (the rows before it warm the detectors up, as `vigil backtest --from` does). */
  judgeFrom?: number;
}

/** At most 4 alerts outside incidents per 60 days of hourly data or per year of daily data, and at least 4 on a shorter span. */
export function alertBudget(granularityMs: number, spanMs: number): number {
  const per = granularityMs >= DAY ? 365 * DAY : 60 * DAY;
  return 4 * Math.max(1, Math.floor(spanMs / per));
}

export async function evaluateDataset(
  db: Database,
  ds: DatasetSpec,
  labels: DatasetLabels,
  opts: EvaluateOptions = {},
): Promise<DatasetQuality> {
  const yaml = newcomerYaml(ds, opts);
  const loaded = loadConfigText(yaml, `${ds.name}.yaml`, {});
  if (!loaded.ok) return { dataset: ds.name, rejected: loaded.problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`) };
  const data = await loadDataset(db, ds, opts.range);
  const metrics: MetricQuality[] = [];
  for (const m of loaded.config.metrics) {
    const g = m.granularityMs;
    const warmFrom = Math.floor(data.from / g) * g;
    const from = Math.max(warmFrom, Math.floor((opts.judgeFrom ?? warmFrom) / g) * g);
    const to = Math.floor(data.to / g) * g + g;
    const series = await loadHistory(db, m, warmFrom, to);
    const r = replay(m, series, warmFrom, to, false, from);
    const incidents = labels.incidents.filter(
      (i) => (i.metrics === undefined || i.metrics.includes(m.name)) && Date.parse(i.start) >= from && Date.parse(i.start) < to,
    );
    const windows = incidents.map((i) => ({ i, start: Date.parse(i.start), end: Date.parse(i.end) + TOLERANCE_BUCKETS * g }));
    const catches = (w: (typeof windows)[number], a: BacktestAlert) =>
      (w.i.expect === "any" || alertKind(a) === "value") &&
      ((a.firedAt >= w.start && a.firedAt < w.end) ||
        (a.firedAt >= w.start - LEAD_BUCKETS * g && a.firedAt < w.start && (a.resolvedAt === null || a.resolvedAt > w.start)));
    const outsideAlerts = r.alerts.filter((a) => !windows.some((w) => catches(w, a)));
    const weeks = (to - from) / WEEK;
    const missing = outsideAlerts.filter((a) => alertKind(a) === "missing").length;
    metrics.push({
      dataset: ds.name,
      metric: m.name,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      weeks,
      buckets: r.points,
      incidents: windows.map(({ i, start, end }) => {
        const first = r.alerts.find((a) => catches({ i, start, end }, a));
        return {
          name: i.name,
          expect: i.expect,
          kind: i.kind,
          start: i.start,
          end: i.end,
          caught: first !== undefined,
          by: first ? { at: new Date(first.firedAt).toISOString(), kind: alertKind(first), reason: first.reason } : null,
        };
      }),
      alerts: r.alerts.length,
      outside: { total: outsideAlerts.length, missing, value: outsideAlerts.length - missing, perWeek: outsideAlerts.length / weeks },
      budget: alertBudget(g, to - from),
      falseAlerts: outsideAlerts.map((a) => ({
        at: new Date(a.firedAt).toISOString(),
        kind: alertKind(a),
        reason: a.reason,
        value: a.value,
      })),
    });
  }
  return { dataset: ds.name, rows: data.rows, metrics };
}
