/**
 * Small numeric helpers shared by the detectors. Everything here works on caller-owned buffers so
 * that `step()` allocates nothing on the hot path.
 */

/** 1 / Φ⁻¹(0.75): turns a median absolute deviation into a normal-consistent sigma. */
export const MAD_TO_SIGMA = 1.482602218505602;
/** d2 for moving ranges of two points: E|x_i − x_{i−1}| = 1.128 σ for normal data. */
export const D2 = 1.128;
/** IQR of the standard normal (2 × 0.6745): turns an IQR into a sigma. */
export const IQR_TO_SIGMA = 1 / 1.348979500392163;

/**
 * k-th smallest (0-based) of `a[0..n)`, partially reordering `a` in place (Hoare quickselect,
 * median-of-three pivot). O(n) expected, no allocation.
 */
export function select(a: Float64Array | number[], n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // median-of-three so that sorted and constant inputs stay linear
    let x = a[lo]!;
    let y = a[mid]!;
    let z = a[hi]!;
    if (x > y) [x, y] = [y, x];
    if (y > z) [y, z] = [z, y];
    if (x > y) [x, y] = [y, x];
    const pivot = y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const tmp = a[i]!;
        a[i] = a[j]!;
        a[j] = tmp;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}

/** Median of `src[0..n)` using `scratch` (length ≥ n) as working space; `src` is left untouched. */
export function medianOf(src: ArrayLike<number>, n: number, scratch: Float64Array): number {
  if (n <= 0) return Number.NaN;
  for (let i = 0; i < n; i++) scratch[i] = src[i]!;
  return medianInPlace(scratch, n);
}

/** Median of `a[0..n)`, reordering `a`. */
export function medianInPlace(a: Float64Array, n: number): number {
  if (n <= 0) return Number.NaN;
  const h = n >>> 1;
  const hi = select(a, n, h);
  if (n & 1) return hi;
  // after select, every element below index h is ≤ hi: the lower middle is their maximum
  let lo = a[0]!;
  for (let i = 1; i < h; i++) if (a[i]! > lo) lo = a[i]!;
  return (lo + hi) / 2;
}

/** Median absolute deviation of `src[0..n)` around `centre` (raw, not scaled to sigma). */
export function madOf(src: ArrayLike<number>, n: number, centre: number, scratch: Float64Array): number {
  if (n <= 0) return Number.NaN;
  for (let i = 0; i < n; i++) scratch[i] = Math.abs(src[i]! - centre);
  return medianInPlace(scratch, n);
}

/** Linear-interpolated quantile (type 7, as R and numpy default) of a sorted array prefix. */
export function quantileSorted(sorted: ArrayLike<number>, n: number, q: number, at = 0): number {
  if (n <= 0) return Number.NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[at + lo]! + (sorted[at + hi]! - sorted[at + lo]!) * (pos - lo);
}

/**
 * Map a deviation in sigmas to a score in [0, 1] so that |z| = k gives exactly 0.5: scores are then
 * comparable across detectors and "score ≥ 0.5" coincides with each detector's own anomaly rule.
 */
export function scoreFromSigmas(z: number, k: number): number {
  if (Number.isNaN(z)) return 0;
  const r = Math.abs(z) / k;
  // r² would overflow to Infinity/Infinity = NaN for astronomically large deviations
  if (r > 1e150) return 1;
  return (r * r) / (r * r + 1);
}

/**
 * Deviation of `x` from `centre`, treating differences at floating-point rounding level as none:
 * the mean of n copies of c is not always exactly c, and a constant series must not drift to one
 * side of its own centre line.
 */
export function deviation(x: number, centre: number): number {
  const d = x - centre;
  return Math.abs(d) <= 1e-9 * Math.max(Math.abs(x), Math.abs(centre)) ? 0 : d;
}

/** Guard a scale estimate: zero or non-finite scales would turn every wiggle into infinite sigmas. */
export function safeScale(sigma: number, level: number): number {
  const floor = Math.max(Math.abs(level) * 1e-9, 1e-12);
  return Number.isFinite(sigma) && sigma > floor ? sigma : floor;
}

/** "3.4σ above the EWMA". */
export function sigmaReason(z: number, what: string): string {
  const a = Math.abs(z);
  const mag = a >= 1000 ? ">999" : a.toFixed(1);
  return `${mag}σ ${z >= 0 ? "above" : "below"} ${what}`;
}

/**
 * Zero stored as a double. Streaming state fields that will hold fractions start from this rather
 * than from the literal 0, which V8 stores as a small integer: the first fraction written would then
 * change the field's representation for every object of that shape and throw away the code already
 * optimised for it (about a dozen deoptimisations at the start of a `vigil detect` run). It is -0,
 * which adds, compares and prints as 0.
 */
export const ZERO = -0;

/**
 * Mark the number and boolean fields of a freshly built state object as ones that change. V8
 * treats a field never written since the object was built as a constant and compiles its value
 * into the optimised step code; the first write to it much later (the first alert, the seasonal
 * profile taking over after two weeks of data) then throws that code away for every function
 * that relied on the object's shape — all of a detector's step code, at once, to be compiled
 * again. Writing each field once here, before any step code runs, costs nothing later.
 */
export function mutableFields<T extends object>(o: T): T {
  const r = o as Record<string, unknown>;
  for (const k of Object.keys(r)) {
    const v = r[k];
    if (typeof v === "number") {
      r[k] = v === 1 ? 2 : 1;
      r[k] = v;
    } else if (typeof v === "boolean") {
      r[k] = !v;
      r[k] = v;
    }
  }
  return o;
}

/** True for a usable observation. */
export function isValue(v: number | null): v is number {
  return v !== null && Number.isFinite(v);
}

/**
 * A fixed-capacity window kept both in arrival order (ring) and sorted, so that median, quantiles
 * and MAD come without sorting per point. Insert/evict are a binary search plus a memmove: O(window).
 */
export interface SortedWindow {
  cap: number;
  n: number;
  head: number;
  ring: Float64Array;
  sorted: Float64Array;
  /**
   * A NaN was pushed since the last clear: it leaves `sorted` out of order, so `swPush` keeps to its
   * two-step reference path (absent in states from older versions: the same).
   */
  nanSeen?: boolean;
}

export function sortedWindow(cap: number): SortedWindow {
  // the ring and its sorted copy side by side in one buffer: one backing store per window, and the
  // two arrays a step touches are next to each other
  const buf = new ArrayBuffer(16 * cap);
  return { cap, n: 0, head: 0, ring: new Float64Array(buf, 0, cap), sorted: new Float64Array(buf, 8 * cap, cap), nanSeen: false };
}

/** A sorted array of doubles, or of float32 offsets (the ensemble's compact windows). */
export type Sorted = Float64Array | Float32Array;

/** Sort `a[0..n)` in place by insertion (stable; the fastest sort for the few values it gets). */
export function insertionSort(a: Sorted, n: number): void {
  for (let i = 1; i < n; i++) {
    const x = a[i]!;
    let j = i - 1;
    while (j >= 0 && a[j]! > x) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = x;
  }
}

/** First index in sorted `a[at..at + n)` whose value is ≥ x (`at + n` when none). */
export function lowerBound(a: Sorted, n: number, x: number, at = 0): number {
  let lo = at;
  let hi = at + n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * First index in sorted `a[lo..hi)` whose value is ≥ x (`hi` when none), without branches on the
 * data (a mispredicted branch per halving costs more than the compare). For NaN-free `a` this is
 * `lowerBound`; with NaNs in `a` the two may differ, so callers use it only on NaN-free windows.
 */
export function lowerBoundIn(a: Sorted, lo: number, hi: number, x: number): number {
  let base = lo;
  let len = hi - lo;
  if (len <= 0) return lo;
  while (len > 1) {
    const half = len >>> 1;
    base += Number(a[base + half - 1]! < x) * half;
    len -= half;
  }
  return base + Number(a[base]! < x);
}

/** The same, branching (the reference for windows that may hold NaN). */
function lowerBoundRef(a: Float64Array, lo: number, hi: number, x: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Push a value, evicting the oldest when full. Evict-then-insert is done as one shift of the values
 * between the two positions (the same array as removing and then inserting, moved once).
 */
export function swPush(w: SortedWindow, x: number): void {
  const s = w.sorted;
  const n = w.n;
  if (n === w.cap) {
    const old = w.ring[w.head]!;
    // NaN compares false everywhere: after one, keep the two-step path, whose placement is the reference
    const del = w.nanSeen === false && !Number.isNaN(x) ? lowerBoundIn(s, 0, n, old) : n;
    if (del < n) {
      if (x < old) {
        // x lands left of the evicted slot: shift s[at..del) right by one
        const at = lowerBoundIn(s, 0, del, x);
        if (del - at > 32) s.copyWithin(at + 1, at, del);
        else for (let i = del; i > at; i--) s[i] = s[i - 1]!;
        s[at] = x;
      } else {
        // x lands right of it: shift s[del+1..k) left by one, x goes just before s[k]
        const k = lowerBoundIn(s, del + 1, n, x);
        if (k - del > 32) s.copyWithin(del, del + 1, k);
        else for (let i = del; i < k - 1; i++) s[i] = s[i + 1]!;
        s[k - 1] = x;
      }
      w.ring[w.head] = x;
      w.head = w.head + 1 === w.cap ? 0 : w.head + 1;
      return;
    }
    const at = lowerBoundRef(s, 0, n, old);
    s.copyWithin(at, at + 1, n);
    w.n--;
  }
  if (w.nanSeen === false && Number.isNaN(x)) w.nanSeen = true;
  const at = w.nanSeen === false ? lowerBoundIn(s, 0, w.n, x) : lowerBoundRef(s, 0, w.n, x);
  s.copyWithin(at + 1, at, w.n);
  s[at] = x;
  w.n++;
  w.ring[w.head] = x;
  w.head = w.head + 1 === w.cap ? 0 : w.head + 1;
}

/**
 * `swPush` for a caller that already knows `at = lowerBoundIn(w.sorted, 0, w.n, x)` on the window as
 * it is now (the ensemble searched it for the gap view): the same array, one search fewer.
 */
export function swPushAt(w: SortedWindow, x: number, at: number): void {
  const n = w.n;
  if (n !== w.cap || w.nanSeen !== false || Number.isNaN(x)) {
    swPush(w, x);
    return;
  }
  const s = w.sorted;
  const old = w.ring[w.head]!;
  const del = lowerBoundIn(s, 0, n, old);
  if (del >= n) {
    swPush(w, x);
    return;
  }
  if (x < old) {
    // lowerBoundIn(s, 0, del, x) = min(at, del)
    const to = Math.min(at, del);
    if (del - to > 32) s.copyWithin(to + 1, to, del);
    else for (let i = del; i > to; i--) s[i] = s[i - 1]!;
    s[to] = x;
  } else {
    // lowerBoundIn(s, del + 1, n, x) = max(at, del + 1)
    const k = Math.max(at, del + 1);
    if (k - del > 32) s.copyWithin(del, del + 1, k);
    else for (let i = del; i < k - 1; i++) s[i] = s[i + 1]!;
    s[k - 1] = x;
  }
  w.ring[w.head] = x;
  w.head = w.head + 1 === w.cap ? 0 : w.head + 1;
}

export function swClear(w: SortedWindow): void {
  w.n = 0;
  w.head = 0;
  if (w.nanSeen !== undefined) w.nanSeen = false;
}

export function swMedian(w: SortedWindow): number {
  return quantileSorted(w.sorted, w.n, 0.5);
}

/**
 * MAD of the window around its median, in O(log n) without scratch: the deviations below the
 * median (read leftwards) and above it (read rightwards) are each already sorted, so the middle of
 * their merge is found by bisecting how many of it come from the left. The merge takes the left
 * value on ties, and the element picked is the one that merge would pick.
 */
export function swMad(w: SortedWindow, med: number): number {
  const n = w.n;
  if (n === 0) return Number.NaN;
  // NaN compares false everywhere (and a NaN pushed leaves `sorted` out of order): the walk is the
  // reference for such windows
  if (Number.isNaN(med) || w.nanSeen !== false) return swMadWalk(w, med);
  return madSorted(w.sorted, n, med);
}

/** `swMad` over a NaN-free sorted `s[at..at + n)` (n ≥ 1) and a non-NaN `med`. */
export function madSorted(s: Sorted, n: number, med: number, at = 0): number {
  const i0 = lowerBound(s, n, med, at) - 1; // left deviations: med - s[i0 - l], l = 0..i0 - at
  const j0 = i0 + 1; // right deviations: s[j0 + r] - med, r = 0..at+n-j0-1
  const target = n >>> 1;
  const cur = mergedAt(s, med, i0, j0, at, at + n, target);
  return n & 1 ? cur : (mergedAt(s, med, i0, j0, at, at + n, target - 1) + cur) / 2;
}

/** k-th (0-based) value of the left-first merge of the deviations of `swMad` (over `s[at..end)`). */
function mergedAt(s: Sorted, med: number, i0: number, j0: number, at: number, end: number, k: number): number {
  const nl = i0 + 1 - at;
  const nr = end - j0;
  // l = how many of the first k + 1 merged come from the left: the merge takes left while left ≤ right
  let lo = Math.max(k + 1 - nr, 0);
  let hi = Math.min(k + 1, nl);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (med - s[i0 - mid]! <= s[j0 + k - mid]! - med) lo = mid + 1;
    else hi = mid;
  }
  const l = lo;
  const r = k - l; // index of the last right value taken (−1: none)
  if (l === 0) return s[j0 + r]! - med;
  const dl = med - s[i0 - l + 1]!;
  if (r < 0) return dl;
  const dr = s[j0 + r]! - med;
  // of the two last ones taken, the left went first unless it is larger (on a tie the right one,
  // which matters for ±0: not Math.max)
  // biome-ignore lint/complexity/useMathMinMax: tie-break must match the merge walk
  return dl <= dr ? dr : dl;
}

/** The reference merge walk (O(n)), kept for windows holding NaN. */
function swMadWalk(w: SortedWindow, med: number): number {
  const n = w.n;
  const s = w.sorted;
  let i = lowerBound(s, n, med) - 1; // walks left: med - s[i] increasing
  let j = i + 1; // walks right: s[j] - med increasing
  const target = n >>> 1;
  let prev = 0;
  let cur = 0;
  for (let c = 0; c <= target; c++) {
    const dl = i >= 0 ? med - s[i]! : Number.POSITIVE_INFINITY;
    const dr = j < n ? s[j]! - med : Number.POSITIVE_INFINITY;
    prev = cur;
    if (dl <= dr) {
      cur = dl;
      i--;
    } else {
      cur = dr;
      j++;
    }
  }
  return n & 1 ? cur : (prev + cur) / 2;
}

/**
 * Median of `a[0..n)` (n ≤ 5), as the middle of a stable insertion sort of it. For three or five
 * finite non-zero values a min/max network gives the same value without branching on the data
 * (zeros are left to the sort: it decides which of −0 and +0 is the middle one).
 */
export function smallMedian(a: Float64Array, n: number): number {
  if (n === 5) {
    const x0 = a[0]!;
    const x1 = a[1]!;
    const x2 = a[2]!;
    const x3 = a[3]!;
    const x4 = a[4]!;
    // a finite sum means no NaN and no infinity
    if (x0 !== 0 && x1 !== 0 && x2 !== 0 && x3 !== 0 && x4 !== 0 && (x0 + x1 + x2 + x3 + x4) * 0 === 0) {
      // the median of five is the median of the fifth, the larger of the two pair minima and the
      // smaller of the two pair maxima
      const f = Math.max(Math.min(x0, x1), Math.min(x2, x3));
      const g = Math.min(Math.max(x0, x1), Math.max(x2, x3));
      return Math.max(Math.min(x4, f), Math.min(Math.max(x4, f), g));
    }
  } else if (n === 3) {
    const x0 = a[0]!;
    const x1 = a[1]!;
    const x2 = a[2]!;
    if (x0 !== 0 && x1 !== 0 && x2 !== 0 && (x0 + x1 + x2) * 0 === 0) return Math.max(Math.min(x0, x1), Math.min(Math.max(x0, x1), x2));
  }
  insertionSort(a, n);
  return n & 1 ? a[n >> 1]! : (a[(n >> 1) - 1]! + a[n >> 1]!) / 2;
}
