/**
 * The ensemble's parameters and state (ensemble-core.ts: what the detector does with them): the
 * numbers of a series laid out in one typed array, from one list of named runs.
 */
import { layout } from "./arena.js";
import type { LazyWindow } from "./lazy-window.js";
import { MISSING_NUMBERS, type MissingState } from "./missing-core.js";
import type { SeasonalProfileState } from "./seasonal-cells.js";

/** The ensemble's parameters, parsed (ensemble.ts: the schema that yields them, with their meaning). */
export interface EnsembleParams {
  window: number;
  history: number;
  warmup: number;
  novelty: number;
  novelty_point: number;
  refractory: number;
  seasonal: boolean;
  missing_after: string | number;
  granularity_ms?: number | undefined;
  /** Zone of the wall clock the seasonal slots follow (absent = UTC). */
  timezone?: string | undefined;
}

/** Number of views (features). */
export const NF = 7;
/** Short windows of views 2, 3 and 4. */
export const SHORT = 5;
export const MEDIUM = 20;
export const STEPS = 10;
/** Points after an alert that decide whether it was a level shift, and the sigmas beyond the band that count. */
export const SHIFT_CHECK = 12;
export const SHIFT_SIGMAS = 3;

/**
 * Where each number lives in `EnsembleState.f`: the scalars that are fractions, then the short
 * arrays (per view, or rings of recent values). The ones every point touches come first, so that
 * a point reads a few adjacent cache lines of its series rather than a dozen separate objects (a
 * daemon steps 10,000 series a tick, none of them in cache).
 */
export const ENSEMBLE_LAYOUT = layout([
  ["PREV", 1],
  ["SHORT_SUM", 1],
  ["MED_SUM", 1],
  ["STEP_SUM", 1],
  // last seasonal residual in sigmas (for the reason)
  ["Z_SEASON", 1],
  // cached baseline: median, robust sigma, range, median step; refreshed with the sorted window
  ["MEDIAN", 1],
  ["SD", 1],
  ["RANGE", 1],
  ["STEP_SCALE", 1],
  // the window's 5% quantile when none of it is negative (the routine lows of a count), else NaN
  ["LOW", 1],
  // the last point's collapse (log-ratio below its expectation; the collapse view takes the smaller of two in a row)
  ["COLLAPSE_PREV", 1],
  // the current run of values below their expectation: how many, and the sums of both (the collapse view judges a run as one)
  ["RUN_N", 1],
  ["RUN_E", 1],
  ["RUN_X", 1],
  // the embedded `missing` detector's numbers
  ["MISSING_AT", MISSING_NUMBERS],
  // per view: this point's value, the maximum in the current history block, the running maximum over the history
  ["VIEWS", NF],
  ["CUR_MAX", NF],
  ["HIST_MAX", NF],
  // rings of the last SHORT and MEDIUM values and the last STEPS absolute steps
  ["SHORT_AT", SHORT],
  ["MEDIUM_AT", MEDIUM],
  ["STEPS_AT", STEPS],
  // the points after an alert (level-shift check) and their seasonal residuals (NaN = no seasonal profile in force)
  ["RECENT", SHIFT_CHECK],
  ["RECENT_RES", SHIFT_CHECK],
  // per view: the values of its last two alerts (kept out of the history) and when (history rows
  // counted by `rows`); a third alert no bigger than both within `history` rows is a recurring
  // pattern, not an incident: it is suppressed and recorded like any other value
  ["SHADOW_V", NF],
  ["SHADOW_AT", NF],
  ["SHADOW_V2", NF],
  ["SHADOW_AT2", NF],
  // the incident the last alert opened, for telling an alert lifecycle that it goes on: its sign
  // (0 = none open), the rolling median and robust sigma before it, whether it was the seasonal
  // view's (then judged against the seasonal expectation), and how far re-baselining has moved
  // that since; it closes at the first value back within SHIFT_SIGMAS / 2 of that frame (the
  // detector itself re-baselines after a level shift and raises no new alert; an open alert stays
  // firing until the series returns)
  ["INC_SIGN", 1],
  ["INC_LEVEL", 1],
  ["INC_SD", 1],
  ["INC_SEASONAL", 1],
  ["INC_SHIFT", 1],
  // the seasonal and collapse views' largest values before it (an outage taken for a new level gives them back when it ends)
  ["INC_HIST", 2],
  // 1 while the current run of empty buckets has alerted (the buckets after that go on with it)
  ["GAP_OPEN", 1],
  // value points before data resuming after a gap may alert again (gaps have a quiet time of their
  // own, so they never blind the value views)
  ["GAP_COOL", 1],
]);

export interface EnsembleState {
  /** The numbers laid out in `ENSEMBLE_LAYOUT`. */
  f: Float64Array;
  /** The baseline window; its sorted copy (median, MAD, quantiles, nearest value) is refreshed in batches. */
  base: LazyWindow;
  /** Absolute steps between consecutive values, same window (their median is the usual step). */
  steps: LazyWindow;
  n: number;
  /**
   * View history, in blocks of `histBlock(history)` rows: per block and view the maximum, ring of
   * `histBlocks(history)` full blocks plus the current one (current maxima in `f`). A run of the
   * state's 4-byte view from `histAt` (the state's arrays share one view per element type).
   */
  histBlkMax: Float32Array;
  histAt: number;
  blkRows: number;
  blkHead: number;
  blkN: number;
  /** Rows of the view history (capped at `history`). */
  histN: number;
  /**
   * Rows of the view history in which the seasonal view was active (non-zero): per block, in the
   * current block, and in all (the seasonal view may alert only after SEASONAL_MIN_ROWS of them).
   * From `seasonAt` in the state's 1-byte view.
   */
  seasonBlkCnt: Uint8Array;
  seasonAt: number;
  seasonCur: number;
  seasonN: number;
  cooldown: number;
  /** Level-shift check after an alert: points seen, sign, how many stayed beyond the band. */
  sinceAlert: number;
  alertSign: number;
  beyond: number;
  rows: number;
  /** Period of the seasonal profile the view history was built with (ms; 0 = none yet). */
  period: number;
  profile: SeasonalProfileState;
  missing: MissingState;
}
