/**
 * One metric's evaluation in one pass: read its buckets, judge them, then apply the time-driven
 * transitions and store what changed. Synchronous (a report, no promise) when its buckets are
 * already here and only a quiet watermark is left to store, which is most metrics of a steady tick:
 * those then cost no promise or microtask each.
 */
import type { MetricConfig } from "../config/types.js";
import type { Logger } from "../log.js";
import { errorText } from "../log.js";
import type { Alert } from "../model/alert.js";
import { clearMeta, type Identity, onTime, raiseMeta } from "../model/lifecycle.js";
import type { Silence } from "../model/silence.js";
import type { VigilMetrics } from "../telemetry/metrics.js";
import type { AlertWriter } from "./alert-writer.js";
import type { GridJudge, MetricJudging } from "./grid-judge.js";
import type { GridFetch } from "./grouped-scans.js";
import type { MetricGrid } from "./metric-grid.js";
import type { MetricRuntimes } from "./metric-runtime.js";
import { emptyReport, type MetricReport } from "./reports.js";
import { TickOutcomes } from "./tick-outcomes.js";
import type { QuietBatch, Watermarks } from "./watermarks.js";
import type { WindowPlan } from "./window-plan.js";

/** A report now, or later when the metric waits on its query or stores alerts. */
export type ReportSoon = MetricReport | Promise<MetricReport>;

/** One metric's evaluation, handed from step to step (read, judge, store). */
interface MetricTick extends MetricJudging {
  silences: readonly Silence[];
  /** The pass's batch of quiet watermarks. */
  quiet: QuietBatch;
}

export interface MetricTickDeps {
  runtimes: MetricRuntimes;
  watermarks: Watermarks;
  writer: AlertWriter;
  judge: GridJudge;
  metrics: VigilMetrics;
  log: Logger;
}

export class MetricTicker {
  /** (metric, series, kind) data problems already logged, so each is logged once. */
  private readonly loggedIssues = new Set<string>();

  constructor(private readonly deps: MetricTickDeps) {}

  /** Evaluate metric `m` over `plan`: its open alerts and the tick's silences as read at the start of the pass. */
  evaluate(
    m: MetricConfig,
    openAlerts: readonly Alert[],
    silences: readonly Silence[],
    plan: WindowPlan,
    fetch: GridFetch,
    quiet: QuietBatch,
  ): ReportSoon {
    const rt = this.deps.runtimes.of(m);
    const x: MetricTick = { m, rt, plan, outcomes: new TickOutcomes(openAlerts), report: emptyReport(m.name), silences, quiet };
    if (plan.from > plan.lastClosed) return this.conclude(x);
    let grid: MetricGrid | Promise<MetricGrid>;
    try {
      grid = fetch(m, { from: plan.from, to: plan.lastClosed + m.granularityMs });
    } catch (err) {
      return this.fetchFailed(x, err);
    }
    if (grid instanceof Promise) {
      return grid.then(
        (got) => this.fetched(x, got),
        (err: unknown) => this.fetchFailed(x, err),
      );
    }
    return this.fetched(x, grid);
  }

  private fetched(x: MetricTick, grid: MetricGrid): ReportSoon {
    const { m, rt, plan, outcomes } = x;
    for (const issue of grid.issues) {
      const k = `${m.name}\u001f${issue.key}\u001f${issue.kind}`;
      if (this.loggedIssues.has(k)) continue;
      this.loggedIssues.add(k);
      this.deps.log.warn({ metric: m.name, series: issue.key, kind: issue.kind, count: issue.count }, "bad data treated as missing");
    }
    const failing = outcomes.current(rt.fingerprints.source);
    if (failing) outcomes.record(rt.fingerprints.source, clearMeta(failing, plan.now, "query works again"));
    this.deps.judge.judge(x, grid);
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
    const fp = rt.fingerprints.source;
    const id: Identity = {
      fingerprint: fp,
      kind: "meta",
      metric: m.name,
      series: "",
      detector: "source",
      details: { description: `the query for ${m.name} failed`, runbook: m.runbook },
    };
    outcomes.record(fp, raiseMeta(outcomes.current(fp), id, `query failed: ${msg}`, plan.now));
    await this.deps.writer.persist(m, outcomes.list, null, report, x.silences);
    return report;
  }

  /** After judging: time-driven transitions, then the watermark, quiet (batched, synchronous) or stored with the alerts. */
  private conclude(x: MetricTick): ReportSoon {
    const { m, rt, plan, outcomes, report } = x;
    // Time-driven transitions (snooze expiry, reminders) for this metric's open alerts.
    if (!outcomes.empty) {
      for (const [fp, a] of outcomes.entries())
        if (a.kind === "metric" && a.state !== "resolved") outcomes.record(fp, onTime(a, rt.policy, plan.now));
    }
    const watermark = plan.from <= plan.lastClosed ? plan.lastClosed : (rt.watermark ?? plan.judgeAfter);
    // A chunk of a history load only warmed the detectors up: stored, it would make a process killed
    // mid-load judge days-old buckets as new at its next start.
    const warmingUp = plan.partial && rt.loading;
    if (!plan.partial) rt.loading = false;
    if (outcomes.list.every((o) => o.alert === null)) {
      rt.watermark = watermark;
      if (!warmingUp) this.deps.watermarks.quiet(m, rt, watermark, x.quiet);
      return report;
    }
    return this.deps.writer.persist(m, outcomes.list, warmingUp ? null : watermark, report, x.silences).then(
      () => {
        rt.watermark = watermark;
        if (!warmingUp) rt.stored = watermark;
        this.deps.watermarks.stored(m.name);
        return report;
      },
      (err: unknown) => {
        // Nothing was stored: forget the in-memory progress so the next tick redoes it from the database.
        this.deps.runtimes.drop(m.name);
        throw err;
      },
    );
  }
}
