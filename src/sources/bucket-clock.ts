/**
 * Which clock a metric's buckets follow. Buckets shorter than a day are instants on the epoch grid.
 * Buckets of whole days (1d, 7d, ...) of a structured source are local calendar days of the
 * config's `timezone`, each represented by its local date as if it were UTC midnight ("floating"
 * time): the grid stays uniform (every day is 24 floating hours, however long it really was), and
 * the engine judges it on the floating clock `localMs(now)`. Weeks start on Monday.
 */
import { isUtc, localMs, utcMs } from "../../detectors/local-time.js";
import type { MetricConfig } from "../config/types.js";

export const DAY_MS = 86_400_000;
/** Monday 1970-01-05 00:00 (floating): the origin of day and week grids, so that weeks start on Monday. */
export const MONDAY_MS = 4 * DAY_MS;

type Timing = Pick<MetricConfig, "granularityMs" | "source" | "timezone">;

/** Whether buckets of this size are calendar days or weeks (whole days), not instants. */
export function isCalendarGranularity(granularityMs: number): boolean {
  return granularityMs >= DAY_MS && granularityMs % DAY_MS === 0;
}

/** Where the bucket grid of this size starts: Monday for whole days (weeks start on Monday), else the epoch. */
export function gridOrigin(granularityMs: number): number {
  return isCalendarGranularity(granularityMs) ? MONDAY_MS : 0;
}

/** Start of the grid bucket containing t. */
export function bucketStart(t: number, granularityMs: number): number {
  const o = gridOrigin(granularityMs);
  return o + Math.floor((t - o) / granularityMs) * granularityMs;
}

/** The first grid bucket start at or after t. */
export function alignUp(t: number, granularityMs: number): number {
  const o = gridOrigin(granularityMs);
  return o + Math.ceil((t - o) / granularityMs) * granularityMs;
}

/**
 * The zone whose local days the metric's buckets are (floating time), or null when its bucket times
 * are instants: buckets under a day, and raw `query:` metrics, whose SQL the operator writes.
 */
export function calendarZone(m: Timing): string | null {
  return m.source !== undefined && isCalendarGranularity(m.granularityMs) ? (m.timezone ?? "UTC") : null;
}

/** The instant `now` on the metric's bucket clock (floating for local days). */
export function bucketClock(m: Timing, now: number): number {
  const zone = calendarZone(m);
  return zone === null ? now : localMs(now, zone);
}

/** The instant a bucket time stands for (the start of the local day for floating time). */
export function bucketInstant(m: Timing, t: number): number {
  const zone = calendarZone(m);
  return zone === null ? t : utcMs(t, zone);
}

/** An instant as a bucket time of the metric (the floating local time for local days). */
export function toBucketTime(m: Timing, instant: number): number {
  const zone = calendarZone(m);
  return zone === null ? instant : localMs(instant, zone);
}

/**
 * The zone detectors read wall-clock slots in for this metric: its bucket times are already local
 * for local days (UTC then), and instants otherwise (the config's zone then).
 */
export function detectorZone(m: Timing): string | undefined {
  if (calendarZone(m) !== null || isUtc(m.timezone)) return undefined;
  return m.timezone;
}
