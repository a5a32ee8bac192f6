/**
 * What an alert's message carries beyond the alert: "same time last week", a chart, and for
 * metrics with `dimensions` the slices that explain the deviation. Read from the source when an
 * alert notifies, never kept in memory (a week of every series would be held for the few that alert);
 * each read has a time budget, after which the alert goes out without it rather than late.
 */
import type { MetricConfig } from "../config/types.js";
import type { Logger } from "../log.js";
import { scrubSecrets } from "../log.js";
import type { Alert } from "../model/alert.js";
import type { Outcome } from "../model/lifecycle.js";
import type { ChartData } from "../model/notification.js";
import type { Point } from "../model/point.js";
import { alertChart, type ChartWindow, chartWindow } from "./chart-data.js";
import type { Fetcher } from "./fetcher.js";
import type { MetricRuntimes } from "./metric-runtime.js";
import type { DimensionCause, DrillTarget } from "./root-cause.js";
import { describeRootCause } from "./root-cause.js";

export interface AlertContextDeps {
  fetch: Fetcher;
  log: Logger;
  /** Drill-down by `dimensions` for a firing alert (root cause); absent = no drill-down. */
  drill?: (metric: MetricConfig, target: DrillTarget) => Promise<DimensionCause[]>;
  /** Wall-clock time a metric's drill-downs may take in one tick (default DRILL_BUDGET_MS). */
  drillBudgetMs?: number;
  /** How long an alert waits for its chart's history (ms, wall clock; default 2000). */
  alertHistoryBudgetMs?: number;
}

/** Recent buckets per series read for a tick's alerts: with a chart `window`, over it, else only a week before them. */
export interface AlertHistory {
  window: ChartWindow | null;
  series: ReadonlyMap<string, readonly Point[]>;
}
export const NO_HISTORY: AlertHistory = { window: null, series: new Map() };

const WEEK_MS = 7 * 86_400_000;
/** Metrics per tick whose alerts get a chart, so that an alert storm across many metrics does not stall the tick. */
const CHARTED_METRICS_PER_TICK = 20;
/** Alerts of one metric and tick above which no history is read: a storm's messages have no chart, and its filter would be a slow query. */
const HISTORY_SERIES_MAX = 200;
/** A metric's drill-downs in one tick: this much wall-clock time, this many at once. */
const DRILL_BUDGET_MS = 3000;
const DRILL_CONCURRENCY = 4;
/** Less time than this left in the drill-down budget is none (a timer may end a millisecond early). */
const MIN_DRILL_MS = 20;

/** `work`, or `onLate()` once `ms` have passed without it settling. */
async function withinBudget<T, L>(work: Promise<T>, ms: number, onLate: () => L): Promise<T | L> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<typeof LATE>((resolve) => {
    timer = setTimeout(() => resolve(LATE), ms);
    timer.unref();
  });
  try {
    const got = await Promise.race([work, late]);
    if (got !== LATE) return got as T;
    work.catch(() => {}); // abandoned: it ends on its own
    return onLate();
  } finally {
    clearTimeout(timer);
  }
}
const LATE: unique symbol = Symbol("late");

export class AlertContext {
  /** Metrics whose alerts may still get a chart in this tick. */
  private chartsLeft = CHARTED_METRICS_PER_TICK;

  constructor(
    private readonly deps: AlertContextDeps,
    private readonly runtimes: MetricRuntimes,
  ) {}

  startTick(): void {
    this.chartsLeft = CHARTED_METRICS_PER_TICK;
  }

  /**
   * The recent buckets of the series of `alerts` (judged up to bucket `end`): the chart's window
   * while the tick's budget lasts, else only the buckets a week before the alerts'. Empty when the
   * read fails or is late.
   */
  async history(m: MetricConfig, alerts: readonly Alert[], end: number): Promise<AlertHistory> {
    const rt = this.runtimes.get(m.name);
    const buckets = alerts.map((a) => a.bucket).filter((b): b is number => b !== null);
    if (!rt || buckets.length === 0 || alerts.length > HISTORY_SERIES_MAX) return NO_HISTORY;
    const g = m.granularityMs;
    const chart = this.chartsLeft > 0 ? chartWindow(m, end, rt.stateFrom) : null;
    if (chart) this.chartsLeft--;
    const weekAgo = Math.min(...buckets) - WEEK_MS;
    const window = chart
      ? { from: Math.min(weekAgo, chart.warmFrom), to: chart.to }
      : { from: weekAgo, to: Math.max(...buckets) - WEEK_MS + g };
    // only the series that alert: a metric split a hundred ways need not read a week of all of them
    const labels = [...new Set(alerts.map((a) => a.series))].map((key) => rt.series.get(key)?.labels ?? {});
    const read = this.deps.fetch(m, window, labels);
    try {
      const got = await withinBudget(read, this.deps.alertHistoryBudgetMs ?? 2000, () => null);
      if (got === null) {
        this.deps.log.warn({ metric: m.name }, "reading history for the alert took too long; sent without its chart");
        return NO_HISTORY;
      }
      return { window: chart, series: new Map(got.series.map((x) => [x.key, x.points])) };
    } catch (err) {
      this.deps.log.warn(
        { metric: m.name, err: scrubSecrets(String(err)) },
        "reading history for the alert failed; sent without its chart",
      );
      return NO_HISTORY;
    }
  }

  /** Context for the firing outcomes of a metric's tick; drill-downs share one budget, a few at a time, so a burst cannot hold the tick or the pool. */
  async addAll(m: MetricConfig, firing: ReadonlyArray<Outcome & { alert: Alert }>, history: AlertHistory): Promise<void> {
    const drillUntil = Date.now() + (this.deps.drillBudgetMs ?? DRILL_BUDGET_MS);
    const queue = [...firing];
    const worker = async (): Promise<void> => {
      for (let o = queue.shift(); o; o = queue.shift()) await this.addToOutcome(m, o, history, drillUntil);
    };
    await Promise.all(Array.from({ length: Math.min(DRILL_CONCURRENCY, queue.length) }, worker));
  }

  /**
   * Context for each firing event of an outcome, at the bucket that fired; the alert's later
   * states in the tick and its stored row keep that context, as an alert keeps it across ticks.
   */
  private async addToOutcome(m: MetricConfig, o: Outcome & { alert: Alert }, history: AlertHistory, drillUntil: number): Promise<void> {
    let fired: Alert | null = null;
    for (const e of o.events) {
      const shown = e.snapshot ?? o.alert;
      if (e.notify === "firing") {
        await this.addToAlert(m, shown, history, drillUntil);
        fired = shown;
      } else if (fired && shown !== fired) shown.details = { ...shown.details, ...fired.details };
    }
    if (fired && o.alert !== fired) o.alert.details = { ...o.alert.details, ...fired.details };
  }

  /** The same time last week and, for metrics with `dimensions`, the drill-down. */
  private async addToAlert(m: MetricConfig, alert: Alert, history: AlertHistory, drillUntil: number): Promise<void> {
    if (alert.kind !== "metric" || alert.bucket === null) return;
    const weekAgo = alert.bucket - WEEK_MS;
    const past = history.series.get(alert.series)?.find((p) => p.t === weekAgo)?.v;
    if (past !== undefined && past !== null) alert.details = { ...alert.details, lastWeek: past };
    if (!this.deps.drill || !m.source?.dimensions.length) return;
    const budgetMs = drillUntil - Date.now();
    if (budgetMs < MIN_DRILL_MS) {
      this.deps.log.debug({ metric: m.name, series: alert.series }, "drill-down budget of the tick spent; alert sent without it");
      return;
    }
    await this.drill(m, alert, alert.bucket, budgetMs);
  }

  private async drill(m: MetricConfig, alert: Alert, bucket: number, budgetMs: number): Promise<void> {
    try {
      const rt = this.runtimes.get(m.name);
      const filter = rt?.series.get(alert.series)?.labels ?? {};
      const detector = rt?.detectors.find((d) => d.family === alert.detector);
      const target = { bucket, filter, detector, value: alert.value, expected: alert.expected, budgetMs };
      // an abandoned drill-down's queries carry the same budget as their statement timeout
      const drivers = await withinBudget(this.deps.drill!(m, target), budgetMs, () => null);
      if (drivers === null) {
        this.deps.log.warn({ metric: m.name, series: alert.series }, "drill-down took too long; alert sent without it");
        return;
      }
      const direction = alert.value !== null && alert.expected !== null && alert.value < alert.expected ? "drop" : "rise";
      alert.details = { ...alert.details, drivers, contributors: describeRootCause(drivers, direction) };
    } catch (err) {
      this.deps.log.warn({ metric: m.name, err: scrubSecrets(String(err)) }, "drill-down failed; alert sent without it");
    }
  }

  /** The chart of an alert (chart-data.ts), made only when a notification needs it. */
  chartFor(m: MetricConfig, alert: Alert, history: AlertHistory): ChartData | null {
    const rt = this.runtimes.get(m.name);
    const d = rt?.detectors.find((x) => x.family === alert.detector);
    const points = history.series.get(alert.series) ?? [];
    if (!rt || !d || history.window === null || points.length === 0) return null;
    return alertChart(m, d, points, history.window, alert, rt.series.get(alert.series)?.floor ?? 0);
  }
}
