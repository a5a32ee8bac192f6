/**
 * A slice's expected value in an alert's bucket, by the method and over the history its metric's
 * alert used: the slice's buckets of the metric's lookback go through the same feed (calendar,
 * fill and thin rules) to the detector that fired, and its expected value for the alert's bucket
 * is the slice's baseline. Where that detector has no level of its own to offer (min/max limits,
 * missing data, still warming up), the median of the slice's history stands in.
 */

import { medianInPlace } from "../../detectors/stats.js";
import type { MetricConfig } from "../config/types.js";
import type { Point } from "../model/point.js";
import { feedSeries, newFeedState } from "./bucket-feed.js";
import { type DetectorInstance, SeriesRuntime } from "./series-runtime.js";

export interface SliceBaseline {
  /** The slice's value in the alert's bucket (no rows = 0). */
  actual: number;
  /** Its baseline; null = a new slice, with no value in the history. */
  expected: number | null;
}

/** The buckets a metric's detectors see up to `bucket`: its lookback, as the engine loads it. */
export function historyWindow(m: MetricConfig, bucket: number): { from: number; buckets: number } {
  const g = m.granularityMs;
  const buckets = Math.max(2, Math.ceil(m.lookbackMs / g));
  return { from: bucket - (buckets - 1) * g, buckets };
}

/** Whether the detector's expected value is the series' own level (not a configured limit). */
function judgesLevel(d: DetectorInstance): boolean {
  if (d.type === "missing") return false;
  return d.type !== "threshold" || (d.params as { change?: unknown }).change !== undefined;
}

/** `points` are the slice's buckets in the history window of `bucket` (historyWindow). */
export function sliceBaseline(
  m: MetricConfig,
  detector: DetectorInstance | undefined,
  points: readonly Point[],
  bucket: number,
): SliceBaseline {
  const at = points.find((p) => p.t === bucket);
  const actual = at?.v ?? 0;
  if (!points.some((p) => p.t < bucket && p.v !== null)) return { actual, expected: null };
  const { from, buckets } = historyWindow(m, bucket);
  const fed: Point[] = [];
  feedSeries(m, newFeedState(), points, from, buckets, (t, v) => fed.push({ t, v: Number.isNaN(v) ? null : v }));
  const history = fed.flatMap((p) => (p.t < bucket && p.v !== null ? [p.v] : []));
  let expected: number | null = null;
  const last = fed[fed.length - 1];
  if (detector !== undefined && judgesLevel(detector) && last?.t === bucket) {
    // the engine's own stepping: history learned, the alert's bucket judged
    const series = new SeriesRuntime("", {}, [detector]);
    for (let i = 0; i < fed.length - 1; i++) series.learn(fed[i]!.t, fed[i]!.v ?? Number.NaN);
    expected = series.step(last)[0]!.expected;
  }
  if (expected === null || !Number.isFinite(expected))
    expected = history.length > 0 ? medianInPlace(Float64Array.from(history), history.length) : null;
  return { actual, expected };
}
