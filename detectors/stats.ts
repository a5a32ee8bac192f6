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
export function quantileSorted(sorted: ArrayLike<number>, n: number, q: number): number {
  if (n <= 0) return Number.NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
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
}

export function sortedWindow(cap: number): SortedWindow {
  return { cap, n: 0, head: 0, ring: new Float64Array(cap), sorted: new Float64Array(cap) };
}

/** First index in sorted `a[0..n)` whose value is ≥ x. */
export function lowerBound(a: Float64Array, n: number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Push a value, evicting the oldest when full. */
export function swPush(w: SortedWindow, x: number): void {
  const s = w.sorted;
  if (w.n === w.cap) {
    const old = w.ring[w.head]!;
    const at = lowerBound(s, w.n, old);
    s.copyWithin(at, at + 1, w.n);
    w.n--;
  }
  const at = lowerBound(s, w.n, x);
  s.copyWithin(at + 1, at, w.n);
  s[at] = x;
  w.n++;
  w.ring[w.head] = x;
  w.head = w.head + 1 === w.cap ? 0 : w.head + 1;
}

export function swClear(w: SortedWindow): void {
  w.n = 0;
  w.head = 0;
}

export function swMedian(w: SortedWindow): number {
  return quantileSorted(w.sorted, w.n, 0.5);
}

/**
 * MAD of the window around its median, in O(n) without scratch: the deviations below the median
 * (read leftwards) and above it (read rightwards) are each already sorted, so a merge walk finds
 * their median.
 */
export function swMad(w: SortedWindow, med: number): number {
  const n = w.n;
  if (n === 0) return Number.NaN;
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
