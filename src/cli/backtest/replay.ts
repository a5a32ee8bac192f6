/**
 * Replays a metric's detectors and alert policy over stored history, in streaming order, with the
 * same code the daemon runs (detector registry, the judge step, lifecycle) but nothing stored or sent.
 */

import type { Verdict } from "../../../detectors/types.js";
import type { MetricConfig } from "../../config/types.js";
import type { Database } from "../../db/database.js";
import type { Band } from "../../engine/band-floor.js";
import { feedSeries } from "../../engine/bucket-feed.js";
import { buildDetectors } from "../../engine/build-detectors.js";
import { HOLIDAY } from "../../engine/calendar.js";
import { lastClosedBucket } from "../../engine/fetcher.js";
import { type AlertBook, type JudgeRules, judgeVerdicts } from "../../engine/judge-step.js";
import { policyOf } from "../../engine/metric-runtime.js";
import { SeriesRuntime } from "../../engine/series-runtime.js";
import type { Alert } from "../../model/alert.js";
import type { Observation, Outcome } from "../../model/lifecycle.js";
import type { Point } from "../../model/point.js";
import { alignUp, bucketClock } from "../../sources/bucket-clock.js";
import { fetchBuckets, type SeriesBatch } from "../../sources/index.js";

export interface BacktestAlert {
  series: string;
  detector: string;
  /** `missing` when it fired on absent data, `value` otherwise. */
  kind: "value" | "missing";
  /** Bucket where it started firing. */
  firedAt: number;
  /** Bucket where it resolved, null if still open at the end. */
  resolvedAt: number | null;
  value: number | null;
  expected: number | null;
  lower: number | null;
  upper: number | null;
  peakDeviation: number | null;
  sigmas: number | null;
  reason: string;
  /** Rows behind the bucket where it fired (sources that count them), else null. */
  rows: number | null;
  /** Its anomalous buckets, as runs [first, last] (AlertDetails.anomalous): what a chart marks. */
  anomalous: Array<[number, number]>;
}

/** One judged bucket of a series: the value shown, each detector's band (as it judged, unfloored) and the band's floor then. */
export interface TracePoint {
  p: Point;
  bands: Band[];
  floor: number;
}

export interface BacktestResult {
  metric: string;
  from: number;
  to: number;
  series: number;
  points: number;
  alerts: BacktestAlert[];
  /** Per series: the judged buckets with each detector's band, for charts. */
  traces: Map<string, TracePoint[]>;
}

export async function loadHistory(db: Database, m: MetricConfig, from: number, to: number): Promise<SeriesBatch[]> {
  return (await fetchBuckets(db, m, { from, to })).series;
}

/** A replayed series' alerts: each that fires adds a BacktestAlert to `alerts`, kept up to date until it resolves. */
class ReplayAlerts implements AlertBook {
  private readonly open = new Map<string, { alert: Alert; record: BacktestAlert | null }>();
  /** Rows behind the bucket being judged (NaN: not read). */
  rows = Number.NaN;

  constructor(private readonly alerts: BacktestAlert[]) {}

  get empty(): boolean {
    return this.open.size === 0;
  }

  current(fingerprint: string): Alert | null {
    return this.open.get(fingerprint)?.alert ?? null;
  }

  record(fingerprint: string, out: Outcome, verdict: Verdict, o: Observation): void {
    if (!out.alert) return;
    const cur = this.open.get(fingerprint);
    let record = cur && cur.alert.state !== "resolved" ? cur.record : null;
    for (const ev of out.events) {
      if (ev.notify === "firing") {
        record = {
          series: out.alert.series,
          detector: out.alert.detector,
          kind: verdict.kind === "missing" ? "missing" : "value",
          firedAt: o.bucket,
          resolvedAt: null,
          value: o.value,
          expected: o.expected,
          lower: o.lower,
          upper: o.upper,
          peakDeviation: out.alert.peakDeviation,
          sigmas: o.sigmas,
          reason: o.reason,
          rows: Number.isNaN(this.rows) ? null : this.rows,
          anomalous: [],
        };
        this.alerts.push(record);
      }
      if (ev.to === "resolved" && record) record.resolvedAt = o.bucket;
    }
    if (record && out.alert.state !== "resolved") {
      record.peakDeviation = out.alert.peakDeviation;
      record.anomalous = out.alert.details.anomalous ?? [];
    }
    this.open.set(fingerprint, { alert: out.alert, record });
  }
}

/**
 * Replay over already-fetched series (pure: no I/O). The buckets before `judgeFrom` only warm the
 * detectors up, as a daemon's history load does; alerts are judged from there on. Buckets go
 * through the same calendar, fill and thin-bucket rules as in the daemon.
 */
export function replay(
  m: MetricConfig,
  series: readonly SeriesBatch[],
  from: number,
  to: number,
  keepTraces = false,
  judgeFrom = from,
): BacktestResult {
  const g = m.granularityMs;
  const rules: JudgeRules = { config: m, detectors: buildDetectors(m), policy: policyOf(m) };
  const result: BacktestResult = {
    metric: m.name,
    from: Math.max(from, judgeFrom),
    to,
    series: series.length,
    points: 0,
    alerts: [],
    traces: new Map(),
  };
  const start = alignUp(from, g);
  const buckets = Math.max(0, Math.ceil((to - start) / g));
  for (const s of series) {
    const sr = new SeriesRuntime(s.key, s.labels, rules.detectors);
    const alerts = new ReplayAlerts(result.alerts);
    const trace: TracePoint[] = [];
    feedSeries(m, sr, s.points, start, buckets, (t, fed, shown, rows, kind) => {
      if (t < judgeFrom) {
        sr.learn(t, fed);
        return;
      }
      const verdicts = sr.step({ t, v: Number.isNaN(fed) ? null : fed });
      // what the alert and chart show: the source's value
      const p: Point = { t, v: Number.isNaN(shown) ? null : shown };
      result.points++;
      if (keepTraces)
        trace.push({ p, bands: verdicts.map((v) => ({ expected: v.expected, lower: v.lower, upper: v.upper })), floor: sr.floor });
      alerts.rows = rows;
      // a replay's clock is the bucket's close
      judgeVerdicts(rules, sr, t, p.v, verdicts, alerts, t + g + m.delayMs, null, kind === HOLIDAY);
    });
    if (keepTraces) result.traces.set(s.key, trace);
  }
  result.alerts.sort((a, b) => a.firedAt - b.firedAt || a.series.localeCompare(b.series));
  return result;
}

/** Default window: the metric's lookback up to the last closed bucket (in bucket time: floating for local days). */
export function defaultWindow(m: MetricConfig, now: number): { from: number; to: number } {
  const to = lastClosedBucket(bucketClock(m, now), m.granularityMs, m.delayMs) + m.granularityMs;
  return { from: to - m.lookbackMs, to };
}
