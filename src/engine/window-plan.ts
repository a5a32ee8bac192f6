/**
 * Which buckets a metric reads in one pass of a tick and which of them it judges. A steady tick reads
 * the buckets closed since the watermark; a history load (first sight) reads the whole lookback in
 * chunks, one per pass, so that memory stays bounded by a chunk instead of lookback × series.
 */
import type { MetricConfig } from "../config/types.js";
import type { Logger } from "../log.js";
import { bucketClock } from "../sources/bucket-clock.js";
import { lastClosedBucket } from "./fetcher.js";
import type { MetricRuntime } from "./metric-runtime.js";

/** A metric's window for one pass: read buckets from..lastClosed, judge those after judgeAfter. */
export interface WindowPlan {
  now: number;
  lastClosed: number;
  from: number;
  judgeAfter: number;
  /** Part of the first sight of this metric in this process (history load). */
  fresh: boolean;
  /** More buckets are due after lastClosed: another pass follows (history load in chunks). */
  partial: boolean;
}

/** Buckets a history load reads per metric per pass, since the rows of the scans in flight are most of the load's memory. */
const CHUNK_BUCKETS = 72;
/** Values one scan of a history load may return: a metric split ten thousand ways reads fewer buckets at a time. */
const CHUNK_VALUES = 100_000;
/** Rows one scan may return: a narrow row costs a driver object, a date and its key strings for its one value. */
const CHUNK_ROWS = 30_000;
/** The first chunk of a load, which learns how many series there are. */
const FIRST_CHUNK = 8;

/** What a scan of a metric returns per bucket: a value per series of every metric sharing it, in `rows` rows. */
export interface ScanSize {
  values: number;
  rows: number;
}

function chunkBuckets(rt: MetricRuntime, from: number, n: ScanSize): number {
  // (a lookback that starts before the data is read in whole chunks until rows come)
  if (n.values === 0) return rt.loading && from === rt.stateFrom ? FIRST_CHUNK : CHUNK_BUCKETS;
  return Math.max(4, Math.min(CHUNK_BUCKETS, Math.floor(CHUNK_VALUES / n.values), Math.floor(CHUNK_ROWS / Math.max(1, n.rows))));
}

/** What is known of a metric seen for the first time in this process: its stored watermarks, and one judged but not stored. */
export interface FirstSight {
  stored: ReadonlyMap<string, number>;
  unsaved: number | undefined;
}

/**
 * The metric's window at `now`. On first sight (rt.watermark null, `first` required) the whole
 * lookback is read, the buckets up to the last judged one only warming the detectors up.
 */
export function planWindow(
  m: MetricConfig,
  rt: MetricRuntime,
  now: number,
  first: FirstSight | null,
  log: Logger,
  scan: ScanSize = { values: rt.series.size, rows: rt.series.size },
): WindowPlan {
  const g = m.granularityMs;
  const lastClosed = lastClosedBucket(bucketClock(m, now), g, m.delayMs);
  let from: number;
  if (rt.watermark === null) {
    if (!first) throw new Error(`metric ${m.name}: planned without its stored watermarks`);
    from = startHistoryLoad(m, rt, lastClosed, first, log);
  } else from = rt.watermark + g;
  // Buckets up to warmUntil only warm the detectors up (history load); they are never judged.
  const judgeAfter = Math.max(from - g, rt.warmUntil ?? Number.NEGATIVE_INFINITY);
  const chunk = chunkBuckets(rt, from, scan);
  const partial = lastClosed - from >= chunk * g;
  const end = partial ? from + (chunk - 1) * g : lastClosed;
  return { now, lastClosed: end, from, judgeAfter, fresh: rt.loading, partial };
}

/** The first bucket of a history load, which is marked on `rt` as started. */
function startHistoryLoad(m: MetricConfig, rt: MetricRuntime, lastClosed: number, first: FirstSight, log: Logger): number {
  const g = m.granularityMs;
  const capacity = Math.max(2, Math.ceil(m.lookbackMs / g));
  const inDb = first.stored.size > 0 ? Math.max(...first.stored.values()) : null;
  if (inDb !== null) rt.stored = inDb;
  // judged by this process before its state was rebuilt (config change), not stored yet
  const judged = first.unsaved;
  const w = judged !== undefined && (inDb === null || judged > inDb) ? judged : inDb;
  const from = lastClosed - (capacity - 1) * g;
  if (w !== null && w < from) log.info({ metric: m.name }, "stored watermark is older than lookback; judging only the last closed bucket");
  rt.warmUntil = w !== null && w >= from ? w : lastClosed - g;
  rt.stateFrom = from;
  rt.loading = true;
  return from;
}
