/**
 * The ensemble's seven views of a point, each written to its slot of `VIEWS` (ensemble-core.ts lists
 * what each one sees), and the rolling baseline the first three are measured from.
 */
import { COLLAPSE_CEILING, capView } from "./ensemble-bars.js";
import { ENSEMBLE_LAYOUT, type EnsembleParams, type EnsembleState, MEDIUM, SHORT, STEPS } from "./ensemble-layout.js";
import { lwDue, lwLowerBound, lwRecenter, lwRefresh } from "./lazy-window.js";
import type { SeasonalExpectation } from "./seasonal-profile.js";
import { MAD_TO_SIGMA, madSorted, quantileSorted, safeScale } from "./stats.js";

const { SHORT_SUM, MED_SUM, STEP_SUM, Z_SEASON, MEDIAN, SD, RANGE, STEP_SCALE, LOW, COLLAPSE_PREV, RUN_N, RUN_E, RUN_X, VIEWS } =
  ENSEMBLE_LAYOUT.at;

/** Baseline points the gap view needs before it has an opinion. */
const GAP_MIN_POINTS = 100;
/** The baseline's float32 offsets are re-centred when the median is this many sigmas from their reference. */
const RECENTER = 1000;

/**
 * Refresh the cached baseline from the sorted windows: median, robust sigma, range and usual step.
 * The baseline moves slowly over a long window, so this runs in batches (a few percent of the
 * window; every point right after a re-baseline).
 */
function refreshBaseline(s: EnsembleState): void {
  const f = s.f;
  const w = s.base;
  lwRefresh(w);
  const sn = w.sn;
  // the window holds offsets from w.ref: the median is w.ref + mRel, spreads need no correction
  const wa = w.at;
  const mRel = quantileSorted(w.sorted, sn, 0.5, wa);
  const m0 = w.ref + mRel;
  // floors keep the scale meaningful when most of the window is one constant value
  const spread = quantileSorted(w.sorted, sn, 0.95, wa) - quantileSorted(w.sorted, sn, 0.05, wa);
  const range0 = w.sorted[wa + sn - 1]! - w.sorted[wa]!;
  f[MEDIAN] = m0;
  f[RANGE] = range0;
  f[LOW] = w.sorted[wa]! + w.ref >= 0 ? w.ref + quantileSorted(w.sorted, sn, 0.05, wa) : Number.NaN;
  const sd0 = safeScale(Math.max(madSorted(w.sorted, sn, mRel, wa) * MAD_TO_SIGMA, 0.05 * spread, 0.01 * range0), m0);
  f[SD] = sd0;
  // the level wandered far from the reference: float32 offsets would lose the digits that matter
  if (Math.abs(mRel) > RECENTER * sd0) lwRecenter(w, mRel);
  const st = s.steps;
  lwRefresh(st);
  f[STEP_SCALE] = safeScale(Math.max(quantileSorted(st.sorted, st.sn, 0.5, st.at), 0.01 * range0), m0);
}

/** Take the seven views of `x`, after refreshing the baseline when it is due. */
export function takeViews(s: EnsembleState, p: EnsembleParams, x: number, se: SeasonalExpectation | null): void {
  if (lwDue(s.base)) refreshBaseline(s);
  const m = s.f[MEDIAN]!;
  const sd = s.f[SD]!;
  spikeView(s.f, x, m);
  shortMeanView(s, m, sd);
  mediumMeanView(s, m, sd);
  volatilityView(s);
  seasonalView(s, p, x, se);
  nearestView(s, x, sd);
  collapseView(s.f, x, se);
}

// Views 0-2 are kept in value units, not sigmas: the median moves slowly but the scale jumps as
// spikes enter and leave the window, and "bigger than anything recently seen" should not.

/** View 0, spikes: the point's distance from the rolling median `m`. */
function spikeView(f: Float64Array, x: number, m: number): void {
  f[VIEWS] = Math.abs(x - m);
}

/** The mean of the last SHORT points against the rolling median `m`, in robust sigmas `sd`. */
export function shortZ(s: EnsembleState, m: number, sd: number): number {
  return (s.f[SHORT_SUM]! / Math.min(SHORT, s.n) - m) / sd;
}

/** View 1, level shifts early: the mean of the last SHORT points against the median. */
function shortMeanView(s: EnsembleState, m: number, sd: number): void {
  s.f[VIEWS + 1] = Math.abs(shortZ(s, m, sd)) * sd;
}

/** The mean of the last MEDIUM points against the rolling median `m`, in robust sigmas `sd`. */
export function mediumZ(s: EnsembleState, m: number, sd: number): number {
  return (s.f[MED_SUM]! / Math.min(MEDIUM, s.n) - m) / sd;
}

/** View 2, small persistent shifts and drifts: the mean of the last MEDIUM points against the median. */
function mediumMeanView(s: EnsembleState, m: number, sd: number): void {
  s.f[VIEWS + 2] = Math.abs(mediumZ(s, m, sd)) * sd;
}

/** View 3, volatility: the mean absolute step of the last STEPS points over the usual step. */
function volatilityView(s: EnsembleState): void {
  const f = s.f;
  f[VIEWS + 3] = f[STEP_SUM]! / Math.min(STEPS, s.n) / f[STEP_SCALE]!;
}

/** View 4, a pattern that broke: the residual against the seasonal expectation `se` (none: 0), in sigmas. */
function seasonalView(s: EnsembleState, p: EnsembleParams, x: number, se: SeasonalExpectation | null): void {
  if (se !== null && se.periodMs !== s.period) {
    // another profile took over (weekly beat daily): the old residuals are no bar for the new ones
    if (s.period !== 0) capView(s, p, 4);
    s.period = se.periodMs;
  }
  const zSeason = se === null ? 0 : (x - se.expected) / se.sigma;
  s.f[Z_SEASON] = zSeason;
  s.f[VIEWS + 4] = Math.abs(zSeason);
}

/** View 5, a value in a range the series never visits: the distance to the nearest value in the baseline window, in sigmas. */
function nearestView(s: EnsembleState, x: number, sd: number): void {
  const w = s.base;
  if (w.sn >= GAP_MIN_POINTS) {
    const xr = x - w.ref;
    const at = lwLowerBound(w, xr);
    const lo = at > 0 ? xr - w.sorted[w.at + at - 1]! : Number.POSITIVE_INFINITY;
    const hi = at < w.sn ? w.sorted[w.at + at]! - xr : Number.POSITIVE_INFINITY;
    s.f[VIEWS + 5] = Math.min(lo, hi) / sd;
  } else s.f[VIEWS + 5] = 0;
}

/** A collapse must also be this many sigmas below its expectation: a sparse count's quiet hour is no outage. */
const COLLAPSE_SIGMAS = 3;
/** The ratio at the collapse view's ceiling. */
const CEILING_RATIO = Math.exp(COLLAPSE_CEILING);
/** A run's collapse counts for at most this, just under the ceiling. */
const RUN_CAP = 0.99 * COLLAPSE_CEILING;

/** What the collapse view adds to both sides of its ratio: the routine lows, so that a night's 1 against 3 is no collapse. */
export function collapseOffset(f: Float64Array): number {
  return Math.max(f[LOW]!, 0.02 * f[MEDIAN]!, 0.01 * f[RANGE]!, 1e-9);
}

/**
 * View 6, a collapse toward zero (an outage of a count): how many times the value is below its
 * expectation (seasonal, else the rolling median), on a log scale, both offset by the routine lows.
 * Only for series that are never negative; 0 for values at or above the expectation.
 */
/** Does `x` alone collapse (below its expectation `e`, `c` the offset): beyond the ceiling, or short of it and beyond the band too? */
export function pointCollapses(f: Float64Array, x: number, e: number, c: number, se: SeasonalExpectation | null): boolean {
  const scale = se === null ? f[SD]! : se.sigma;
  return e - x > COLLAPSE_SIGMAS * scale || e + c >= CEILING_RATIO * (x + c);
}

function collapseView(f: Float64Array, x: number, se: SeasonalExpectation | null): void {
  const e = se === null ? f[MEDIAN]! : se.expected;
  let now = 0;
  if (f[LOW]! >= 0 && x >= 0 && e > x) {
    const c = collapseOffset(f);
    // a fall beyond the ceiling is an outage however wide the band; short of it, it must clear the band too
    if (pointCollapses(f, x, e, c, se)) now = Math.log((e + c) / (x + c));
    // a run of values near zero is one collapse, judged by its sums: hours at 0 of a count whose hours are noisy
    const re = f[RUN_E]! + e;
    const rx = f[RUN_X]! + x;
    f[RUN_N] = f[RUN_N]! + 1;
    f[RUN_E] = re;
    f[RUN_X] = rx;
    // short of the ceiling, so that a run that recurs (a daily pause) is a pattern the history learns
    if (re + c >= CEILING_RATIO * (rx + c)) now = Math.max(now, Math.min(RUN_CAP, Math.log((re + c) / (rx + c))));
  } else {
    f[RUN_N] = 0;
    f[RUN_E] = 0;
    f[RUN_X] = 0;
  }
  // two in a row: one empty bucket is a dropped scrape more often than an outage
  f[VIEWS + 6] = Math.min(now, f[COLLAPSE_PREV]!);
  f[COLLAPSE_PREV] = now;
}
