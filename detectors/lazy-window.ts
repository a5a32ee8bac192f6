/**
 * A sliding window whose sorted copy is brought up to date in batches: pushes go to the ring only,
 * and `lwRefresh` merges the values that arrived (and drops the ones that left) since the last
 * refresh in one linear pass. The sorted copy, and whatever is read from it, lags the ring by at
 * most `lwDue` pushes: a few percent of the window, never more than `batch`. Finite values only.
 *
 * Compact by design (the ensemble keeps two per series, and a daemon keeps 10,000 series): values
 * are float32 offsets from a reference level `ref` (the first value pushed into an empty window,
 * or 0 for a window of magnitudes), so 4 bytes a value keep ~7 significant digits of the deviation
 * from the level rather than of the level itself — a counter at 1e9 moving by ±3 stays exact. The
 * arrays are carved from the owner's arena (one buffer per detector state). The merge writes into
 * a spare buffer shared by every window of the same capacity (refreshes are synchronous) and is
 * copied back in one native copy. Readers add `ref` to what they read (`sorted[i] + ref`), or
 * subtract it from what they compare.
 */
import { type Arena, type ArenaPlan, arenaOr } from "./arena.js";
import { insertionSort, lowerBoundIn, ZERO } from "./stats.js";

export interface LazyWindow {
  cap: number;
  /** Values in the ring (≤ cap). */
  n: number;
  head: number;
  /**
   * The window's one array. From 0, the sorted copy of the ring as of the last refresh:
   * `sorted[0..sn)`, then +∞ (a sentinel for the merge); so readers of sorted values read it
   * directly. Then, at the offsets below: the index, the ring, the evicted values. One view for
   * all four, because a daemon steps 10,000 windows a tick, none in cache, and every view object
   * is one more cache line a point reads.
   */
  sorted: Float32Array;
  sn: number;
  /**
   * At `indexAt`: every INDEX_STEP-th value of the sorted copy (`sorted[k × INDEX_STEP]`);
   * `lwLowerBound` searches it first, then one short run of the sorted copy, so a lookup reads a
   * few adjacent cache lines rather than halving its way across the whole window.
   */
  indexAt: number;
  /** At `ringAt`: the offsets from `ref`, in arrival order (`cap` of them). */
  ringAt: number;
  /** Pushes since the last refresh, and the offsets they evicted (at `goneAt`, `ng` of them). */
  pend: number;
  goneAt: number;
  ng: number;
  /** Most pushes between two refreshes, and the fraction of the window (as a shift) that may lag. */
  batch: number;
  lagShift: number;
  /** Level the offsets are taken from; set by the first push into an empty window when `relative`. */
  ref: number;
  relative: boolean;
}

const BATCH = 32;
const LAG_SHIFT = 4;
const INDEX_STEP = 16;

function indexSize(cap: number): number {
  return Math.ceil(cap / INDEX_STEP);
}

/** Reserve a window of `cap` values in an arena plan (see `lazyWindow`). */
export function planLazyWindow(plan: ArenaPlan, cap: number, batch = BATCH): void {
  plan.f32 += 2 * cap + 1 + batch + indexSize(cap);
}

/**
 * A window of `cap` values whose sorted copy may lag by up to `batch` pushes and `cap >> lagShift`
 * (at least one). `relative`: store offsets from the first value (levels); else from 0 (magnitudes).
 * Its arrays come from `arena` (reserved with `planLazyWindow`), or from a buffer of its own.
 */
export function lazyWindow(cap: number, relative: boolean, arena?: Arena, batch = BATCH, lagShift = LAG_SHIFT): LazyWindow {
  const a = arenaOr(arena, (plan) => planLazyWindow(plan, cap, batch));
  const indexAt = cap + 1;
  const ringAt = indexAt + indexSize(cap);
  const goneAt = ringAt + cap;
  const sorted = a.f32(goneAt + batch);
  sorted.fill(Number.POSITIVE_INFINITY, 0, indexAt);
  return {
    cap,
    n: 0,
    head: 0,
    sorted,
    sn: 0,
    indexAt,
    ringAt,
    pend: 0,
    goneAt,
    ng: 0,
    batch,
    lagShift,
    ref: ZERO,
    relative,
  };
}

/** Push a finite value (evicting the oldest when full). Call `lwDue`/`lwRefresh` to sort it in. */
export function lwPush(w: LazyWindow, x: number): void {
  // the value evicted must already be in the sorted copy, and `gone` holds at most `batch`
  if (w.pend >= w.batch || w.pend >= w.cap) lwRefresh(w);
  const b = w.sorted;
  const at = w.ringAt + w.head;
  if (w.n === w.cap) b[w.goneAt + w.ng++] = b[at]!;
  else {
    if (w.n === 0 && w.relative) w.ref = x;
    w.n++;
  }
  b[at] = x - w.ref;
  w.head = w.head + 1 === w.cap ? 0 : w.head + 1;
  w.pend++;
}

/** Is a refresh due: the pushes not yet sorted in are `batch`, or the allowed fraction of the window (≥ 1). */
export function lwDue(w: LazyWindow): boolean {
  return w.pend > 0 && w.pend >= Math.min(w.batch, Math.max(1, w.sn >> w.lagShift));
}

export function lwClear(w: LazyWindow): void {
  w.n = 0;
  w.head = 0;
  w.sn = 0;
  w.sorted[0] = Number.POSITIVE_INFINITY;
  w.pend = 0;
  w.ng = 0;
}

/**
 * Move the reference level by `delta` (right after a refresh: nothing pending). Every offset is
 * rewritten with the same float32 rounding in the ring and the sorted copy, so they still match
 * value for value, and the order is kept (rounding is monotonic). For a level that wandered far
 * from `ref`, where float32 offsets would lose the digits that matter.
 */
export function lwRecenter(w: LazyWindow, delta: number): void {
  if (w.pend !== 0) lwRefresh(w);
  const f = Math.fround(delta);
  const b = w.sorted;
  for (let i = w.ringAt; i < w.ringAt + w.n; i++) b[i] = b[i]! - f;
  for (let i = 0; i < w.sn; i++) b[i] = b[i]! - f;
  w.ref += f;
  reindex(w);
}

/** The merge target per capacity, shared by every window of that capacity (copied back into the window's sorted copy). */
const spares = new Map<number, Float32Array>();
/** Pending values and the values they evicted, sorted before the merge (shared too). */
let fresh = new Float32Array(64);
let gone = new Float32Array(64);

/**
 * Merge the pending pushes into the sorted copy (and drop what they evicted): O(batch log batch +
 * window). The pending values are written back to the ring sorted: the window still holds the last
 * `cap` values, only their order within a batch is lost, and the values a later refresh finds
 * evicted come (nearly) sorted.
 */
export function lwRefresh(w: LazyWindow): void {
  const pend = w.pend;
  if (pend === 0) return;
  const cap = w.cap;
  const s = w.sorted;
  const ringAt = w.ringAt;
  if (fresh.length < pend) fresh = new Float32Array(pend);
  // the pending values are the last `pend` in the ring
  const j0 = w.head - pend < 0 ? w.head - pend + cap : w.head - pend;
  let j = j0;
  for (let i = 0; i < pend; i++) {
    fresh[i] = s[ringAt + j]!;
    j = j + 1 === cap ? 0 : j + 1;
  }
  // a batch is a few dozen values: insertion sort beats the native sort's set-up by far
  insertionSort(fresh, pend);
  j = j0;
  for (let i = 0; i < pend; i++) {
    s[ringAt + j] = fresh[i]!;
    j = j + 1 === cap ? 0 : j + 1;
  }
  const ng = w.ng;
  if (gone.length < ng) gone = new Float32Array(ng);
  for (let i = 0; i < ng; i++) gone[i] = s[w.goneAt + i]!;
  insertionSort(gone, ng);
  let out = spares.get(cap);
  if (!out) {
    out = new Float32Array(cap + 1);
    spares.set(cap, out);
  }
  const sn = w.sn;
  // one linear merge; the events are few, so the copy between two of them is a tight loop: values
  // below both the next removal and the next insertion move as they are (the +∞ after the last
  // value ends the loop without a bounds test)
  let o = 0;
  let a = 0;
  let g = 0;
  let na = fresh[0]!;
  // +∞ when no removal is left (a value that is not found ends the removals, as a walk would)
  let gv = ng > 0 ? gone[0]! : Number.POSITIVE_INFINITY;
  let lim = Math.min(gv, na);
  let i = 0;
  while (i < sn) {
    let v = s[i]!;
    while (v < lim) {
      out[o++] = v;
      v = s[++i]!;
    }
    if (i === sn) break;
    if (v < gv && v <= na) {
      // equal to the next insertion: the old value goes first
      out[o++] = v;
      i++;
    } else if (na < v) {
      // insertion before v (when v is also the next removal, inserting first changes nothing)
      out[o++] = na;
      a++;
      na = a < pend ? fresh[a]! : Number.POSITIVE_INFINITY;
    } else if (v === gv) {
      i++;
      g++;
      gv = g < ng ? gone[g]! : Number.POSITIVE_INFINITY;
    } else {
      // v > gv: the removal is not in the window; none after it is removed either
      gv = Number.POSITIVE_INFINITY;
    }
    lim = Math.min(gv, na);
  }
  while (a < pend) out[o++] = fresh[a++]!;
  out[o] = Number.POSITIVE_INFINITY;
  // the window keeps its own array (it lives in its owner's arena): one native copy back, of the
  // sorted copy's part only
  s.set(out);
  w.sn = o;
  w.pend = 0;
  w.ng = 0;
  reindex(w);
}

function reindex(w: LazyWindow): void {
  const s = w.sorted;
  for (let k = w.indexAt, i = 0; i < w.sn; k++, i += INDEX_STEP) s[k] = s[i]!;
}

/** The ring's offsets from `ref` (a view, in arrival order up to the order within a batch). */
export function lwRing(w: LazyWindow): Float32Array {
  return w.sorted.subarray(w.ringAt, w.ringAt + w.n);
}

/**
 * The first position in the sorted copy whose value is ≥ `x` (an offset from `ref`), or `sn`:
 * `lowerBoundIn(w.sorted, 0, w.sn, x)`, found through the index.
 */
export function lwLowerBound(w: LazyWindow, x: number): number {
  const sn = w.sn;
  // c index entries are below x: the answer is past sorted[(c − 1) × STEP] and at most sorted[c × STEP]
  const c = lowerBoundIn(w.sorted, w.indexAt, w.indexAt + Math.ceil(sn / INDEX_STEP), x) - w.indexAt;
  if (c === 0) return 0;
  return lowerBoundIn(w.sorted, (c - 1) * INDEX_STEP + 1, Math.min(c * INDEX_STEP, sn), x);
}
