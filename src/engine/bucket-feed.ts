/**
 * What the detectors get for one bucket of a series, from what the source returned: a bucket
 * without rows is 0 for counts and sums (`fill: zero`) once the series has had data, and a bucket
 * backed by too few rows for its mean to mean anything (thin) is left out, neither judged nor
 * learned from, so that a one-row night hour neither alerts nor sets the bar for a busy hour.
 */
import type { MetricConfig } from "../config/types.js";

/** Per series: what the feed remembers between buckets. */
export interface FeedState {
  seenData: boolean;
  /** Running mean of the rows behind the buckets that had rows (0 = none seen yet). */
  rowsTypical: number;
}

/** Buckets the running mean of rows reaches back over, roughly. */
const ROWS_MEMORY = 64;
/** Without `min_rows`, a bucket with less than this share of the usual rows is thin. */
const THIN_SHARE = 0.2;

/**
 * `x` the source's value (NaN = no row or no usable value), `rows` the rows behind it (NaN =
 * not read). Returns the value to judge (NaN = missing), or null to leave the bucket out.
 */
export function feedValue(m: MetricConfig, s: FeedState, x: number, rows: number): number | null {
  if (rows > 0) {
    const typical = s.rowsTypical;
    s.rowsTypical = typical === 0 ? rows : typical + (rows - typical) / ROWS_MEMORY;
    const min = m.minRows ?? THIN_SHARE * typical;
    if (rows < min) return null;
  }
  if (Number.isNaN(x)) return m.fill === "zero" && s.seenData ? 0 : x;
  s.seenData = true;
  return x;
}
