/**
 * Each view's bar: an absolute floor, and the largest value the view took over the last `history`
 * points (its history, kept as per-block maxima). A view alerts when it is beyond its bar.
 */
import { ENSEMBLE_LAYOUT, type EnsembleParams, type EnsembleState, NF } from "./ensemble-layout.js";

const { VIEWS, CUR_MAX, HIST_MAX } = ENSEMBLE_LAYOUT.at;

/**
 * Absolute floors per view: even a novel value must be this unusual (robust sigmas of the baseline;
 * × the usual step for volatility; for the gap view, sigmas between the value and its nearest
 * neighbour in the baseline window; a log-ratio for the collapse view). Volatility's is 5× the
 * usual step because a routine burst's steps up and back already move the mean step 3-4×.
 */
export const FLOOR = [4, 3, 2.5, 5, 4, 10, 2] as const;
/**
 * The collapse view's bar never rises above this (the value under 1/33 of its expectation, offsets
 * added): a busy count falling to nothing is an outage however often it has happened before.
 */
export const COLLAPSE_CEILING = 3.5;
/** Views with a history that must be at least this long before they may alert (the seasonal view
 * starts late, and its first residuals are not a trustworthy bar). */
const SEASONAL_MIN_ROWS = 200;
/** The seasonal view's rows are counted within the history: a third of it, at most SEASONAL_MIN_ROWS (a daily metric's 180-row history could never hold 200). */
export function seasonalMinRows(history: number): number {
  return Math.min(SEASONAL_MIN_ROWS, Math.ceil(history / 3));
}
/** View history is kept as per-block maxima (and active counts) of this many rows. */
const HIST_BLOCK = 16;

function histBlock(history: number): number {
  return Math.min(HIST_BLOCK, Math.max(1, history >> 3));
}
export function histBlocks(history: number): number {
  return Math.max(1, Math.floor(history / histBlock(history)));
}

/** Add this point's views to the history (a full block replaces the oldest one). */
export function recordViews(s: EnsembleState, p: EnsembleParams): void {
  const H = p.history;
  const f = s.f;
  for (let k = 0; k < NF; k++) {
    const v = f[VIEWS + k]!;
    if (v > f[CUR_MAX + k]!) f[CUR_MAX + k] = v;
    if (v > f[HIST_MAX + k]!) f[HIST_MAX + k] = v;
  }
  if (f[VIEWS + 4]! > 0) {
    s.seasonCur++;
    s.seasonN++;
  }
  s.rows++;
  if (++s.blkRows === histBlock(H)) closeBlock(s, histBlocks(H));
  s.histN = Math.min(H, s.blkN * histBlock(H) + s.blkRows);
}

/** The block is full: it replaces the oldest one, and the maxima are rescanned (O(blocks)). */
function closeBlock(s: EnsembleState, nb: number): void {
  const f = s.f;
  const row = s.histAt + s.blkHead * NF;
  // views whose maximum may be leaving with the evicted block (stored rounded to float32)
  let rescan = 0;
  for (let k = 0; k < NF; k++) {
    if (s.blkN === nb && s.histBlkMax[row + k]! >= Math.fround(f[HIST_MAX + k]!)) rescan |= 1 << k;
    s.histBlkMax[row + k] = f[CUR_MAX + k]!;
    f[CUR_MAX + k] = 0;
  }
  if (s.blkN === nb) s.seasonN -= s.seasonBlkCnt[s.seasonAt + s.blkHead]!;
  s.seasonBlkCnt[s.seasonAt + s.blkHead] = s.seasonCur;
  s.seasonCur = 0;
  s.blkHead = s.blkHead + 1 === nb ? 0 : s.blkHead + 1;
  if (s.blkN < nb) s.blkN++;
  s.blkRows = 0;
  for (let k = 0; rescan !== 0; k++, rescan >>= 1) {
    if ((rescan & 1) === 0) continue;
    let mx = 0;
    for (let i = s.histAt + k, e = s.histAt + s.blkN * NF; i < e; i += NF) if (s.histBlkMax[i]! > mx) mx = s.histBlkMax[i]!;
    f[HIST_MAX + k] = mx;
  }
}

/**
 * The bar view `k` must pass: its floor (× the robust sigma `sd` for views 0-2) or its history's
 * largest value × the novelty factor, whichever is higher; the collapse view's never above its
 * ceiling. (The step writes the others out: a call costs it.)
 */
export function viewBar(f: Float64Array, sd: number, p: EnsembleParams, k: number): number {
  const bar = Math.max(k < 3 ? FLOOR[k]! * sd : FLOOR[k]!, (k === 0 ? p.novelty_point : p.novelty) * f[HIST_MAX + k]!);
  return k === 6 ? Math.min(bar, COLLAPSE_CEILING) : bar;
}

/** How much faster than the novelty factor a view's history may grow per value in the warm-up. */
const WARM_GROWTH = 2;

/** Views beyond (twice) the bar they would have had to pass are cut back to it (in the warm-up, where nothing alerts). */
export function capToBars(f: Float64Array, sd: number, p: EnsembleParams): void {
  for (let k = 0; k < NF; k++) {
    // twice the bar: what recurs in the warm-up (a weekly low) still reaches its size in a few occurrences
    const bar = Math.max(k < 3 ? FLOOR[k]! * sd : FLOOR[k]!, WARM_GROWTH * (k === 0 ? p.novelty_point : p.novelty) * f[HIST_MAX + k]!);
    if (f[VIEWS + k]! > bar) f[VIEWS + k] = bar;
  }
}

/**
 * Another model took over a view: its old values are not comparable any more. Keep how long the
 * view has been active but cap its past at the floor, so the bar restarts from there.
 */
export function capView(s: EnsembleState, p: EnsembleParams, k: number, cap = FLOOR[k]! / p.novelty): void {
  const end = s.histAt + histBlocks(p.history) * NF;
  for (let i = s.histAt + k; i < end; i += NF) if (s.histBlkMax[i]! > cap) s.histBlkMax[i] = cap;
  if (s.f[CUR_MAX + k]! > cap) s.f[CUR_MAX + k] = cap;
  if (s.f[HIST_MAX + k]! > cap) s.f[HIST_MAX + k] = cap;
}
