/**
 * The engine's judging of one metric's grid in one tick: every series stepped through the tick's
 * buckets (history only learned), each judged bucket through the judge step, and the metric's
 * `no_data` meta-alert raised or cleared. Series known from earlier ticks that returned no row this
 * time get missing buckets.
 */
import { localMs } from "../../detectors/local-time.js";
import type { Verdict } from "../../detectors/types.js";
import type { MetricConfig } from "../config/types.js";
import { fingerprintOf } from "../model/alert.js";
import { clearMeta, type Identity, raiseMeta } from "../model/lifecycle.js";
import type { Point } from "../model/point.js";
import { detectorZone } from "../sources/bucket-clock.js";
import type { VigilMetrics } from "../telemetry/metrics.js";
import { feedValue } from "./bucket-feed.js";
import { dayKinds, HOLIDAY, NO_DAY_KIND, offBuckets } from "./calendar.js";
import { judgeVerdicts } from "./judge-step.js";
import type { MetricGrid } from "./metric-grid.js";
import type { MetricRuntime } from "./metric-runtime.js";
import type { MetricReport } from "./reports.js";
import { SeriesRuntime } from "./series-runtime.js";
import type { TickOutcomes } from "./tick-outcomes.js";
import type { WindowPlan } from "./window-plan.js";

/** Sees every judged point's verdicts (backtests, tests); absent in production, so it costs nothing. */
export type OnJudged = (metric: string, series: string, point: Point, verdicts: readonly Verdict[], anomalous: readonly boolean[]) => void;

/** One metric's judging in one tick: what it is judged by and over, and the alerts and counts it changes. */
export interface MetricJudging {
  m: MetricConfig;
  rt: MetricRuntime;
  plan: WindowPlan;
  outcomes: TickOutcomes;
  report: MetricReport;
}

/**
 * The tick's buckets on the grid: bucket b is grid bucket b + shift; `off` marks the buckets the
 * calendar leaves out, `kinds` their weekends and implied holidays (calendar.ts).
 */
interface TickBuckets {
  count: number;
  shift: number;
  off: Uint8Array | null;
  kinds: Uint8Array | null;
}

export class GridJudge {
  /** The point and verdict list handed to the detectors, reused for every point when no `onJudged` listener may keep them. */
  private readonly point: Point = { t: 0, v: null };
  private readonly verdicts: Verdict[] = [];

  constructor(
    private readonly metrics: VigilMetrics,
    private readonly onJudged: OnJudged | undefined,
  ) {}

  judge(x: MetricJudging, grid: MetricGrid): void {
    const { m, rt, plan } = x;
    const g = m.granularityMs;
    const count = (plan.lastClosed - plan.from) / g + 1;
    const buckets: TickBuckets = {
      count,
      shift: (plan.from - grid.from) / g,
      off: offBuckets(m, plan.from, count),
      kinds: dayKinds(m, plan.from, count),
    };
    const knownBefore = rt.series.size;
    let known = 0;
    let withData = 0;
    for (let s = 0; s < grid.series.length; s++) {
      const { key, labels } = grid.series[s]!;
      let sr = rt.series.get(key);
      if (sr) known++;
      else {
        sr = new SeriesRuntime(key, labels, rt.detectors);
        rt.series.set(key, sr);
      }
      sr.lastSeen = plan.now;
      withData += this.judgeSeries(x, buckets, sr, grid, s * grid.buckets);
    }
    if (known < knownBefore) withData += this.judgeAbsent(x, buckets, grid);
    // the presence learns every tick's buckets, whether or not this one asks it
    const due = this.emptyWhenDue(x, buckets, grid);
    this.noData(x, withData, due);
  }

  /**
   * Steps the metric's presence through the tick's buckets (a bucket has data when any series has a
   * value in it); whether a judged bucket without data fell where the metric normally has some.
   */
  private emptyWhenDue(x: MetricJudging, buckets: TickBuckets, grid: MetricGrid): boolean {
    const { m, rt, plan } = x;
    const zone = detectorZone(m);
    // a bucket has data when any series has a value in it: the scan stops at the first one
    const { values, series } = grid;
    let due = false;
    for (let b = 0; b < buckets.count; b++) {
      if (buckets.off?.[b] === 1) continue;
      const t = plan.from + b * m.granularityMs;
      const gi = b + buckets.shift;
      let any = false;
      if (gi >= 0 && gi < grid.buckets) for (let s = 0; s < series.length && !any; s++) any = !Number.isNaN(values[s * grid.buckets + gi]!);
      const expected = rt.presence.step(localMs(t, zone), any);
      if (!any && expected && t > plan.judgeAfter) due = true;
    }
    return due;
  }

  /** Series known from earlier ticks that returned no row this time: their buckets are missing. */
  private judgeAbsent(x: MetricJudging, buckets: TickBuckets, grid: MetricGrid): number {
    const { m, rt, plan, outcomes } = x;
    const seen = new Set(grid.series.map((s) => s.key));
    let withData = 0;
    for (const [key, sr] of [...rt.series]) {
      if (seen.has(key)) continue;
      // Gone for longer than the lookback and with no open alert: forgotten, as a restart would (a split value that churns must not grow memory).
      if (
        sr.lastSeen > 0 &&
        plan.now - sr.lastSeen > m.lookbackMs &&
        !rt.detectors.some((d) => outcomes.current(fingerprintOf(m.name, key, d.family)))
      ) {
        rt.series.delete(key);
        continue;
      }
      if (sr.lastSeen === 0) sr.lastSeen = plan.now;
      withData += this.judgeSeries(x, buckets, sr, null, 0);
    }
    return withData;
  }

  /** no_data: buckets were due, some at a time the metric normally has data (`due`), but not one series had a value in any of them. */
  private noData(x: MetricJudging, withData: number, due: boolean): void {
    const { m, rt, plan, outcomes, report } = x;
    const fp = rt.fingerprints.noData;
    if ((report.points > 0 && withData === 0 && due) || (plan.fresh && !plan.partial && rt.series.size === 0)) {
      const id: Identity = {
        fingerprint: fp,
        kind: "meta",
        metric: m.name,
        series: "",
        detector: "no_data",
        details: { runbook: m.runbook },
      };
      const what = report.points === 1 ? "bucket" : `${report.points} bucket-series`;
      outcomes.record(fp, raiseMeta(outcomes.current(fp), id, `no data in the last ${what} of ${m.name}`, plan.now));
    } else if (withData > 0) {
      const open = outcomes.current(fp);
      if (open) outcomes.record(fp, clearMeta(open, plan.now, "data is flowing again"));
    }
  }

  /**
   * One series through the tick's buckets, from the grid's values at `base` (all missing when the
   * grid is null). Buckets the calendar leaves out and thin ones are skipped (bucket-feed.ts).
   * Returns how many judged buckets had a value.
   */
  private judgeSeries(x: MetricJudging, buckets: TickBuckets, sr: SeriesRuntime, grid: MetricGrid | null, base: number): number {
    const { m, rt, plan, outcomes, report } = x;
    const values = grid?.values ?? null;
    const rows = grid?.rows ?? null;
    const available = grid?.buckets ?? 0;
    const { shift, off, kinds } = buckets;
    // most metrics read every bucket as it is: no calendar, no weekend, no fill, no row counts
    const plain = off === null && kinds === null && rows === null && m.fill === "none";
    const onJudged = this.onJudged;
    let judged = 0;
    let withData = 0;
    for (let b = 0; b < buckets.count; b++) {
      const t = plan.from + b * m.granularityMs;
      const gi = b + shift;
      let value = values !== null && gi >= 0 && gi < available ? values[base + gi]! : Number.NaN;
      // what alerts show: the source's value, where the feed judged a thin bucket's on a shrunk scale
      let shown = value;
      if (!plain) {
        if (off?.[b] === 1) continue;
        const fed = feedValue(
          m,
          sr,
          t,
          value,
          rows !== null && gi >= 0 && gi < available ? rows[base + gi]! : Number.NaN,
          kinds?.[b] ?? NO_DAY_KIND,
        );
        if (fed === null) continue;
        if (Number.isNaN(shown)) shown = fed;
        value = fed;
      }
      if (t <= plan.judgeAfter) {
        // history: the detectors learn it, nothing is judged (no verdict objects)
        sr.learn(t, value);
        continue;
      }
      const p: Point = onJudged ? { t, v: null } : this.point;
      p.t = t;
      p.v = Number.isNaN(value) ? null : value;
      // with no alert open for the metric, a normal point changes nothing: its verdict is not built
      const verdicts = onJudged ? sr.step(p) : sr.step(p, this.verdicts, outcomes.empty);
      judged++;
      if (p.v !== null) withData++;
      const flags: boolean[] | null = onJudged ? [] : null;
      const anomalies = judgeVerdicts(
        rt,
        sr,
        t,
        Number.isNaN(shown) ? null : shown,
        verdicts,
        outcomes,
        plan.now,
        flags,
        kinds?.[b] === HOLIDAY,
      );
      if (anomalies > 0) {
        report.anomalies += anomalies;
        this.metrics.anomalies.inc({ metric: m.name }, anomalies);
      }
      if (flags) onJudged?.(m.name, sr.key, p, verdicts, flags);
    }
    if (judged > 0) {
      report.series++;
      report.points += judged;
    }
    return withData;
  }
}
