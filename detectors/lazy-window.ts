/**
 * A sliding window whose sorted copy is brought up to date in batches: pushes wait in a short
 * pending list, and `lwRefresh` merges them into the sorted copy (and drops the values that left)
 * in one linear pass. The sorted copy, and whatever is read from it, lags the pushes by at most
 * `lwDue` of them: a few percent of the window, never more than `batch`. Finite values only.
 *
 * There is no ring of values in arrival order: each value in the sorted copy carries a 16-bit stamp
 * (its push count, modulo 2^16), and a refresh drops the ones more than `cap` pushes old. Within a
 * batch the stamps are given in sorted order, so a batch leaves the window smallest value first;
 * the window is the last `cap` values up to the order within a batch.
 *
 * Compact by design (the ensemble keeps two per series, and a daemon keeps 10,000 series): values
 * are float32 offsets from a reference level `ref` (the first value pushed into an empty window,
 * or 0 for a window of magnitudes), so 4 bytes a value keep ~7 significant digits of the deviation
 * from the level rather than of the level itself — a counter at 1e9 moving by ±3 stays exact; with
 * its stamp a value costs 6 bytes. Values and stamps are runs of the views of the owner's arena
 * (one buffer per detector state, one view per element type). The merge writes into spare buffers shared by every
 * window of the same capacity (refreshes are synchronous) and is copied back in two native copies.
 * Readers add `ref` to what they read (`sorted[at + i] + ref`), or subtract it from what they compare.
 */
import { type Arena, type ArenaPlan, arenaOr } from "./arena.js";
import { insertionSort, lowerBoundIn, mutableFields, ZERO } from "./stats.js";

export interface LazyWindow {
  cap: number;
  /** Values in the window (≤ cap), pending ones included. */
  n: number;
  /**
   * The owner's 4-byte view (its arena's: shared with the owner's other parts). From `at`, the
   * sorted copy as of the last refresh: `sorted[at..at + sn)`, then +∞ (a sentinel for the merge);
   * so readers of sorted values read it directly, from `at`. Then, at the offsets below: the index
   * and the pending pushes. One view for all of them and for the owner's other arrays, because a
   * daemon steps 10,000 windows a tick, none in cache, and every view object is one more cache line
   * a point reads (and 100 bytes a series keeps).
   */
  sorted: Float32Array;
  at: number;
  sn: number;
  /** The stamp of each value of the sorted copy (`stamps[stampAt + i]` goes with `sorted[at + i]`), in the owner's 2-byte view. */
  stamps: Uint16Array;
  stampAt: number;
  /**
   * At `indexAt`: every INDEX_STEP-th value of the sorted copy (`sorted[at + k × INDEX_STEP]`);
   * `lwLowerBound` searches it first, then one short run of the sorted copy, so a lookup reads a
   * few adjacent cache lines rather than halving its way across the whole window.
   */
  indexAt: number;
  /** At `pendAt`: the offsets pushed since the last refresh, `pend` of them, in arrival order. */
  pendAt: number;
  pend: number;
  /** Pushes merged so far, modulo 2^16: the next pending value's stamp. */
  stamp: number;
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
const STAMP_MASK = 0xffff;
/** Largest window: stamps are 16 bits, and a value may stay `batch` pushes past its eviction. */
export const LAZY_WINDOW_MAX = 60_000;

function indexSize(cap: number): number {
  return Math.ceil(cap / INDEX_STEP);
}

/** Reserve a window of `cap` values in an arena plan (see `lazyWindow`). */
export function planLazyWindow(plan: ArenaPlan, cap: number, batch = BATCH): void {
  plan.f32 += cap + 1 + indexSize(cap) + batch;
  plan.u16 += cap;
}

/**
 * A window of `cap` values whose sorted copy may lag by up to `batch` pushes and `cap >> lagShift`
 * (at least one). `relative`: store offsets from the first value (levels); else from 0 (magnitudes).
 * Its runs come from `arena` (reserved with `planLazyWindow`), or from a buffer of its own.
 */
export function lazyWindow(cap: number, relative: boolean, arena?: Arena, batch = BATCH, lagShift = LAG_SHIFT): LazyWindow {
  if (cap > LAZY_WINDOW_MAX || batch > 1024) throw new Error(`lazy window: at most ${LAZY_WINDOW_MAX} values, batches of 1024`);
  const a = arenaOr(arena, (plan) => planLazyWindow(plan, cap, batch));
  const at = a.at("f32", cap + 1 + indexSize(cap) + batch);
  const indexAt = at + cap + 1;
  const pendAt = indexAt + indexSize(cap);
  a.f32.fill(Number.POSITIVE_INFINITY, at, indexAt);
  return mutableFields({
    cap,
    n: 0,
    sorted: a.f32,
    at,
    sn: 0,
    stamps: a.u16,
    stampAt: a.at("u16", cap),
    indexAt,
    pendAt,
    pend: 0,
    stamp: 0,
    batch,
    lagShift,
    ref: ZERO,
    relative,
  });
}

/** Push a finite value (the oldest leaves at the next refresh when full). Call `lwDue`/`lwRefresh` to sort it in. */
export function lwPush(w: LazyWindow, x: number): void {
  // the pending list holds at most `batch`, and never a value already out of the window
  if (w.pend >= w.batch || w.pend >= w.cap) lwRefresh(w);
  if (w.n < w.cap) {
    if (w.n === 0 && w.relative) w.ref = x;
    w.n++;
  }
  w.sorted[w.pendAt + w.pend++] = x - w.ref;
}

/** Is a refresh due: the pushes not yet sorted in are `batch`, or the allowed fraction of the window (≥ 1). */
export function lwDue(w: LazyWindow): boolean {
  return w.pend > 0 && w.pend >= Math.min(w.batch, Math.max(1, w.sn >> w.lagShift));
}

export function lwClear(w: LazyWindow): void {
  w.n = 0;
  w.sn = 0;
  w.sorted[w.at] = Number.POSITIVE_INFINITY;
  w.pend = 0;
}

/**
 * Move the reference level by `delta` (right after a refresh: nothing pending). Every offset is
 * rewritten with the same float32 rounding, and the order is kept (rounding is monotonic). For a
 * level that wandered far from `ref`, where float32 offsets would lose the digits that matter.
 */
export function lwRecenter(w: LazyWindow, delta: number): void {
  if (w.pend !== 0) lwRefresh(w);
  const f = Math.fround(delta);
  const b = w.sorted;
  for (let i = w.at, e = w.at + w.sn; i < e; i++) b[i] = b[i]! - f;
  w.ref += f;
  reindex(w);
}

/** The merge targets per capacity, shared by every window of that capacity (copied back into the window). */
const spares = new Map<number, { values: Float32Array; stamps: Uint16Array }>();
/** Pending values, sorted before the merge (shared too). */
let fresh = new Float32Array(64);

/**
 * Merge the pending pushes into the sorted copy, and drop the values more than `cap` pushes old:
 * O(batch log batch + window).
 */
export function lwRefresh(w: LazyWindow): void {
  const pend = w.pend;
  if (pend === 0) return;
  const cap = w.cap;
  const s = w.sorted;
  const st = w.stamps;
  if (fresh.length < pend) fresh = new Float32Array(pend);
  for (let i = 0; i < pend; i++) fresh[i] = s[w.pendAt + i]!;
  // a batch is a few dozen values: insertion sort beats the native sort's set-up by far
  insertionSort(fresh, pend);
  let spare = spares.get(cap);
  if (!spare) {
    spare = { values: new Float32Array(cap + 1), stamps: new Uint16Array(cap) };
    spares.set(cap, spare);
  }
  const out = spare.values;
  const os = spare.stamps;
  const base = w.stamp;
  // pushes after this refresh: a value stamped e is (end − e) mod 2^16 pushes old, and stays when ≤ cap
  const end = (base + pend) & STAMP_MASK;
  const stop = w.at + w.sn;
  // value s[i] has its stamp at st[i + ds]
  const ds = w.stampAt - w.at;
  // one linear merge; the insertions are few, so the copy between two of them is a tight loop
  // (the +∞ after the last value ends it without a bounds test)
  let o = 0;
  let a = 0;
  let na = fresh[0]!;
  let i = w.at;
  for (;;) {
    let v = s[i]!;
    while (v < na) {
      const e = st[i + ds]!;
      if (((end - e) & STAMP_MASK) <= cap) {
        out[o] = v;
        os[o++] = e;
      }
      v = s[++i]!;
    }
    if (i === stop) break;
    if (v === na) {
      // equal to the next insertion: the old value goes first
      const e = st[i + ds]!;
      if (((end - e) & STAMP_MASK) <= cap) {
        out[o] = v;
        os[o++] = e;
      }
      i++;
    } else {
      out[o] = na;
      os[o++] = (base + a) & STAMP_MASK;
      na = ++a < pend ? fresh[a]! : Number.POSITIVE_INFINITY;
    }
  }
  for (; a < pend; a++) {
    out[o] = fresh[a]!;
    os[o++] = (base + a) & STAMP_MASK;
  }
  out[o] = Number.POSITIVE_INFINITY;
  // the window keeps its own runs (they live in its owner's arena): native copies back, of the
  // whole spares (what lies past the sentinel is never read), so a refresh allocates no views
  s.set(out, w.at);
  st.set(os, w.stampAt);
  w.sn = o;
  w.pend = 0;
  w.stamp = end;
  reindex(w);
}

function reindex(w: LazyWindow): void {
  const s = w.sorted;
  for (let k = w.indexAt, i = w.at, e = w.at + w.sn; i < e; k++, i += INDEX_STEP) s[k] = s[i]!;
}

/**
 * The window's offsets from `ref`, oldest first (up to the order within a batch), pending ones
 * last: the last `cap` pushes. For tests; the detector reads the sorted copy.
 */
export function lwRing(w: LazyWindow): Float32Array {
  const end = (w.stamp + w.pend) & STAMP_MASK;
  const age = (i: number) => (end - w.stamps[w.stampAt + i]!) & STAMP_MASK;
  const kept: number[] = [];
  for (let i = 0; i < w.sn; i++) if (age(i) <= w.cap) kept.push(i);
  kept.sort((x, y) => age(y) - age(x));
  const pending = w.sorted.subarray(w.pendAt, w.pendAt + w.pend);
  return Float32Array.from([...kept.map((i) => w.sorted[w.at + i]!), ...pending]);
}

/** The sorted copy as of the last refresh (a view: for tests; the detector reads `sorted` from `at`). */
export function lwSorted(w: LazyWindow): Float32Array {
  return w.sorted.subarray(w.at, w.at + w.sn);
}

/**
 * The first position in the sorted copy whose value is ≥ `x` (an offset from `ref`), or `sn`:
 * `lowerBoundIn(w.sorted, w.at, w.at + w.sn, x) − w.at`, found through the index.
 */
export function lwLowerBound(w: LazyWindow, x: number): number {
  const sn = w.sn;
  const at = w.at;
  // c index entries are below x: the answer is past sorted[(c − 1) × STEP] and at most sorted[c × STEP]
  const c = lowerBoundIn(w.sorted, w.indexAt, w.indexAt + Math.ceil(sn / INDEX_STEP), x) - w.indexAt;
  if (c === 0) return 0;
  return lowerBoundIn(w.sorted, at + (c - 1) * INDEX_STEP + 1, at + Math.min(c * INDEX_STEP, sn), x) - at;
}
