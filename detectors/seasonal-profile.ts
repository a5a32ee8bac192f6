/**
 * The ensemble's seasonal baseline: what the same time of day (or of the week) looked like in the
 * last few seasons, and whether the series has such a pattern at all.
 *
 * Two candidate profiles run side by side once the bucket size is known: daily (`DAY_SEASONS` past
 * days per slot) and weekly (`WEEK_SEASONS` past weeks). Each slot's expected value is the median of
 * its past seasons; the residual scale is a running mean of clipped |residuals| pooled over all
 * slots (four or five values per slot give no usable spread of their own).
 *
 * Which profile, if any, is in force is decided from the data, streaming, in O(1) per point:
 *  - a period P is real when the value one period ago predicts much better than the value half a
 *    period ago (opposite phase): running mean |x − x(t−P)| < `GATE` × mean |x − x(t−P/2)|. Noise
 *    gives ratios near 1, a trend or a random walk ratios above 1;
 *  - among the real periods the profile with the smaller running |residual| wins (weekly beats daily
 *    when weekends differ from weekdays).
 * An anomalous value is stored clipped to `CLIP` scales, so a holiday does not poison the same slot
 * next season; a level shift is carried over by `shift()` (the ensemble calls it when it
 * re-baselines), so the profile keeps its shape at the new level instead of alerting for days.
 * State is O(slots × seasons), bounded by one week of minute buckets.
 */
import { isValue } from "./stats.js";
import { observeSpacing, type SpacingState, spacingState } from "./time.js";

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;
/** Monday 1970-01-05 00:00 UTC: weekly slots start on Monday. */
const MONDAY_MS = 4 * DAY_MS;
const DAY_SEASONS = 5;
const WEEK_SEASONS = 3;
/** Seasons of history a slot needs before its median is used. */
const MIN_SEASONS = 2;
/** Largest slots per season (one week of minutes). */
const MAX_SLOTS = 10_080;
/** Lag-test ratio: period error below this fraction of the half-period error means a real period. */
const GATE = 0.6;
/** Residuals are clipped at this many scales, both in the pooled scale and in what is stored. */
const CLIP = 3;
/** Integers below this are exact in doubles with room to add a period. */
const SAFE = 2 ** 52;
/** mean |residual| → sigma for normal residuals (√(π/2)). */
const MAE_TO_SIGMA = 1.2533;

export interface Profile {
  periodMs: number;
  slots: number;
  seasons: number;
  /** slot × seasons: stored value (clipped) and its season number (−1 = empty). */
  vals: Float64Array;
  seasonOf: Float64Array;
  /** Pooled running mean |residual| (clipped) and how many residuals it has seen. */
  mae: number;
  maeN: number;
  /** Lag test: running mean |x − x(t−P)| and |x − x(t−P/2)|, and their sample count. */
  lagP: number;
  lagHalf: number;
  lagN: number;
  /**
   * Last time seen and its phase and season (cache: the next bucket's phase is one spacing on, which
   * spares the float remainders; only used when every term is an integer, where it is exact).
   */
  lastT: number;
  lastPh: number;
  lastSeason: number;
  lastSeasonMod: number;
}

export interface SeasonalProfileState {
  spacing: SpacingState;
  profiles: Profile[];
  /** Ring of recent values (one week + one bucket) for the lag test; NaN = no value at that bucket. */
  ring: Float64Array;
  ringT: Float64Array;
  scratch: Float64Array;
  /** Last ring index and its position in the ring (same cache as `Profile.lastT`). */
  lastIdx: number;
  lastIdxMod: number;
}

export interface SeasonalExpectation {
  expected: number;
  /** Sigma of the residual. */
  sigma: number;
  periodMs: number;
  /** Seasons behind this slot's median. */
  seasons: number;
}

export function seasonalProfileState(granularityMs: number | undefined): SeasonalProfileState {
  return {
    spacing: spacingState(granularityMs),
    profiles: [],
    ring: new Float64Array(0),
    ringT: new Float64Array(0),
    scratch: new Float64Array(Math.max(DAY_SEASONS, WEEK_SEASONS)),
    lastIdx: Number.NaN,
    lastIdxMod: 0,
  };
}

function profile(periodMs: number, spacing: number, seasons: number): Profile | null {
  const slots = Math.round(periodMs / spacing);
  if (slots < 4 || slots > MAX_SLOTS || Math.abs(slots * spacing - periodMs) > 1e-6 * periodMs) return null;
  return {
    periodMs,
    slots,
    seasons,
    vals: new Float64Array(slots * seasons),
    seasonOf: new Float64Array(slots * seasons).fill(-1),
    mae: 0,
    maeN: 0,
    lagP: 0,
    lagHalf: 0,
    lagN: 0,
    lastT: Number.NaN,
    lastPh: 0,
    lastSeason: Number.NaN,
    lastSeasonMod: 0,
  };
}

function setup(s: SeasonalProfileState, spacing: number): void {
  for (const [ms, seasons] of [
    [DAY_MS, DAY_SEASONS],
    [WEEK_MS, WEEK_SEASONS],
  ] as const) {
    const p = profile(ms, spacing, seasons);
    if (p) s.profiles.push(p);
  }
  const longest = s.profiles.length > 0 ? s.profiles[s.profiles.length - 1]!.slots : 0;
  s.ring = new Float64Array(longest + 1).fill(Number.NaN);
  s.ringT = new Float64Array(longest + 1).fill(Number.NaN);
}

function phase(t: number, periodMs: number): number {
  const base = periodMs === WEEK_MS ? t - MONDAY_MS : t;
  return ((base % periodMs) + periodMs) % periodMs;
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
  for (let i = 1; i < n; i++) {
    const x = a[i]!;
    let j = i - 1;
    while (j >= 0 && a[j]! > x) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = x;
  }
  return n & 1 ? a[n >> 1]! : (a[(n >> 1) - 1]! + a[n >> 1]!) / 2;
}

/**
 * Value stored `lag` buckets before `t`, or NaN (gap, not yet seen). `idxMod` is the ring position of
 * `t`'s bucket; 0 ≤ lag < ring length, so one wrap suffices.
 */
function lagged(s: SeasonalProfileState, idxMod: number, lag: number, t: number, spacing: number): number {
  let j = idxMod - lag;
  if (j < 0) j += s.ring.length;
  return s.ringT[j] === t - lag * spacing ? s.ring[j]! : Number.NaN;
}

/** Is this profile's period real (lag test), with enough history to say? */
function real(p: Profile): boolean {
  return p.lagN >= p.slots && p.lagP < GATE * p.lagHalf;
}

/**
 * Judge `x` at time `t` against the seasonal profile in force (null when none is), then learn it.
 * Call for every point with a value, in time order.
 */
export function seasonalStep(s: SeasonalProfileState, t: number, x: number): SeasonalExpectation | null {
  const out: SeasonalExpectation = { expected: 0, sigma: 0, periodMs: 0, seasons: 0 };
  return seasonalStepInto(s, t, x, out) ? out : null;
}

/** `seasonalStep` writing the expectation into `out` (true) instead of allocating one (false = none in force). */
export function seasonalStepInto(s: SeasonalProfileState, t: number, x: number, out: SeasonalExpectation): boolean {
  const spacing = observeSpacing(s.spacing, t);
  if (!isValue(x) || !Number.isFinite(t) || spacing <= 0) return false;
  if (s.ring.length === 0) {
    if (s.spacing.given || s.spacing.gaps.length >= 9) setup(s, spacing);
    if (s.ring.length === 0) return false;
  }
  const profiles = s.profiles;
  const np = profiles.length;
  const idx = Math.round(t / spacing);
  const cap = s.ring.length;
  // ring position of this bucket: one on from the last one in the common case (exact for integers)
  let idxMod: number;
  if (idx === s.lastIdx + 1 && Math.abs(idx) < SAFE) {
    idxMod = s.lastIdxMod + 1;
    if (idxMod === cap) idxMod = 0;
  } else idxMod = ((idx % cap) + cap) % cap;
  s.lastIdx = idx;
  s.lastIdxMod = idxMod;
  // the one-spacing-on shortcut for the phase is exact when time, spacing and period are integers
  const integral = Number.isInteger(t) && Math.abs(t) < SAFE && Number.isInteger(spacing);
  // pick the profile in force: the real period with the smaller residual
  let best: Profile | null = null;
  for (let q = 0; q < np; q++) {
    const p = profiles[q]!;
    if (real(p) && p.maeN >= p.slots && (best === null || p.mae < best.mae)) best = p;
  }
  let found = false;
  for (let q = 0; q < np; q++) {
    const p = profiles[q]!;
    let ph: number;
    if (integral && t - p.lastT === spacing) {
      ph = p.lastPh + spacing;
      if (ph >= p.periodMs) ph -= p.periodMs;
    } else ph = phase(t, p.periodMs);
    p.lastT = integral && Number.isInteger(p.periodMs) ? t : Number.NaN;
    p.lastPh = ph;
    const slot = Math.min(p.slots - 1, Math.floor(ph / spacing));
    const season = Math.floor((t - ph) / p.periodMs);
    let sm: number;
    if (season === p.lastSeason) sm = p.lastSeasonMod;
    else {
      sm = season % p.seasons;
      p.lastSeason = season;
      p.lastSeasonMod = sm;
    }
    let n = 0;
    const base = slot * p.seasons;
    const lo = season - p.seasons;
    for (let j = 0; j < p.seasons; j++) {
      const si = p.seasonOf[base + j]!;
      if (si >= lo && si < season) s.scratch[n++] = p.vals[base + j]!;
    }
    let stored = x;
    if (n >= MIN_SEASONS) {
      const med = smallMedian(s.scratch, n);
      const r = x - med;
      const scale = p.maeN > 0 ? p.mae : Math.abs(r);
      if (p === best) {
        out.expected = med;
        out.sigma = Math.max(scale * MAE_TO_SIGMA, 1e-12);
        out.periodMs = p.periodMs;
        out.seasons = n;
        found = true;
      }
      const clip = scale > 0 ? CLIP * scale * MAE_TO_SIGMA : Math.abs(r);
      if (Math.abs(r) > clip) stored = med + Math.sign(r) * clip;
      // pooled scale: running mean over about one season (at least 50 points), clipped
      const a = Math.min(Math.abs(r), clip);
      const span = Math.max(50, Math.min(p.slots, 2000));
      if (p.maeN < span) {
        p.maeN++;
        p.mae += (a - p.mae) / p.maeN;
      } else p.mae += (a - p.mae) / span;
    }
    p.vals[base + sm] = stored;
    p.seasonOf[base + sm] = season;
    // lag test
    const xp = lagged(s, idxMod, p.slots, t, spacing);
    const xh = lagged(s, idxMod, p.slots >> 1, t, spacing);
    if (!Number.isNaN(xp) && !Number.isNaN(xh)) {
      const span = 4 * p.slots;
      p.lagN++;
      const w = 1 / Math.min(p.lagN, span);
      p.lagP += (Math.abs(x - xp) - p.lagP) * w;
      p.lagHalf += (Math.abs(x - xh) - p.lagHalf) * w;
    }
  }
  s.ring[idxMod] = x;
  s.ringT[idxMod] = t;
  return found;
}

/** Carry a level shift into every stored season (the ensemble re-baselined by `delta`). */
export function seasonalShift(s: SeasonalProfileState, delta: number): void {
  for (const p of s.profiles) for (let i = 0; i < p.vals.length; i++) p.vals[i] = p.vals[i]! + delta;
}

const DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/** "Monday 14:00" (weekly) or "14:00" (daily), UTC. */
export function slotLabel(t: number, periodMs: number): string {
  const d = new Date(t);
  const hm = `${String(d.getUTCHours()).padStart(2, "0")}:${String(d.getUTCMinutes()).padStart(2, "0")}`;
  return periodMs === WEEK_MS ? `${DAYS[(d.getUTCDay() + 6) % 7]} ${hm}` : hm;
}
