/**
 * The engine: one evaluation of a set of metrics = fetch the newly closed buckets, run the
 * detectors, apply the alert policy and lifecycle, and store the result together with the
 * deliveries it causes (one transaction per metric). It owns no timers: the scheduler calls it.
 * This file runs a tick's passes; each step is a module of its own.
 */
import type { Clock } from "../clock.js";
import type { MetricConfig, VigilConfig } from "../config/types.js";
import { groupBy } from "../group-by.js";
import type { Logger } from "../log.js";
import { errorText } from "../log.js";
import type { Alert } from "../model/alert.js";
import type { Silence } from "../model/silence.js";
import { AlertConflictError, type StateStore } from "../store/state-store.js";
import type { VigilMetrics } from "../telemetry/metrics.js";
import { AlertContext, type AlertContextDeps } from "./alert-context.js";
import { AlertWriter } from "./alert-writer.js";
import type { Fetcher, GroupFetcher } from "./fetcher.js";
import { GridJudge, type OnJudged } from "./grid-judge.js";
import { fetchAlone, type GridFetch, GridPool, PassScans } from "./grouped-scans.js";
import { MetricRuntimes } from "./metric-runtime.js";
import { MetricTicker, type ReportSoon } from "./metric-tick.js";
import { failedReport, type MetricReport, mergeReports, type TickReport } from "./reports.js";
import { type QuietBatch, Watermarks } from "./watermarks.js";
import { planWindow, type ScanSize, type WindowPlan } from "./window-plan.js";

export interface EngineDeps extends AlertContextDeps {
  store: StateStore;
  fetch: Fetcher;
  /** Reads metrics that share a scan with one query; absent = every metric is read on its own. */
  fetchGroup?: GroupFetcher;
  clock: Clock;
  log: Logger;
  metrics: VigilMetrics;
  onJudged?: OnJudged;
}

/** One pass's windows, the metrics that could not be planned, and how to read them. */
interface PassPlan {
  plans: Map<string, WindowPlan>;
  planErrors: Map<string, string>;
  fetch: GridFetch;
  /** Once every metric of the pass is judged, with whether another pass follows (see PassScans.recycle). */
  recycle: (again: boolean) => Promise<void>;
}

/** What a tick reads once and its passes share: open alerts are read fresh each tick, since chat actions change them. */
interface TickState {
  silences: readonly Silence[];
  openByMetric: Map<string, Alert[]>;
}

/** Metrics of one pass whose queries may be waited on at once. */
const METRIC_CONCURRENCY = 4;

const byMetric = (alerts: readonly Alert[]): Map<string, Alert[]> => groupBy(alerts, (a) => a.metric);

export class Engine {
  private config: VigilConfig;
  private readonly runtimes = new MetricRuntimes();
  private readonly watermarks: Watermarks;
  /** The last pass's quiet watermark writes. */
  private quietWrites: Promise<void> = Promise.resolve();
  private readonly context: AlertContext;
  private readonly writer: AlertWriter;
  private readonly ticker: MetricTicker;
  private readonly pool = new GridPool();
  private readonly alone: GridFetch;
  /** Set by halt(): the tick in flight ends after its current pass. */
  private halted = false;

  constructor(
    config: VigilConfig,
    private readonly deps: EngineDeps,
  ) {
    this.config = config;
    this.alone = fetchAlone(deps.fetch);
    this.watermarks = new Watermarks(deps.store, deps.log, this.runtimes);
    this.context = new AlertContext(deps, this.runtimes);
    this.writer = new AlertWriter(deps.store, deps.clock, () => this.config, this.context);
    const judge = new GridJudge(deps.metrics, deps.onJudged);
    this.ticker = new MetricTicker({ ...deps, runtimes: this.runtimes, watermarks: this.watermarks, writer: this.writer, judge });
  }

  /** Swap the config between ticks; changed metrics rebuild their state from stored history. */
  setConfig(config: VigilConfig): void {
    this.runtimes.keepOnly(config.metrics);
    this.watermarks.keepOnly(config.metrics);
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

  /** Forget the in-memory state of these metrics (another replica took their shard over), storing their watermarks first. */
  async forget(names: Iterable<string>): Promise<void> {
    const list = [...names];
    await this.flushWatermarks(list);
    for (const n of list) this.runtimes.drop(n);
  }

  /** Store the watermarks judged but not stored yet (all, or these metrics'): at shutdown and hand-over. Never throws. */
  async flushWatermarks(names?: readonly string[]): Promise<void> {
    await this.quietWrites;
    await this.watermarks.flush(names);
  }

  /** The last pass's quiet watermarks are written (a tick returns before its last batch is: the next one waits for it). Never throws. */
  settled(): Promise<void> {
    return this.quietWrites;
  }

  /**
   * Raise (on = true) or clear a meta-alert about vigil itself: `config`, `delivery`, `no_data`...
   * It goes through the same lifecycle and outbox as metric alerts.
   */
  meta(kind: string, on: boolean, reason: string, subject = "vigil", excludeChannel?: string): Promise<void> {
    return this.writer.meta(kind, on, reason, subject, excludeChannel);
  }

  /**
   * Evaluate the named metrics (all when omitted). A steady tick is one pass; a history load is cut
   * into chunks, all metrics stepping through one chunk per pass (the detectors keep their state
   * between chunks).
   */
  async evaluate(names?: readonly string[]): Promise<TickReport> {
    // the last tick's final batch of quiet watermarks: a failed one drops runtimes, which nothing may be using
    await this.quietWrites;
    this.context.startTick();
    const wanted = names ? new Set(names) : null;
    const chosen = this.config.metrics.filter((m) => !wanted || wanted.has(m.name));
    // The state is read while the first pass is planned and its first scan is issued.
    const stateRead = Promise.all([this.deps.store.activeSilences(this.deps.clock.now()), this.deps.store.openAlerts()]);
    stateRead.catch(() => undefined); // awaited below, after the first scan is on its way
    const firstPass = this.planPass(chosen);
    const reports = new Map<string, MetricReport>();
    let state: TickState;
    try {
      const [silences, open] = await stateRead;
      state = { silences, openByMetric: byMetric(open) };
    } catch (err) {
      const error = errorText(err);
      this.deps.log.error({ err: error }, "cannot read alert state");
      await firstPass; // nothing of this tick may still run when the next one starts
      for (const m of chosen) reports.set(m.name, failedReport(m.name, error));
      return this.tally(chosen, reports);
    }
    let pending = chosen;
    for (let pass = 0; pending.length > 0; pass++) {
      if (pass > 0 && !(await this.nextPassReady(pending, reports, state))) break;
      const again = await this.runPass(pending, await (pass === 0 ? firstPass : this.planPass(pending)), state, reports);
      pending = again.filter((m) => reports.get(m.name)?.ok);
    }
    return this.tally(chosen, reports);
  }

  /** Before a pass after the first: false when the tick ends here (halted, or the alert state cannot be read), its metrics failed. */
  private async nextPassReady(pending: readonly MetricConfig[], reports: Map<string, MetricReport>, state: TickState): Promise<boolean> {
    const abandon = (error: string): false => {
      for (const m of pending) {
        this.runtimes.drop(m.name);
        const r = reports.get(m.name);
        if (r) Object.assign(r, { ok: false, error });
      }
      return false;
    };
    if (this.halted) {
      this.deps.log.info({ metrics: pending.map((m) => m.name) }, "stopping: history load left for the next start");
      return abandon("vigil stopped before its history load was complete");
    }
    // Earlier passes may have stored alerts: read them again so that they are updated, not duplicated.
    try {
      state.openByMetric = byMetric(await this.deps.store.openAlerts());
      return true;
    } catch (err) {
      return abandon(errorText(err));
    }
  }

  /** One pass over `pending`; returns the metrics with more buckets due (another pass follows). */
  private async runPass(
    pending: readonly MetricConfig[],
    { plans, planErrors, fetch, recycle }: PassPlan,
    state: TickState,
    reports: Map<string, MetricReport>,
  ): Promise<MetricConfig[]> {
    // Quiet metrics only move the watermark: those are written in batches while the pass goes on.
    await this.quietWrites;
    const quiet = this.watermarks.batch(reports);
    const again: MetricConfig[] = [];
    const record = (m: MetricConfig, r: MetricReport, partial: boolean): void => {
      const prev = reports.get(m.name);
      reports.set(m.name, prev ? mergeReports(prev, r) : r);
      if (r.ok && partial) again.push(m);
    };
    // Metrics waiting on their query run side by side (a few at once), so one slow query holds up no
    // other; a history load's chunks go one metric at a time, so its memory stays that of one grid.
    const concurrency = [...plans.values()].some((p) => p.fresh) ? 1 : METRIC_CONCURRENCY;
    const inFlight = new Set<Promise<void>>();
    for (const m of pending) {
      quiet.writeIfFull();
      const planError = planErrors.get(m.name);
      if (planError !== undefined) {
        record(m, this.failed(m, new Error(planError)), false);
        continue;
      }
      const plan = plans.get(m.name)!;
      const soon = this.evaluateMetric(m, plan, fetch, quiet, state);
      if (!(soon instanceof Promise)) {
        record(m, soon, plan.partial);
        continue;
      }
      const settled: Promise<void> = soon
        .then(
          ({ r, partial }) => record(m, r, partial),
          (err: unknown) => record(m, this.failed(m, err), false),
        )
        .finally(() => inFlight.delete(settled));
      inFlight.add(settled);
      if (inFlight.size >= concurrency) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    // the last batch is written while the tick reports and the next one starts, not waited for here
    this.quietWrites = quiet.finish();
    await recycle(again.length > 0);
    return again;
  }

  /** A metric's report with whether more of it is due; a metric whose alert someone changed mid-tick is redone on fresh state. */
  private evaluateMetric(
    m: MetricConfig,
    plan: WindowPlan,
    fetch: GridFetch,
    quiet: QuietBatch,
    state: TickState,
  ): MetricReport | Promise<{ r: MetricReport; partial: boolean }> {
    let soon: ReportSoon;
    try {
      soon = this.ticker.evaluate(m, state.openByMetric.get(m.name) ?? [], state.silences, plan, fetch, quiet);
    } catch (err) {
      soon = Promise.reject(err);
    }
    if (!(soon instanceof Promise)) return soon;
    return soon.then(
      (r) => ({ r, partial: plan.partial }),
      (err: unknown) => (err instanceof AlertConflictError ? this.redo(m, err, state.silences, quiet) : Promise.reject(err)),
    );
  }

  /** Someone acted on an alert of this metric mid-tick: nothing was stored, redo it on fresh state. */
  private async redo(
    m: MetricConfig,
    err: AlertConflictError,
    silences: readonly Silence[],
    quiet: QuietBatch,
  ): Promise<{ r: MetricReport; partial: boolean }> {
    this.deps.log.info({ metric: m.name, alert: err.alertId }, "alert changed during the tick; re-evaluating");
    const fresh = (await this.deps.store.openAlerts()).filter((a) => a.metric === m.name);
    const n = this.runtimes.of(m).series.size;
    const plan = await this.planFor(m, { values: n, rows: n });
    return { r: await this.ticker.evaluate(m, fresh, silences, plan, this.alone, quiet), partial: plan.partial };
  }

  /** The state database failed under this metric: report it, go on with the others. */
  private failed(m: MetricConfig, err: unknown): MetricReport {
    const error = errorText(err);
    this.deps.log.error({ metric: m.name, err: error }, "evaluation failed");
    return failedReport(m.name, error);
  }

  /** The tick's report; the counters are told once a tick (a series judged in several passes counts once). */
  private tally(chosen: readonly MetricConfig[], reports: ReadonlyMap<string, MetricReport>): TickReport {
    const report: TickReport = { metrics: [], failed: [] };
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
    const inScan = this.seriesByScan(metrics);
    for (const m of metrics) {
      try {
        const rt = this.runtimes.of(m);
        const own = { values: rt.series.size, rows: rt.series.size };
        const n = rt.scanKey === null ? own : (inScan.get(rt.scanKey) ?? own);
        plans.set(
          m.name,
          rt.watermark === null ? await this.planFor(m, n) : planWindow(m, rt, this.deps.clock.now(), null, this.deps.log, n),
        );
      } catch (err) {
        planErrors.set(m.name, errorText(err));
      }
    }
    const fetchGroup = this.deps.fetchGroup;
    if (!fetchGroup) return { plans, planErrors, fetch: this.alone, recycle: async () => {} };
    const scans = new PassScans(metrics, plans, this.runtimes, fetchGroup, this.alone, this.pool, this.deps.log);
    return { plans, planErrors, fetch: scans.fetch, recycle: (again) => scans.recycle(again) };
  }

  /**
   * Values and rows per bucket of each shared scan: a history chunk is sized by the whole scan, not
   * one metric. Metrics of a long-format scan each have rows of their own; the others share theirs.
   */
  private seriesByScan(metrics: readonly MetricConfig[]): Map<string, ScanSize> {
    const out = new Map<string, ScanSize>();
    if (!this.deps.fetchGroup) return out;
    for (const m of metrics) {
      const rt = this.runtimes.of(m);
      if (rt.scanKey === null) continue;
      const n = out.get(rt.scanKey) ?? { values: 0, rows: 0 };
      n.values += rt.series.size;
      n.rows = rt.ownRows ? n.rows + rt.series.size : Math.max(n.rows, rt.series.size);
      out.set(rt.scanKey, n);
    }
    return out;
  }

  /** planWindow, after reading the stored watermarks when this process has none for the metric yet. */
  private async planFor(m: MetricConfig, seriesInScan: ScanSize): Promise<WindowPlan> {
    const rt = this.runtimes.of(m);
    const first =
      rt.watermark === null ? { stored: await this.deps.store.watermarks(m.name), unsaved: this.watermarks.unsavedOf(m.name) } : null;
    return planWindow(m, rt, this.deps.clock.now(), first, this.deps.log, seriesInScan);
  }
}
