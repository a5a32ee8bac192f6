/**
 * When a bucket may be judged. Buckets are aligned to the grid (the epoch; Monday 1970-01-05 for
 * whole days, see bucket-clock.ts), so a bucket [s, s+g) is closed, i.e. complete and final, once
 * now >= s + g + delay; `delay` covers data that lands late (ingestion lag). For local days `now`
 * is the metric's floating clock (`bucketClock`).
 */
import type { MetricConfig } from "../config/types.js";
import { bucketStart } from "./bucket-clock.js";

export { bucketStart };

type Timing = Pick<MetricConfig, "granularityMs" | "delayMs">;

/** Every bucket that starts before the returned time is closed; the bucket starting at it is not (yet). */
export function closedBefore(metric: Timing, now: number): number {
  return bucketStart(now - metric.delayMs, metric.granularityMs);
}

/**
 * Whether the bucket starting at `start` is closed. Unlike closedBefore this does not assume epoch
 * alignment, so it also holds for raw queries that bucket differently (e.g. weeks starting on Monday).
 */
export function isBucketClosed(metric: Timing, start: number, now: number): boolean {
  return now >= start + metric.granularityMs + metric.delayMs;
}
