/**
 * The engine: one evaluation of a set of metrics = fetch the newly closed buckets, run the
 * detectors, apply the alert policy and lifecycle, and store the result together with the
 * deliveries it causes (one transaction per metric). It owns no timers: the scheduler calls it.
 */

import { DEFAULT_DETECTORS, getDetector, withTimeDefaults } from "../../detectors/registry.js";
import type { Verdict } from "../../detectors/types.js";
import type { Clock } from "../clock.js";
import type { MetricConfig, VigilConfig } from "../config/types.js";
import { groupBy } from "../group-by.js";
import type { Logger } from "../log.js";
import { errorText, scrubSecrets } from "../log.js";
import { type Alert, type AlertEvent, fingerprintOf } from "../model/alert.js";
import { clearMeta, type Identity, type LifecyclePolicy, type Outcome, observe, onTime, raiseMeta } from "../model/lifecycle.js";
import type { AlertNotification, ChartData } from "../model/notification.js";
import type { Point } from "../model/point.js";
import type { Silence } from "../model/silence.js";
import { nameBucket } from "../name-hash.js";
import { activeMute } from "../notify/mute.js";
import { FLAP_OPENS, FLAP_WINDOW_MS, planDeliveries } from "../notify/plan.js";
import { channelsFor } from "../notify/routing.js";
import { bucketClock, detectorZone } from "../sources/bucket-clock.js";
import { AlertConflictError, type StateStore } from "../store/state-store.js";
import type { VigilMetrics } from "../telemetry/metrics.js";
import { atFloor } from "./band-floor.js";
import { feedValue } from "./bucket-feed.js";
import { offBuckets } from "./calendar.js";
import { alertChart, type ChartWindow, chartWindow } from "./chart-data.js";
import { type Fetcher, type GroupFetcher, type GroupGrid, groupKey, groupRowsIndex, lastClosedBucket } from "./fetcher.js";
import { gridSlice, type MetricGrid, pointsToGrid } from "./metric-grid.js";
import { passesPolicy } from "./policy.js";
import { type DimensionCause, type DrillTarget, describeRootCause } from "./root-cause.js";
import { type DetectorInstance, SeriesRuntime } from "./series-runtime.js";
import { TickOutcomes } from "./tick-outcomes.js";

export interface EngineDeps {
  store: StateStore;
  fetch: Fetcher;
  /** Reads metrics that share a scan with one query; absent = every metric is read on its own. */
  fetchGroup?: GroupFetcher;
  clock: Clock;
  log: Logger;
  metrics: VigilMetrics;
  /** Drill-down by `dimensions` for a firing alert (root cause); absent = no drill-down. */
  drill?: (metric: MetricConfig, target: DrillTarget) => Promise<DimensionCause[]>;
  /** Wall-clock time a metric's drill-downs may take in one tick (default DRILL_BUDGET_MS). */
  drillBudgetMs?: number;
  /**
   * How long an alert waits for its chart's history (ms, wall clock; default 2000): a slow source
   * delays no alert, which then goes out without the chart.
   */
  alertHistoryBudgetMs?: number;
  /** Sees every judged point's verdicts (backtests, tests); absent in production, so it costs nothing. */
  onJudged?: (metric: string, series: string, point: Point, verdicts: readonly Verdict[], anomalous: readonly boolean[]) => void;
}

export interface MetricReport {
  metric: string;
  ok: boolean;
  error?: string;
  series: number;
  points: number;
  anomalies: number;
  events: Array<{ alert: Alert & { id: number }; event: AlertEvent }>;
}

export interface TickReport {
  metrics: MetricReport[];
  failed: string[];
}

interface MetricRuntime {
  config: MetricConfig;
  signature: string;
  detectors: DetectorInstance[];
  series: Map<string, SeriesRuntime>;
  /** Start of the last judged bucket; null until the first evaluation. */
  watermark: number | null;
  /** The latest watermark known to be stored (−∞: none), and the bucket phase at which a quiet one is written. */
  stored: number;
  quietPhase: number;
  /** Buckets up to here warm the detectors up and are not judged (set on first sight). */
  warmUntil: number | null;
  /** Still loading history (first sight), possibly over several passes. */
  loading: boolean;
  /** Derived from the config once (it only changes with the signature): */
  /** `groupKey` of the config. */
  scanKey: string | null;
  policy: LifecyclePolicy;
  /** The first bucket its detectors learned (the history load's): where an alert's chart replays them from. */
  stateFrom: number;
  /** The metric's meta-alert fingerprints. */
  fingerprints: { source: string; noData: string };
}

const WEEK_MS = 7 * 86_400_000;
/**
 * Metrics per tick whose alerts get a chart: each costs one query over the chart's buckets and the
 * detectors' warm-up before them (chart-data.ts) for the series that alert, so an alert storm across many metrics does not stall the tick (its alerts are collapsed
 * into a summary anyway). The others still get "same time last week" from a one-bucket query.
 */
const CHARTED_METRICS_PER_TICK = 20;

/** A metric's window for one tick: read buckets from..lastClosed, judge those after judgeAfter. */
interface WindowPlan {
  now: number;
  lastClosed: number;
  from: number;
  judgeAfter: number;
  /** Part of the first sight of this metric in this process (history load). */
  fresh: boolean;
  /** More buckets are due after lastClosed: another pass follows (history load in chunks). */
  partial: boolean;
}

/** How evaluateMetric reads a metric's buckets for a window: on the bucket grid. */
/** A metric's buckets: at once when they are already here (a grouped scan that came back), else a promise. */
type GridFetch = (m: MetricConfig, window: { from: number; to: number }) => MetricGrid | Promise<MetricGrid>;

/** One metric's evaluation in a tick, handed from step to step (read, judge, store). */
interface MetricTick {
  m: MetricConfig;
  rt: MetricRuntime;
  plan: WindowPlan;
  outcomes: TickOutcomes;
  report: MetricReport;
  silences: readonly Silence[];
  /** The pass's batch of quiet watermarks. */
  quiet: QuietWrite[];
}

/** One pass's windows, the metrics that could not be planned, and how to read them. */
interface PassPlan {
  plans: Map<string, WindowPlan>;
  planErrors: Map<string, string>;
  fetch: GridFetch;
  /**
   * Once every metric of the pass is judged: when another pass follows (a history load), its grids'
   * value arrays are kept for that pass's scans to decode into; after the last pass none are kept
   * (a steady tick's grids are small, and a history load's would hold megabytes between ticks).
   */
  recycle: (again: boolean) => Promise<void>;
}

/** Most value arrays kept between two passes (a pass has one grid per scan). */
const GRID_SPARES = 32;

/** Recent buckets per series read for a tick's alerts: with a chart `window`, over it, else only a week before them. */
interface AlertHistory {
  window: ChartWindow | null;
  series: ReadonlyMap<string, readonly Point[]>;
}
const NO_HISTORY: AlertHistory = { window: null, series: new Map() };

/**
 * A history load reads this many buckets per metric per pass (six hours of 5-minute data). The rows
 * of the scans in flight are most of the load's peak memory above the detector states: 144 buckets a
 * pass put the peak of 10,000 ensemble series at 300–303 MB, 72 at 297–298, 48 at 296, and the
 * load took no longer.
 */
/** Metrics of one pass whose queries may be waited on at once. */
const METRIC_CONCURRENCY = 4;

/** A metric's drill-downs in one tick: this much wall-clock time, this many at once. */
const DRILL_BUDGET_MS = 3000;
const DRILL_CONCURRENCY = 4;
/** Less time than this left in the drill-down budget is none. */
const MIN_DRILL_MS = 20;

const CHUNK_BUCKETS = 72;
/** Rows one scan of a history load may return: a metric split ten thousand ways reads fewer buckets at a time. */
const CHUNK_ROWS = 100_000;
/** The first chunk of a load, which learns how many series there are (a chunk of 72 then held 720,000 rows at 10,000 series). */
const FIRST_CHUNK = 8;

function chunkBuckets(rt: MetricRuntime, from: number): number {
  const n = rt.series.size;
  // (a lookback that starts before the data is read in whole chunks until rows come)
  if (n === 0) return rt.loading && from === rt.stateFrom ? FIRST_CHUNK : CHUNK_BUCKETS;
  return Math.max(4, Math.min(CHUNK_BUCKETS, Math.floor(CHUNK_ROWS / n)));
}

/** A metric whose tick changed no alert: only its watermark is stored, with the others'. */
interface QuietWrite {
  metric: string;
  watermark: number;
}

/**
 * Quiet watermarks are stored in batches of this many metrics while the tick goes on, so that the
 * database writes one batch while the engine judges the next metrics.
 */
const QUIET_BATCH = 100;
/**
 * A quiet metric's watermark is stored once per this period (or every tick, for coarser buckets),
 * each metric at its own phase so that a tick writes a slice of them, not all: rewriting 10,000
 * unchanged rows a tick was about a quarter of a steady tick's cost. A watermark that changed an alert is
 * stored with it, at once. After a crash the quiet buckets since the stored watermark are judged
 * again, which repeats nothing: they were quiet, and alerts are deduplicated by fingerprint.
 */
const QUIET_EVERY_MS = 3_600_000;
/** That period in buckets (at least one). */
function quietBuckets(granularityMs: number): number {
  return Math.max(1, Math.round(QUIET_EVERY_MS / granularityMs));
}

export function buildDetectors(m: MetricConfig): DetectorInstance[] {
  const configured = m.detectors.length > 0 ? m.detectors : DEFAULT_DETECTORS;
  const seen = new Map<string, number>();
  return configured.map((dc) => {
    const def = getDetector(dc.type);
    if (!def) throw new Error(`metric ${m.name}: unknown detector type '${dc.type}'`);
    const { type: _type, ...rest } = dc;
    const raw: Record<string, unknown> = rest;
    // Detectors that reason about time get the metric's bucket size unless the config says otherwise.
    if ("granularity_ms" in def.params.shape && raw.granularity_ms === undefined) raw.granularity_ms = m.granularityMs;
    // ... and the zone of the wall clock their daily and weekly slots follow
    if ("timezone" in def.params.shape && raw.timezone === undefined) raw.timezone = detectorZone(m);
    const params = def.params.parse(withTimeDefaults(def, raw));
    const n = (seen.get(dc.type) ?? 0) + 1;
    seen.set(dc.type, n);
    const family = def.family ?? dc.type;
    return { family: n === 1 ? family : `${family}#${n}`, type: dc.type, def, params };
  });
}

/** Alerts grouped by their metric. */
const byMetric = (alerts: readonly Alert[]): Map<string, Alert[]> => groupBy(alerts, (a) => a.metric);

function policyOf(m: MetricConfig): LifecyclePolicy {
  return { for: m.for, resolveAfter: m.resolveAfter, severity: m.severity, repeatEveryMs: m.repeatEveryMs };
}

/** Alerts of one metric and tick above which no history is read for their context (see alertHistory). */
const HISTORY_SERIES_MAX = 200;

export class Engine {
  private config: VigilConfig;
  private readonly runtimes = new Map<string, MetricRuntime>();
  /** Metrics whose alerts may still get a chart in this tick. */
  private chartsLeft = CHARTED_METRICS_PER_TICK;
  /** Watermarks judged but not stored yet (quiet metrics between their writes). */
  private readonly unsaved = new Map<string, number>();
  /** (metric, series, kind) data problems already logged, so each is logged once. */
  private readonly loggedIssues = new Set<string>();
  /**
   * The point and the verdict list handed to the detectors, reused for every point when no
   * `onJudged` listener may keep them (detectors keep no reference to either).
   */
  private readonly point: Point = { t: 0, v: null };
  private readonly verdicts: Verdict[] = [];
  /** See GRID_SPARES. */
  private readonly gridSpares: Float64Array[] = [];
  /** Set by halt(): the tick in flight ends after its current pass. */
  private halted = false;

  constructor(
    config: VigilConfig,
    private readonly deps: EngineDeps,
  ) {
    this.config = config;
  }

  /** Swap the config between ticks; changed metrics rebuild their state from stored history. */
  setConfig(config: VigilConfig): void {
    const names = new Set(config.metrics.map((m) => m.name));
    for (const name of [...this.runtimes.keys()]) if (!names.has(name)) this.runtimes.delete(name);
    for (const name of [...this.unsaved.keys()]) if (!names.has(name)) this.unsaved.delete(name);
    for (const m of config.metrics) {
      const rt = this.runtimes.get(m.name);
      if (rt && rt.signature !== JSON.stringify(m)) this.runtimes.delete(m.name);
      else if (rt) rt.config = m;
    }
    this.config = config;
  }

  getConfig(): VigilConfig {
    return this.config;
  }

  /**
   * The process is stopping: a tick in flight ends after its current pass instead of loading the
   * rest of its history (a load stores nothing until it is complete, so the next start redoes it).
   */
  halt(): void {
    this.halted = true;
  }

  /** Evaluate the named metrics (all when omitted), one after another. */
  async evaluate(names?: readonly string[]): Promise<TickReport> {
    this.chartsLeft = CHARTED_METRICS_PER_TICK;
    const wanted = names ? new Set(names) : null;
    const report: TickReport = { metrics: [], failed: [] };
    const chosen = this.config.metrics.filter((m) => !wanted || wanted.has(m.name));
    // Open alerts are read fresh each tick (chat actions change them) and once for all metrics.
    let openByMetric = new Map<string, Alert[]>();
    let silences: Silence[] = [];
    // Both reads run while the first pass is planned and its first scan is issued (see below).
    const stateRead = Promise.all([this.deps.store.activeSilences(this.deps.clock.now()), this.deps.store.openAlerts()]);
    stateRead.catch(() => undefined); // awaited below, after the first scan is on its way
    const firstPass = this.planPass(chosen);
    try {
      const [active, open] = await stateRead;
      silences = active;
      openByMetric = byMetric(open);
    } catch (err) {
      const error = errorText(err);
      this.deps.log.error({ err: error }, "cannot read alert state");
      await firstPass; // nothing of this tick may still run when the next one starts
      for (const m of chosen) {
        report.metrics.push({ metric: m.name, ok: false, error, series: 0, points: 0, anomalies: 0, events: [] });
        report.failed.push(m.name);
      }
      return report;
    }
    // Passes: a steady tick is one pass. A history load is cut into chunks of CHUNK_BUCKETS buckets,
    // all metrics stepping through one chunk per pass, so that memory stays bounded by a chunk
    // instead of growing with lookback × series (the detectors keep their state between chunks).
    const reports = new Map<string, MetricReport>();
    let pending = chosen;
    for (let pass = 0; pending.length > 0; pass++) {
      if (pass > 0 && this.halted) {
        this.deps.log.info({ metrics: pending.map((m) => m.name) }, "stopping: history load left for the next start");
        for (const m of pending) {
          this.runtimes.delete(m.name);
          Object.assign(reports.get(m.name)!, { ok: false, error: "vigil stopped before its history load was complete" });
        }
        break;
      }
      if (pass > 0) {
        // Earlier passes may have stored alerts: read them again so that they are updated, not duplicated.
        try {
          openByMetric = byMetric(await this.deps.store.openAlerts());
        } catch (err) {
          const error = errorText(err);
          for (const m of pending) {
            this.runtimes.delete(m.name);
            const r = reports.get(m.name);
            if (r) Object.assign(r, { ok: false, error });
          }
          break;
        }
      }
      const { plans, planErrors, fetch, recycle } = await (pass === 0 ? firstPass : this.planPass(pending));
      // Ticks that change no alert only move the watermark: those are written in batches, each
      // started as soon as it is full and awaited at the end of the pass.
      const quiet: QuietWrite[] = [];
      const quietWrites: Promise<void>[] = [];
      const again: MetricConfig[] = [];
      const record = (m: MetricConfig, r: MetricReport, partial: boolean): void => {
        const prev = reports.get(m.name);
        reports.set(
          m.name,
          prev
            ? {
                metric: m.name,
                ok: prev.ok && r.ok,
                ...((r.error ?? prev.error) ? { error: r.error ?? prev.error } : {}),
                series: Math.max(prev.series, r.series),
                points: prev.points + r.points,
                anomalies: prev.anomalies + r.anomalies,
                events: [...prev.events, ...r.events],
              }
            : r,
        );
        if (r.ok && partial) again.push(m);
      };
      const failed = (m: MetricConfig, err: unknown): MetricReport => {
        // The state database failed under this metric: report it, go on with the others.
        const error = errorText(err);
        this.deps.log.error({ metric: m.name, err: error }, "evaluation failed");
        return { metric: m.name, ok: false, error, series: 0, points: 0, anomalies: 0, events: [] };
      };
      // Someone acted on an alert of this metric mid-tick: nothing was stored, redo it on fresh state.
      const redo = async (m: MetricConfig, err: AlertConflictError): Promise<{ r: MetricReport; partial: boolean }> => {
        this.deps.log.info({ metric: m.name, alert: err.alertId }, "alert changed during the tick; re-evaluating");
        const fresh = (await this.deps.store.openAlerts()).filter((a) => a.metric === m.name);
        const plan = await this.planFor(m);
        return { r: await this.evaluateMetric(m, fresh, silences, plan, this.fetchAlone, quiet), partial: plan.partial };
      };
      // Metrics waiting on their query run side by side (a few at once), so one slow query holds up no
      // other; a history load's chunks go one metric at a time, so its memory stays that of one grid.
      const loading = [...plans.values()].some((p) => p.fresh);
      const concurrency = loading ? 1 : METRIC_CONCURRENCY;
      const inFlight = new Set<Promise<void>>();
      for (const m of pending) {
        if (quiet.length >= QUIET_BATCH) quietWrites.push(this.writeQuiet(quiet.splice(0), reports));
        const planError = planErrors.get(m.name);
        if (planError !== undefined) {
          record(m, failed(m, new Error(planError)), false);
          continue;
        }
        const plan = plans.get(m.name)!;
        let x: MetricReport | Promise<MetricReport>;
        try {
          x = this.evaluateMetric(m, openByMetric.get(m.name) ?? [], silences, plan, fetch, quiet);
        } catch (err) {
          x = Promise.reject(err);
        }
        if (!(x instanceof Promise)) {
          record(m, x, plan.partial);
          continue;
        }
        const settled: Promise<void> = x
          .then(
            (r) => ({ r, partial: plan.partial }),
            (err: unknown) => (err instanceof AlertConflictError ? redo(m, err) : Promise.reject(err)),
          )
          .then(
            ({ r, partial }) => record(m, r, partial),
            (err: unknown) => record(m, failed(m, err), false),
          )
          .finally(() => inFlight.delete(settled));
        inFlight.add(settled);
        if (inFlight.size >= concurrency) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
      if (quiet.length > 0) quietWrites.push(this.writeQuiet(quiet, reports));
      await Promise.all(quietWrites);
      await recycle(again.length > 0);
      pending = again.filter((m) => reports.get(m.name)?.ok);
    }
    // the counters are told once a tick, from the reports (a series judged in several passes counts once)
    let series = 0;
    let points = 0;
    for (const m of chosen) {
      const r = reports.get(m.name)!;
      report.metrics.push(r);
      if (!r.ok) report.failed.push(m.name);
      series += r.series;
      points += r.points;
    }
    if (series > 0) this.deps.metrics.seriesEvaluated.inc(series);
    if (points > 0) this.deps.metrics.pointsEvaluated.inc(points);
    return report;
  }

  /**
   * Decide every metric's window first, so that metrics sharing a scan can be read by one query,
   * and issue the first of those queries. Never rejects: a metric that cannot be planned is in
   * `planErrors`. Synchronous up to the first metric seen for the first time in this process.
   */
  private async planPass(metrics: readonly MetricConfig[]): Promise<PassPlan> {
    const plans = new Map<string, WindowPlan>();
    const planErrors = new Map<string, string>();
    for (const m of metrics) {
      try {
        const rt = this.runtimeFor(m);
        plans.set(m.name, rt.watermark === null ? await this.planFor(m) : this.planWindow(m, rt, null));
      } catch (err) {
        planErrors.set(m.name, errorText(err));
      }
    }
    return { plans, planErrors, ...this.groupedFetch(metrics, plans) };
  }

  /** Forget the in-memory state of these metrics (another replica took their shard over), storing their watermarks first. */
  async forget(names: Iterable<string>): Promise<void> {
    const list = [...names];
    await this.flushWatermarks(list);
    for (const n of list) this.runtimes.delete(n);
  }

  /** Store the watermarks judged but not stored yet (all, or these metrics'): at shutdown and hand-over. Never throws. */
  async flushWatermarks(names?: readonly string[]): Promise<void> {
    const only = names ? new Set(names) : null;
    const marks = [...this.unsaved]
      .filter(([metric]) => !only || only.has(metric))
      .map(([metric, watermark]) => ({ metric, series: "", watermark }));
    if (marks.length === 0) return;
    try {
      await this.deps.store.advanceWatermarks(marks);
      for (const m of marks) {
        this.unsaved.delete(m.metric);
        const rt = this.runtimes.get(m.metric);
        if (rt) rt.stored = Math.max(rt.stored, m.watermark);
      }
    } catch (err) {
      // the buckets since the stored watermarks are judged again after a restart: nothing is lost
      this.deps.log.warn({ metrics: marks.length, err: errorText(err) }, "storing watermarks failed");
    }
  }

  /** Is a quiet metric's watermark due to be stored: at its phase, or when the stored one lags by the whole period. */
  private quietDue(m: MetricConfig, rt: MetricRuntime, watermark: number): boolean {
    const g = m.granularityMs;
    const k = quietBuckets(g);
    return watermark - rt.stored >= k * g || Math.floor(watermark / g) % k === rt.quietPhase;
  }

  /** One statement for the watermarks of metrics whose tick changed no alert. Never throws. */
  private async writeQuiet(quiet: readonly QuietWrite[], reports: ReadonlyMap<string, MetricReport>): Promise<void> {
    try {
      await this.deps.store.advanceWatermarks(quiet.map((q) => ({ metric: q.metric, series: "", watermark: q.watermark })));
    } catch (err) {
      // Nothing was stored: forget the in-memory progress so the next tick redoes it from the database.
      const error = errorText(err);
      this.deps.log.error({ metrics: quiet.length, err: error }, "storing watermarks failed");
      for (const q of quiet) {
        this.runtimes.delete(q.metric);
        const r = reports.get(q.metric);
        if (r?.ok) {
          r.ok = false;
          r.error = error;
        }
      }
    }
  }

  /**
   * A Fetcher that serves metrics sharing a scan (same table, time column, granularity, filter,
   * split and window) from one query, issued when the first of them is evaluated. If that query
   * fails, each metric is read on its own, so one broken `value` expression fails only its metric.
   *
   * When a group's query is issued, the next group's is too: the database runs that scan while the
   * engine judges this group's metrics. At most two group queries are in flight.
   */
  private groupedFetch(metrics: readonly MetricConfig[], plans: ReadonlyMap<string, WindowPlan>): Pick<PassPlan, "fetch" | "recycle"> {
    const alone = this.fetchAlone;
    const fetchGroup = this.deps.fetchGroup;
    if (!fetchGroup) return { fetch: alone, recycle: async () => {} };
    interface Group {
      metrics: MetricConfig[];
      window: { from: number; to: number };
      /** The group whose query is issued together with this one's. */
      next: Group | null;
      result?: Promise<GroupGrid | null>;
      /** The result once it came, until its values go back (`giveBack`); null: the query failed. */
      grid?: GroupGrid | null;
      /** Members that read it so far; once all have, its values can go back. */
      served: number;
    }
    // By scan key, then by window: metrics of one scan are on one window unless some lag behind.
    const groups = new Map<string, Group[]>();
    let head: Group | null = null;
    let last: Group | null = null;
    const member = new Map<string, { group: Group; index: number }>();
    for (const m of metrics) {
      const plan = plans.get(m.name);
      const key = this.runtimeFor(m).scanKey;
      if (!plan || key === null || plan.from > plan.lastClosed) continue;
      const to = plan.lastClosed + m.granularityMs;
      let same = groups.get(key);
      if (!same) {
        same = [];
        groups.set(key, same);
      }
      let g = same.find((x) => x.window.from === plan.from && x.window.to === to);
      if (!g) {
        g = { metrics: [], window: { from: plan.from, to }, next: null, served: 0 };
        same.push(g);
        if (last) last.next = g;
        else head = g;
        last = g;
      }
      member.set(m.name, { group: g, index: g.metrics.length });
      g.metrics.push(m);
    }
    const start = (g: Group): Promise<GroupGrid | null> => {
      if (g.result) return g.result;
      g.result = fetchGroup(g.metrics, g.window, this.gridSpares.pop()).then(
        (grid): GroupGrid | null => {
          g.grid = grid;
          return grid;
        },
        (err: unknown) => {
          this.deps.log.warn(
            { metrics: g.metrics.map((x) => x.name), err: errorText(err) },
            "shared query failed; reading these metrics one by one",
          );
          g.grid = null;
          return null;
        },
      );
      return g.result;
    };
    // The judging loop reads a grid's values by index and keeps none of them (detector states copy
    // what they need): once the last member of a group is judged, its value array can take the rows
    // of a scan still to come. Metrics are judged one after another, so that is when the next
    // metric asks for its buckets.
    const giveBack = (g: Group): void => {
      const first = g.grid?.values[0];
      g.grid = null;
      if (first && this.gridSpares.length < GRID_SPARES) this.gridSpares.push(new Float64Array(first.buffer));
    };
    let judged: Group | null = null;
    /** The first group from g on that is read by a shared query. */
    const shared = (g: Group | null): Group | null => {
      let x = g;
      while (x && x.metrics.length < 2) x = x.next;
      return x;
    };
    // The first scan goes out at once, while the caller still reads the alert state.
    const first = shared(head);
    if (first) void start(first);
    const fetch: GridFetch = (m, window) => {
      if (judged) giveBack(judged);
      judged = null;
      const mem = member.get(m.name);
      const g = mem?.group;
      if (!mem || !g || g.metrics.length < 2 || g.window.from !== window.from || g.window.to !== window.to) return alone(m, window);
      const result = start(g);
      const next = shared(g.next);
      if (next) void start(next);
      const slice = (grid: GroupGrid | null): MetricGrid | Promise<MetricGrid> => {
        if (++g.served === g.metrics.length) judged = g;
        return (grid && gridSlice(grid, mem.index, m.rowCounts ? groupRowsIndex(g.metrics) : undefined)) ?? alone(m, window);
      };
      // came back already (null: it failed): no promise to wait on
      return g.grid !== undefined ? slice(g.grid) : result.then(slice);
    };
    const recycle = async (again: boolean): Promise<void> => {
      if (!again) {
        this.gridSpares.length = 0;
        return;
      }
      for (const same of groups.values()) {
        for (const g of same) {
          if (!g.result) continue;
          await g.result;
          giveBack(g);
        }
      }
    };
    return { fetch, recycle };
  }

  /** One metric read by its own query. */
  private readonly fetchAlone: GridFetch = async (m, window) => {
    const g = m.granularityMs;
    return pointsToGrid(await this.deps.fetch(m, window), window.from, g, Math.max(0, Math.ceil((window.to - window.from) / g)));
  };

  private runtimeFor(m: MetricConfig): MetricRuntime {
    let rt = this.runtimes.get(m.name);
    if (!rt) {
      rt = {
        config: m,
        signature: JSON.stringify(m),
        detectors: buildDetectors(m),
        series: new Map(),
        watermark: null,
        stored: Number.NEGATIVE_INFINITY,
        quietPhase: nameBucket(m.name, quietBuckets(m.granularityMs)),
        warmUntil: null,
        loading: false,
        scanKey: groupKey(m),
        policy: policyOf(m),
        stateFrom: Number.NEGATIVE_INFINITY,
        fingerprints: { source: fingerprintOf(m.name, "", "source"), noData: fingerprintOf(m.name, "", "no_data") },
      };
      this.runtimes.set(m.name, rt);
    }
    return rt;
  }

  /** planWindow, after reading the stored watermarks when this process has none for the metric yet. */
  private async planFor(m: MetricConfig): Promise<WindowPlan> {
    const rt = this.runtimeFor(m);
    return this.planWindow(m, rt, rt.watermark === null ? await this.deps.store.watermarks(m.name) : null);
  }

  /**
   * Which buckets this tick reads (from..lastClosed) and which of them it judges (after judgeAfter).
   * `stored` = the metric's stored watermarks, needed (only) when rt.watermark is null.
   */
  private planWindow(m: MetricConfig, rt: MetricRuntime, stored: ReadonlyMap<string, number> | null): WindowPlan {
    const now = this.deps.clock.now();
    const g = m.granularityMs;
    const lastClosed = lastClosedBucket(bucketClock(m, now), g, m.delayMs);
    const capacity = Math.max(2, Math.ceil(m.lookbackMs / g));
    // The whole lookback on first sight (history = baseline), else only new buckets.
    let from: number;
    if (rt.watermark === null) {
      if (!stored) throw new Error(`metric ${m.name}: planned without its stored watermarks`);
      const inDb = stored.size > 0 ? Math.max(...stored.values()) : null;
      if (inDb !== null) rt.stored = inDb;
      // judged by this process before its state was rebuilt (config change), not stored yet
      const judged = this.unsaved.get(m.name);
      const w = judged !== undefined && (inDb === null || judged > inDb) ? judged : inDb;
      from = lastClosed - (capacity - 1) * g;
      if (w !== null && w < from)
        this.deps.log.info({ metric: m.name }, "stored watermark is older than lookback; judging only the last closed bucket");
      rt.warmUntil = w !== null && w >= from ? w : lastClosed - g;
      rt.stateFrom = from;
      rt.loading = true;
    } else from = rt.watermark + g;
    // Buckets up to warmUntil only warm the detectors up (history load); they are never judged.
    const judgeAfter = Math.max(from - g, rt.warmUntil ?? Number.NEGATIVE_INFINITY);
    const chunk = chunkBuckets(rt, from);
    const partial = lastClosed - from >= chunk * g;
    const end = partial ? from + (chunk - 1) * g : lastClosed;
    return { now, lastClosed: end, from, judgeAfter, fresh: rt.loading, partial };
  }

  /**
   * One metric's tick: read its buckets, judge them, store what changed. Synchronous (a report, no
   * promise) when its buckets are already here and nothing but a quiet watermark is to be stored,
   * which is every metric of a steady tick but those whose scan is still running or that alert: a
   * tick of 1,000 metrics then makes no promise, generator or microtask per metric.
   */
  private evaluateMetric(
    m: MetricConfig,
    openAlerts: readonly Alert[],
    silences: readonly Silence[],
    plan: WindowPlan,
    fetch: GridFetch,
    quiet: QuietWrite[],
  ): MetricReport | Promise<MetricReport> {
    const { from, lastClosed } = plan;
    const report: MetricReport = { metric: m.name, ok: true, series: 0, points: 0, anomalies: 0, events: [] };
    const x: MetricTick = { m, rt: this.runtimeFor(m), plan, outcomes: new TickOutcomes(openAlerts), report, silences, quiet };
    if (from > lastClosed) return this.conclude(x);
    let got: MetricGrid | Promise<MetricGrid>;
    try {
      got = fetch(m, { from, to: lastClosed + m.granularityMs });
    } catch (err) {
      return this.fetchFailed(x, err);
    }
    if (got instanceof Promise) {
      return got.then(
        (fetched) => this.fetched(x, fetched),
        (err: unknown) => this.fetchFailed(x, err),
      );
    }
    return this.fetched(x, got);
  }

  private fetched(x: MetricTick, fetched: MetricGrid): MetricReport | Promise<MetricReport> {
    const { m, rt, plan, outcomes } = x;
    for (const issue of fetched.issues) {
      const k = `${m.name}\u001f${issue.key}\u001f${issue.kind}`;
      if (this.loggedIssues.has(k)) continue;
      this.loggedIssues.add(k);
      this.deps.log.warn({ metric: m.name, series: issue.key, kind: issue.kind, count: issue.count }, "bad data treated as missing");
    }
    const failing = outcomes.current(rt.fingerprints.source);
    if (failing) outcomes.record(rt.fingerprints.source, clearMeta(failing, plan.now, "query works again"));
    this.judge(m, rt, plan, fetched, outcomes, x.report);
    return this.conclude(x);
  }

  /** The metric's query failed: raise (or keep) its `source` meta-alert; the watermark stays. */
  private async fetchFailed(x: MetricTick, err: unknown): Promise<MetricReport> {
    const { m, rt, plan, outcomes, report } = x;
    const msg = errorText(err);
    this.deps.metrics.sourceErrors.inc({ metric: m.name });
    this.deps.log.error({ metric: m.name, err: msg }, "metric query failed");
    report.ok = false;
    report.error = msg;
    const sourceFp = rt.fingerprints.source;
    const id: Identity = {
      fingerprint: sourceFp,
      kind: "meta",
      metric: m.name,
      series: "",
      detector: "source",
      details: { description: `the query for ${m.name} failed`, runbook: m.runbook },
    };
    outcomes.record(sourceFp, raiseMeta(outcomes.current(sourceFp), id, `query failed: ${msg}`, plan.now));
    await this.persist(m, outcomes.list, null, report, x.silences);
    return report;
  }

  /** After judging: time-driven transitions, then the watermark, quiet (batched, synchronous) or stored with the alerts. */
  private conclude(x: MetricTick): MetricReport | Promise<MetricReport> {
    const { m, rt, plan, outcomes, report } = x;
    const { now, lastClosed, from, judgeAfter } = plan;
    // Time-driven transitions (snooze expiry, reminders) for this metric's open alerts.
    if (!outcomes.empty) {
      for (const [fp, a] of outcomes.entries())
        if (a.kind === "metric" && a.state !== "resolved") outcomes.record(fp, onTime(a, rt.policy, now));
    }
    const newWatermark = from <= lastClosed ? lastClosed : (rt.watermark ?? judgeAfter);
    // A chunk of a history load only warmed the detectors up: stored, it would make a process killed
    // mid-load judge days-old buckets as new at its next start.
    const warmingUp = plan.partial && rt.loading;
    if (!plan.partial) rt.loading = false;
    if (outcomes.list.every((o) => o.alert === null)) {
      // Nothing but the watermark to store: batched with the other quiet metrics of this tick, when it is due.
      rt.watermark = newWatermark;
      if (warmingUp) return report;
      if (this.quietDue(m, rt, newWatermark)) {
        x.quiet.push({ metric: m.name, watermark: newWatermark });
        rt.stored = newWatermark;
        this.unsaved.delete(m.name);
      } else this.unsaved.set(m.name, newWatermark);
      return report;
    }
    return this.persist(m, outcomes.list, warmingUp ? null : newWatermark, report, x.silences).then(
      () => {
        rt.watermark = newWatermark;
        if (!warmingUp) rt.stored = newWatermark;
        this.unsaved.delete(m.name);
        return report;
      },
      (err: unknown) => {
        // Nothing was stored: forget the in-memory progress so the next tick redoes it from the database.
        this.runtimes.delete(m.name);
        throw err;
      },
    );
  }

  /**
   * Step every series of the metric through this tick's buckets and apply the alert policy to
   * what is judged (after plan.judgeAfter); alert changes go to `outcomes`, counts to `report`.
   * Series known from earlier ticks that returned no row this time get missing buckets.
   */
  private judge(
    m: MetricConfig,
    rt: MetricRuntime,
    plan: WindowPlan,
    fetched: MetricGrid,
    outcomes: TickOutcomes,
    report: MetricReport,
  ): void {
    const { now, lastClosed, from, fresh } = plan;
    const g = m.granularityMs;
    const buckets = (lastClosed - from) / g + 1;
    // Bucket b of this tick is bucket b + shift of the fetched grid.
    const shift = (from - fetched.from) / g;
    const off = offBuckets(m, from, buckets);
    const knownBefore = rt.series.size;
    let known = 0;
    let withData = 0;
    const got = fetched.series;
    for (let s = 0; s < got.length; s++) {
      const key = got[s]!.key;
      let sr = rt.series.get(key);
      if (sr) known++;
      else {
        sr = new SeriesRuntime(key, got[s]!.labels, rt.detectors);
        rt.series.set(key, sr);
      }
      sr.lastSeen = now;
      withData += this.judgeSeries(m, rt, sr, plan, buckets, fetched, s * fetched.buckets, shift, off, outcomes, report);
    }
    // Series known from earlier ticks that returned no row this time: their buckets are missing.
    if (known < knownBefore) {
      const seen = new Set(got.map((x) => x.key));
      for (const [key, sr] of [...rt.series]) {
        if (seen.has(key)) continue;
        // Gone for longer than the lookback and with no open alert: forgotten, as a restart would (a split value that churns must not grow memory).
        if (
          sr.lastSeen > 0 &&
          now - sr.lastSeen > m.lookbackMs &&
          !rt.detectors.some((d) => outcomes.current(fingerprintOf(m.name, key, d.family)))
        ) {
          rt.series.delete(key);
          continue;
        }
        if (sr.lastSeen === 0) sr.lastSeen = now;
        withData += this.judgeSeries(m, rt, sr, plan, buckets, null, 0, 0, off, outcomes, report);
      }
    }
    // no_data: buckets were due but not one series had a value in any of them.
    const noDataFp = rt.fingerprints.noData;
    if ((report.points > 0 && withData === 0) || (fresh && !plan.partial && rt.series.size === 0)) {
      const id: Identity = {
        fingerprint: noDataFp,
        kind: "meta",
        metric: m.name,
        series: "",
        detector: "no_data",
        details: { runbook: m.runbook },
      };
      outcomes.record(
        noDataFp,
        raiseMeta(
          outcomes.current(noDataFp),
          id,
          `no data in the last ${report.points === 1 ? "bucket" : `${report.points} bucket-series`} of ${m.name}`,
          now,
        ),
      );
    } else if (withData > 0) {
      const open = outcomes.current(noDataFp);
      if (open) outcomes.record(noDataFp, clearMeta(open, now, "data is flowing again"));
    }
  }

  /**
   * One series through this tick's buckets: bucket b is the grid's values[base + b + shift] when
   * that grid bucket exists, else missing; all missing when the grid is null. Buckets the calendar
   * leaves out (`off`) and thin ones are skipped (bucket-feed.ts). Returns how many judged buckets
   * had a value.
   */
  private judgeSeries(
    m: MetricConfig,
    rt: MetricRuntime,
    sr: SeriesRuntime,
    plan: WindowPlan,
    buckets: number,
    grid: MetricGrid | null,
    base: number,
    shift: number,
    off: Uint8Array | null,
    outcomes: TickOutcomes,
    report: MetricReport,
  ): number {
    const values = grid?.values ?? null;
    const rows = grid?.rows ?? null;
    const available = grid?.buckets ?? 0;
    // most metrics read every bucket as it is: no calendar, no fill, no row counts
    const plain = off === null && rows === null && m.fill === "none";
    const { from, judgeAfter, now } = plan;
    const g = m.granularityMs;
    const onJudged = this.deps.onJudged;
    let judged = 0;
    let withData = 0;
    for (let b = 0; b < buckets; b++) {
      const t = from + b * g;
      const gi = b + shift;
      let x = values !== null && gi >= 0 && gi < available ? values[base + gi]! : Number.NaN;
      // what alerts show: the source's value, where the feed judged a thin bucket's on a shrunk scale
      let shown = x;
      if (!plain) {
        if (off?.[b] === 1) continue;
        const fed = feedValue(m, sr, t, x, rows !== null && gi >= 0 && gi < available ? rows[base + gi]! : Number.NaN);
        if (fed === null) continue;
        if (Number.isNaN(shown)) shown = fed;
        x = fed;
      }
      if (t <= judgeAfter) {
        // history: the detectors learn it, nothing is judged (no verdict objects for 40 M points)
        sr.learn(t, x);
        continue;
      }
      const v0 = Number.isNaN(x) ? null : x;
      let p: Point;
      let verdicts: Verdict[];
      if (onJudged) {
        p = { t, v: v0 };
        verdicts = sr.step(p);
      } else {
        p = this.point;
        p.t = t;
        p.v = v0;
        // with no alert open for the metric, a normal point changes nothing below: its verdict is not built
        verdicts = sr.step(p, this.verdicts, outcomes.empty);
      }
      judged++;
      if (p.v !== null) withData++;
      const flags: boolean[] | null = onJudged ? [] : null;
      for (let i = 0; i < verdicts.length; i++) {
        const v = verdicts[i]!;
        const anomalous = passesPolicy(v, Number.isNaN(shown) ? null : shown, m);
        flags?.push(anomalous);
        if (anomalous) {
          report.anomalies++;
          this.deps.metrics.anomalies.inc({ metric: m.name });
        }
        // The common case, a normal point and no open alert, changes nothing: skip the lifecycle.
        if (!anomalous && outcomes.empty) continue;
        // (made on first need: most series never alert, and a daemon keeps 10,000 of them)
        sr.fingerprints ??= rt.detectors.map((d) => fingerprintOf(m.name, sr.key, d.family));
        const fp = sr.fingerprints[i]!;
        if (!anomalous && outcomes.current(fp) === null) continue;
        const d = rt.detectors[i]!;
        const id: Identity = {
          fingerprint: fp,
          kind: "metric",
          metric: m.name,
          series: sr.key,
          detector: d.family,
          details: {
            description: m.description,
            runbook: m.runbook,
            granularityMs: g,
            labels: sr.labels,
          },
        };
        const obs = {
          bucket: t,
          anomalous,
          value: Number.isNaN(shown) ? null : shown,
          expected: atFloor(v.expected, sr.floor),
          lower: atFloor(v.lower, sr.floor),
          upper: atFloor(v.upper, sr.floor),
          sigmas: v.sigmas,
          reason: v.reason,
        };
        outcomes.record(fp, observe(outcomes.current(fp), id, obs, rt.policy, now));
      }
      if (flags) onJudged?.(m.name, sr.key, p, verdicts, flags);
    }
    if (judged > 0) {
      report.series++;
      report.points += judged;
    }
    return withData;
  }

  /**
   * Raise (on = true) or clear a meta-alert about vigil itself: `config`, `delivery`, `no_data`...
   * It goes through the same lifecycle and outbox as metric alerts.
   */
  async meta(kind: string, on: boolean, reason: string, subject = "vigil", excludeChannel?: string): Promise<void> {
    const { store, clock } = this.deps;
    const fp = fingerprintOf(subject, "", kind);
    const current = (await store.openAlerts()).find((a) => a.fingerprint === fp) ?? null;
    const now = clock.now();
    const id: Identity = { fingerprint: fp, kind: "meta", metric: subject, series: "", detector: kind, details: {} };
    const out = on ? raiseMeta(current, id, reason, now) : clearMeta(current, now, reason);
    if (!out.alert || (out.events.length === 0 && !on)) return;
    // A channel that cannot deliver is not told about itself: the others are.
    const channels = this.metaChannels().filter((c) => c !== excludeChannel);
    await store.write({
      outcomes: [{ alert: out.alert, events: out.events }],
      watermarks: [],
      deliveriesFor: (alert, event, historyId) =>
        event.notify
          ? channels.map((channel) => ({
              channel,
              kind: event.notify ?? "update",
              payload: {
                type: "alert",
                event: event.notify ?? "update",
                alert,
                previousState: event.from,
                actor: event.actor,
                note: event.note,
                at: alert.updatedAt,
              } satisfies AlertNotification,
              key: `${historyId}:${channel}`,
            }))
          : [],
    });
  }

  /**
   * The recent buckets of the metric's series, for the alerts of this tick that need a chart or
   * "same time last week": read from the source, not kept in memory (a week of 10,000 series would
   * be 80 MB held for the few that alert). The chart's window while the tick's budget lasts, else
   * only the buckets a week before the alerts'. Empty when the read fails: the alerts go out
   * without that context rather than not at all.
   */
  private async alertHistory(m: MetricConfig, rt: MetricRuntime | undefined, alerts: readonly Alert[], end: number): Promise<AlertHistory> {
    const buckets = alerts.map((a) => a.bucket).filter((b): b is number => b !== null);
    if (!rt || buckets.length === 0) return NO_HISTORY;
    // a storm: no message of it has a chart, and a filter on thousands of series is a slow query
    if (alerts.length > HISTORY_SERIES_MAX) return NO_HISTORY;
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
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), this.deps.alertHistoryBudgetMs ?? 2000);
      timer.unref();
    });
    try {
      const got = await Promise.race([read, late]);
      if (got === "late") {
        read.catch(() => {}); // abandoned: it ends on its own
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
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Context for a firing alert: the same time last week and, for metrics with `dimensions`, the
   * slices that explain the deviation. Only done when an alert fires.
   */
  private async addContext(m: MetricConfig, alert: Alert, history: AlertHistory, drillUntil: number): Promise<void> {
    if (alert.kind !== "metric" || alert.bucket === null) return;
    const weekAgo = alert.bucket - WEEK_MS;
    const past = history.series.get(alert.series)?.find((p) => p.t === weekAgo)?.v;
    if (past !== undefined && past !== null) alert.details = { ...alert.details, lastWeek: past };
    if (!this.deps.drill || !m.source?.dimensions.length) return;
    const budgetMs = drillUntil - Date.now();
    // (a timer may end a millisecond before Date.now() reaches the deadline: a sliver is no budget)
    if (budgetMs < MIN_DRILL_MS) {
      this.deps.log.debug({ metric: m.name, series: alert.series }, "drill-down budget of the tick spent; alert sent without it");
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      const rt = this.runtimes.get(m.name);
      const filter = rt?.series.get(alert.series)?.labels ?? {};
      const detector = rt?.detectors.find((d) => d.family === alert.detector);
      const drill = this.deps.drill(m, { bucket: alert.bucket, filter, detector, value: alert.value, expected: alert.expected, budgetMs });
      const late = new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), budgetMs);
        timer.unref();
      });
      const drivers = await Promise.race([drill, late]);
      if (drivers === null) {
        drill.catch(() => {}); // its queries carry the same budget as their statement timeout
        this.deps.log.warn({ metric: m.name, series: alert.series }, "drill-down took too long; alert sent without it");
        return;
      }
      const direction = alert.value !== null && alert.expected !== null && alert.value < alert.expected ? "drop" : "rise";
      alert.details = { ...alert.details, drivers, contributors: describeRootCause(drivers, direction) };
    } catch (err) {
      this.deps.log.warn({ metric: m.name, err: scrubSecrets(String(err)) }, "drill-down failed; alert sent without it");
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * addContext for each firing event of an outcome, at the bucket that fired; the alert's later
   * states in the tick and its stored row keep that context, as an alert keeps it across ticks.
   */
  private async addContexts(m: MetricConfig, o: Outcome & { alert: Alert }, history: AlertHistory, drillUntil: number): Promise<void> {
    let fired: Alert | null = null;
    for (const e of o.events) {
      const shown = e.snapshot ?? o.alert;
      if (e.notify === "firing") {
        await this.addContext(m, shown, history, drillUntil);
        fired = shown;
      } else if (fired && shown !== fired) shown.details = { ...shown.details, ...fired.details };
    }
    if (fired && o.alert !== fired) o.alert.details = { ...o.alert.details, ...fired.details };
  }

  /** The chart of an alert (chart-data.ts). Done only when a notification needs it. */
  private chartFor(m: MetricConfig, alert: Alert, history: AlertHistory): ChartData | null {
    const rt = this.runtimes.get(m.name);
    const d = rt?.detectors.find((x) => x.family === alert.detector);
    const points = history.series.get(alert.series) ?? [];
    if (!rt || !d || history.window === null || points.length === 0) return null;
    return alertChart(m, d, points, history.window, alert, rt.series.get(alert.series)?.floor ?? 0);
  }

  /** Meta-alerts go to the default channels and the critical ones; to every channel if none is set. */
  private metaChannels(): string[] {
    const chosen = channelsFor(this.config, this.config.defaults.notify, "critical");
    return chosen.length > 0 ? chosen : Object.keys(this.config.channels);
  }

  private async persist(
    m: MetricConfig,
    outcomes: readonly Outcome[],
    watermark: number | null,
    report: MetricReport,
    silences: readonly Silence[],
  ): Promise<void> {
    const { store, clock } = this.deps;
    const now = clock.now();
    const toStore = outcomes.filter((o): o is Outcome & { alert: Alert } => o.alert !== null);
    // All series of a metric share its bucket grid, so one watermark per metric is enough and keeps
    // the write O(1) per tick however many series there are.
    const watermarks = watermark === null ? [] : [{ metric: m.name, series: "", watermark }];
    const firing = toStore.filter((o) => o.events.some((e) => e.notify === "firing"));
    // Flapping: how often each notifying fingerprint opened in the window (an opening counts itself).
    const notifying = toStore.filter(
      (o) => o.alert.kind === "metric" && o.events.some((e) => e.notify === "firing" || e.notify === "resolved"),
    );
    const opens = await store.opensSince(
      notifying.map((o) => o.alert.fingerprint),
      now - FLAP_WINDOW_MS,
    );
    for (const o of firing) {
      const opensNow = o.events.some((e) => e.notify === "firing" && (e.from === null || e.from === "pending"));
      if (opensNow) opens.set(o.alert.fingerprint, (opens.get(o.alert.fingerprint) ?? 0) + 1);
    }
    const flapping = [...opens].filter(([, k]) => k > FLAP_OPENS).map(([fp]) => fp);
    const flapNoticed = await store.flapNoticesSince(flapping, now - FLAP_WINDOW_MS);
    const load = firing.length > 0 ? await store.channelLoad(now) : new Map();
    const muted = activeMute([...m.mute, ...this.config.mute], now, this.config.timezone) !== undefined;
    // charts and "same time last week" for what notifies now (firing, reminders), each at its own bucket
    const told = toStore.flatMap((o) =>
      o.alert.kind === "metric"
        ? o.events.filter((e) => e.notify === "firing" || e.notify === "reminder").map((e) => e.snapshot ?? o.alert)
        : [],
    );
    const history =
      told.length > 0 && watermark !== null ? await this.alertHistory(m, this.runtimes.get(m.name), told, watermark) : NO_HISTORY;
    // Drill-downs share one budget per metric and tick, a few at a time, so a burst of alerts cannot hold the tick or the pool.
    const drillUntil = Date.now() + (this.deps.drillBudgetMs ?? DRILL_BUDGET_MS);
    const queue = [...firing];
    const worker = async (): Promise<void> => {
      for (let o = queue.shift(); o; o = queue.shift()) await this.addContexts(m, o, history, drillUntil);
    };
    await Promise.all(Array.from({ length: Math.min(DRILL_CONCURRENCY, queue.length) }, worker));
    await store.write({
      outcomes: toStore.map((o) => ({ alert: o.alert, events: o.events })),
      watermarks,
      plan: (events) => {
        for (const e of events) if (e.event.notify) report.events.push({ alert: e.alert, event: e.event });
        return planDeliveries(events, {
          config: this.config,
          metric: m,
          now,
          silences,
          muted,
          load,
          opens,
          flapNoticed,
          chartFor: (alert) => this.chartFor(m, alert, history),
        });
      },
    });
  }
}
