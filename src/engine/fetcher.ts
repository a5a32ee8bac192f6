/** What the engine needs from the source layer: the buckets of a metric in a window [from, to). */
import type { MetricConfig } from "../config/types.js";
import { bucketStart } from "../sources/bucket-clock.js";
import type { DataIssue, FetchResult, MemberView } from "../sources/types.js";

/** `series`: only these (by their labels) when the source can filter; every series otherwise. */
export type Fetcher = (
  metric: MetricConfig,
  window: { from: number; to: number },
  series?: ReadonlyArray<Readonly<Record<string, string>>>,
) => Promise<FetchResult>;

/**
 * Several metrics' buckets on one grid: bucket b of every series starts at from + b * stepMs, and
 * `values[i]` (metric i) holds series s's bucket b at s * buckets + b, NaN = missing or unusable.
 */
export interface GroupGrid {
  from: number;
  stepMs: number;
  buckets: number;
  /** Sorted by key. */
  series: ReadonlyArray<{ key: string; labels: Record<string, string> }>;
  values: readonly Float64Array[];
  issues: ReadonlyArray<readonly DataIssue[]>;
  /** A long-format group: metric i's own series and values (then `values` are by aggregate, not by metric). */
  members?: readonly MemberView[];
}

/**
 * Several metrics that share one scan (same table, time column, granularity, filter and split, see
 * `scanKey`) over one window, read at once, on one grid. Throws if the shared query fails; the
 * engine then reads each metric on its own so a broken one fails alone.
 *
 * `reuse`: the value array of a grid the engine is done with (`values[0].buffer` of an earlier
 * one), to decode into when it is large enough, since a history load's many chunks would otherwise
 * pile up arrays until V8's next full collection.
 */
export type GroupFetcher = (
  metrics: readonly MetricConfig[],
  window: { from: number; to: number },
  reuse?: Float64Array,
) => Promise<GroupGrid>;

/** Metrics with equal keys over the same window can be read by one query; null = never grouped (raw SQL). */

/**
 * Start of the last closed bucket: [s, s+g) is closed once now >= s + g + delay. On the grid of
 * bucket-clock.ts; `now` on the metric's bucket clock (`bucketClock`: floating for local days).
 */
export function lastClosedBucket(now: number, granularityMs: number, delayMs: number): number {
  return bucketStart(now - delayMs, granularityMs) - granularityMs;
}
