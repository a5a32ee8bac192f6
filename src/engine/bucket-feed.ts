/**
 * What the detectors get for one bucket of a series, from what the source returned. For counts and
 * sums (`fill: zero`) a bucket without rows is 0 where the series normally has rows at that time,
 * and left out where it routinely has none (nights, weekends: a learned calendar), so a zero in the
 * busy part of the day alerts while a quiet night raises nothing. A bucket backed by too few rows
 * for its mean to mean anything (thin) is left out, neither judged nor learned from, so that a
 * one-row night hour neither alerts nor sets the bar for a busy hour; a mean over fewer rows than
 * usual has its deviation from the series' level shrunk by √(rows / usual rows), the standard
 * error's ratio, so its band is in effect that much wider. Where the zero fill is inferred, a series
 * whose buckets long had the same rows behind each (a metrics table: one row per hour and host) has
 * a bucket without rows as missing data, since there it is a gap in the pipeline, not a count of 0.
 */

import { localMs } from "../../detectors/local-time.js";
import { type PresenceState, presenceExpected, presenceLayout, presenceRecord, seededPresence } from "../../detectors/presence.js";
import type { MetricConfig } from "../config/types.js";
import type { Point } from "../model/point.js";
import { bucketStart, detectorZone } from "../sources/bucket-clock.js";
import { dayKinds, HOLIDAY, NO_DAY_KIND, offBuckets, REGIONAL, WEEKDAY, WEEKEND } from "./calendar.js";

/** Per series: what the feed remembers between buckets. */
export interface FeedState {
  seenData: boolean;
  /** Running mean of the rows behind the buckets that had rows (0 = none seen yet). */
  rowsTypical: number;
  /** When the series normally has rows (fill: zero only; made at its first bucket without rows). */
  presence: PresenceState | null;
  /** Local time of its first bucket with rows (fill: zero; NaN before). */
  firstLocal: number;
  /** Robust running level of the values and their typical deviation from it (row-counted series; NaN before the first value). */
  level: number;
  spread: number;
  /** Inferred zero fill: the rows behind the last bucket that had rows, and how many buckets in a row had that many. */
  rowsSame: number;
  rowsRun: number;
  /** Running share of its weekend buckets without rows (NaN before the first one after data). */
  weekendEmpty: number;
  /** The same over its weekday buckets (a count of rare events is often empty on every day). */
  weekdayEmpty: number;
}

/** A series' feed before its first bucket. */
export function newFeedState(): FeedState {
  return {
    seenData: false,
    rowsTypical: 0,
    presence: null,
    firstLocal: Number.NaN,
    level: Number.NaN,
    spread: 0,
    rowsSame: 0,
    rowsRun: 0,
    weekendEmpty: Number.NaN,
    weekdayEmpty: Number.NaN,
  };
}

/** Buckets the running mean of rows reaches back over, roughly. */
const ROWS_MEMORY = 64;
/** Without `min_rows`, a bucket with less than this share of the usual rows is thin. */
const THIN_SHARE = 0.2;
/** Buckets in a row with the same rows behind them that make a series a metrics table's (one row per bucket, or one per host). */
const TABLE_RUN = 48;
/** Days of weekend buckets (about two weekends) the running share of empty ones reaches back over. */
const WEEKEND_MEMORY_DAYS = 4;
/** How much emptier its weekends must be than its weekdays for a series to keep business days. */
const BUSINESS_MARGIN = 0.25;

/**
 * A weekend bucket updates the series' share of empty weekend buckets; an empty bucket on a public
 * holiday is left out (true) when that share says the series keeps business days.
 */
function holidayLeftOut(m: MetricConfig, s: FeedState, kind: number, empty: boolean): boolean {
  if (kind === NO_DAY_KIND || !s.seenData) return false;
  if (kind === WEEKEND || kind === WEEKDAY) {
    const e = empty ? 1 : 0;
    const rate = 1 / Math.max(2, (WEEKEND_MEMORY_DAYS * 86_400_000) / m.granularityMs);
    if (kind === WEEKEND) s.weekendEmpty = Number.isNaN(s.weekendEmpty) ? e : s.weekendEmpty + (e - s.weekendEmpty) * rate;
    // weekdays count at the weekend's pace (five days of them for its two), so both shares reach back about as far
    else s.weekdayEmpty = Number.isNaN(s.weekdayEmpty) ? e : s.weekdayEmpty + (e - s.weekdayEmpty) * rate * 0.4;
    return false;
  }
  // a calendar that judges no weekend day says the same
  return (
    (kind === HOLIDAY || kind === REGIONAL) &&
    empty &&
    (keepsBusinessDays(s) || (m.calendar !== null && !m.calendar.days.includes(5) && !m.calendar.days.includes(6)))
  );
}

/** Its weekends are mostly empty, and clearly emptier than its weekdays (not a count of rare events, empty any day). */
function keepsBusinessDays(s: FeedState): boolean {
  return s.weekendEmpty > 0.5 && !(s.weekendEmpty - BUSINESS_MARGIN < s.weekdayEmpty);
}

/** `x` with its deviation from the series' level scaled by `w`; the level follows the values, each step clipped to a few spreads. */
function shrunk(s: FeedState, x: number, w: number): number {
  s.seenData = true;
  const level = s.level;
  if (Number.isNaN(level)) {
    s.level = x;
    s.spread = 0;
    return x;
  }
  const d = x - level;
  const cap = 3 * s.spread;
  s.level = level + (s.spread > 0 ? Math.max(-cap, Math.min(cap, d)) : d) / ROWS_MEMORY;
  s.spread += (Math.abs(d) - s.spread) / ROWS_MEMORY;
  return w < 1 ? level + d * w : x;
}

/**
 * Bucket `t`: `x` the source's value (NaN = no row or no usable value), `rows` the rows behind it
 * (NaN = not read). Returns the value to judge (NaN = missing), or null to leave the bucket out.
 */
export function feedValue(m: MetricConfig, s: FeedState, t: number, x: number, rows: number, kind = NO_DAY_KIND): number | null {
  if (holidayLeftOut(m, s, kind, Number.isNaN(x))) return null;
  if (rows > 0 && m.fill === "zero") {
    // a count's rows are its signal, never thin; they only tell a metrics table from an event table
    if (rows === s.rowsSame) s.rowsRun++;
    else {
      s.rowsSame = rows;
      s.rowsRun = 1;
    }
  } else if (rows > 0) {
    const typical = s.rowsTypical;
    s.rowsTypical = typical === 0 ? rows : typical + (rows - typical) / ROWS_MEMORY;
    const min = m.minRows ?? THIN_SHARE * typical;
    if (rows < min) return null;
    if (!Number.isNaN(x)) return shrunk(s, x, rows < typical ? Math.sqrt(rows / typical) : 1);
  }
  if (m.fill === "zero") {
    // a series that always has rows needs its wall-clock time only once (its first row): most of them
    if (Number.isNaN(x)) {
      if (!s.seenData) return x;
      const local = localMs(t, detectorZone(m));
      if (s.presence === null) {
        const layout = presenceLayout(m.granularityMs);
        // buckets of a week or more have no slots to learn: every one is a zero
        if (layout === null) return 0;
        // every bucket so far had rows: a profile of all-present, made only now
        s.presence = seededPresence(layout, s.firstLocal, local);
      }
      if (!presenceExpected(s.presence, local)) return null;
      // no rows where a metrics table always has the same rows is a gap in its pipeline, not a count of 0
      return rows === 0 && s.rowsRun >= TABLE_RUN ? Number.NaN : 0;
    }
    if (s.presence !== null) {
      const local = localMs(t, detectorZone(m));
      presenceExpected(s.presence, local);
      presenceRecord(s.presence, local);
    } else if (Number.isNaN(s.firstLocal)) s.firstLocal = localMs(t, detectorZone(m));
  } else if (Number.isNaN(x)) return x;
  s.seenData = true;
  return x;
}

/**
 * One series' buckets [start, start + buckets * g) as the detectors get them, calendar, fill and
 * thin rules applied, in order: `visit(t, fed, shown, rows, kind)` with `fed` the value to judge
 * (NaN = missing), `shown` what an alert shows, `rows` the rows behind it (NaN = not read) and
 * `kind` its day (calendar.ts `dayKinds`). Buckets left out are not visited. For replays (backtest,
 * charts); the daemon's judging loop applies the same rules on its grids.
 */
export function feedSeries(
  m: MetricConfig,
  s: FeedState,
  points: readonly Point[],
  start: number,
  buckets: number,
  visit: (t: number, fed: number, shown: number, rows: number, kind: number) => void,
): void {
  const g = m.granularityMs;
  const off = offBuckets(m, start, buckets);
  const kinds = dayKinds(m, start, buckets);
  const byT = new Map(points.map((p) => [bucketStart(p.t, g), p]));
  for (let b = 0; b < buckets; b++) {
    if (off?.[b] === 1) continue;
    const t = start + b * g;
    const raw = byT.get(t);
    const x = raw?.v ?? Number.NaN;
    // rows only where the metric reads them: a copy tuned to `fill: zero` ignores the counts its history was loaded with
    const rows = m.rowCounts ? (raw === undefined ? 0 : (raw.n ?? Number.NaN)) : Number.NaN;
    const kind = kinds?.[b] ?? NO_DAY_KIND;
    const fed = feedValue(m, s, t, x, rows, kind);
    if (fed !== null) visit(t, fed, Number.isNaN(x) ? fed : x, rows, kind);
  }
}
