/**
 * The ensemble's seasonal baseline: what the same time of day (or of the week) looked like in the
 * last few seasons, and whether the series has such a pattern at all.
 *
 * Two candidate profiles run side by side once the bucket size is known: daily (`DAY_SEASONS` past
 * days per slot) and weekly (`WEEK_SEASONS` past weeks). A slot is one bucket, or at fine bucket
 * sizes the mean of a few adjacent ones (at most `DAY_SLOTS` / `WEEK_SLOTS` per season). Each slot's
 * expected value is the median of its past seasons' slot means; the residual scale is a running
 * mean of clipped |residuals| pooled over all slots (four or five values per slot give no usable
 * spread of their own).
 *
 * Which profile, if any, is in force is decided from the data, streaming, in O(1) per point:
 *  - a period P is real when the slot mean one period ago predicts much better than the slot mean
 *    half a period ago (opposite phase), both read from the stored seasons: running mean
 *    |x − x(t−P)| < `GATE` × mean |x − x(t−P/2)| over slot means. Noise gives ratios near 1, a
 *    trend or a random walk ratios above 1;
 *  - among the real periods the profile with the smaller running |residual| wins (weekly beats daily
 *    when weekends differ from weekdays).
 * An anomalous value is stored clipped to `CLIP` scales, so a holiday does not poison the same slot
 * next season; a level shift is carried over by `shift()` (the ensemble calls it when it
 * re-baselines), so the profile keeps its shape at the new level instead of alerting for days.
 * State is O(slots × seasons): 4 bytes a cell and 2 a slot, about 6.8 KB per series at most.
 */
import { Arena, type ArenaPlan, arenaPlan } from "./arena.js";
import { insertionSort, isValue, ZERO } from "./stats.js";
import { observeSpacing, type SpacingState, spacingState } from "./time.js";

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;
/** Monday 1970-01-05 00:00 UTC: weekly slots start on Monday. */
const MONDAY_MS = 4 * DAY_MS;
const DAY_SEASONS = 5;
const WEEK_SEASONS = 3;
/** Seasons of history a slot needs before its median is used. */
const MIN_SEASONS = 2;
/** Largest buckets per season (one week of minutes). */
const MAX_BUCKETS = 10_080;
/**
 * Most slots per season: finer buckets are averaged into slots this coarse (a day in 15 minutes, a
 * week in half hours), which bounds the state per series. A coarser week (hours) cost NAB a window.
 */
const DAY_SLOTS = 96;
const WEEK_SLOTS = 336;
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
  /** Buckets averaged into one slot, and the slot's length (ms). */
  width: number;
  slotMs: number;
  /** Buckets per season (`slots × width`, or a little less when the last slot is short). */
  buckets: number;
  seasons: number;
  /**
   * slot × seasons: stored slot mean (of clipped values) as a float32 offset from `ref` (NaN =
   * none), in the cell of its season modulo `seasons`; and per slot the tag of the latest season
   * stored (`seasonTag`; 0 = none), which tells which seasons the cells hold. A daemon keeps
   * thousands of these: 4 bytes a cell and 2 a slot.
   */
  vals: Float32Array;
  lastTag: Uint16Array;
  /** Level the stored means are offsets from (the first one stored); a level shift moves it. */
  ref: number;
  /** The slot being filled: slot, season (NaN = none), sum and count of its (clipped) values. */
  accSlot: number;
  accSeason: number;
  accSum: number;
  accN: number;
  /** The median of the past seasons of that slot, and how many (fixed while the slot is filled; −1 = to compute). */
  accMed: number;
  accMedN: number;
  /** Pooled running mean |residual| (clipped) and how many residuals it has seen. */
  mae: number;
  maeN: number;
  /** Lag test over slot means: running mean |x − x(t−P)| and |x − x(t−P/2)|, and their sample count. */
  lagP: number;
  lagHalf: number;
  lagN: number;
  /**
   * Last time seen and its phase and season (cache: the next bucket's phase is one spacing on, which
   * spares the float remainders; only used when every term is an integer, where it is exact).
   */
  lastT: number;
  lastPh: number;
  /** The last point's season and slot (−1: none yet). */
  lastSeason: number;
  lastSlot: number;
}

export interface SeasonalProfileState {
  spacing: SpacingState;
  profiles: Profile[];
  /** The profiles are set up (once the bucket size is known). */
  ready: boolean;
  scratch: Float64Array;
}

export interface SeasonalExpectation {
  expected: number;
  /** Sigma of the residual. */
  sigma: number;
  periodMs: number;
  /** Seasons behind this slot's median. */
  seasons: number;
}

/** The candidate periods: length, seasons kept, most slots. */
const PERIODS = [
  [DAY_MS, DAY_SEASONS, DAY_SLOTS],
  [WEEK_MS, WEEK_SEASONS, WEEK_SLOTS],
] as const;
const SCRATCH = Math.max(DAY_SEASONS, WEEK_SEASONS);

/** Buckets per season and per slot, and slots, for a period at this bucket spacing (null: no such profile). */
function shape(periodMs: number, spacing: number, maxSlots: number): { buckets: number; width: number; slots: number } | null {
  const buckets = Math.round(periodMs / spacing);
  if (buckets < 4 || buckets > MAX_BUCKETS || Math.abs(buckets * spacing - periodMs) > 1e-6 * periodMs) return null;
  const width = Math.ceil(buckets / maxSlots);
  return { buckets, width, slots: Math.ceil(buckets / width) };
}

/** Reserve the profiles' arrays in an arena plan (see `seasonalProfileState`). */
export function planSeasonalProfile(plan: ArenaPlan, granularityMs: number | undefined): void {
  plan.f64 += SCRATCH;
  if (granularityMs === undefined) return;
  for (const [ms, seasons, maxSlots] of PERIODS) {
    const sh = shape(ms, granularityMs, maxSlots);
    if (!sh) continue;
    plan.f32 += sh.slots * seasons;
    plan.u16 += sh.slots;
  }
}

/**
 * A profile state. With the bucket size known (`granularityMs`) the profiles are set up at once,
 * from `arena` when one is given (reserved with `planSeasonalProfile`); otherwise once the data
 * shows the spacing, each from a buffer of its own.
 */
export function seasonalProfileState(granularityMs: number | undefined, arena?: Arena): SeasonalProfileState {
  let a = arena;
  if (!a) {
    const plan = arenaPlan();
    planSeasonalProfile(plan, granularityMs);
    a = new Arena(plan);
  }
  const s: SeasonalProfileState = { spacing: spacingState(granularityMs), profiles: [], ready: false, scratch: a.f64(SCRATCH) };
  if (granularityMs !== undefined && granularityMs > 0) setup(s, granularityMs, a);
  return s;
}

function profile(periodMs: number, spacing: number, seasons: number, maxSlots: number, arena: Arena | undefined): Profile | null {
  const sh = shape(periodMs, spacing, maxSlots);
  if (!sh) return null;
  const { buckets, width, slots } = sh;
  let a = arena;
  if (!a) {
    const plan = arenaPlan();
    plan.f32 = slots * seasons;
    plan.u16 = slots;
    a = new Arena(plan);
  }
  return {
    periodMs,
    slots,
    width,
    slotMs: width * spacing,
    buckets,
    seasons,
    vals: a.f32(slots * seasons).fill(Number.NaN),
    lastTag: a.u16(slots),
    ref: Number.NaN,
    accSlot: 0,
    accSeason: Number.NaN,
    accSum: ZERO,
    accN: 0,
    accMed: ZERO,
    accMedN: -1,
    mae: ZERO,
    maeN: 0,
    lagP: ZERO,
    lagHalf: ZERO,
    lagN: 0,
    lastT: Number.NaN,
    lastPh: ZERO,
    lastSeason: 0,
    lastSlot: -1,
  };
}

function setup(s: SeasonalProfileState, spacing: number, arena?: Arena): void {
  for (const [ms, seasons, maxSlots] of PERIODS) {
    const p = profile(ms, spacing, seasons, maxSlots, arena);
    if (p) s.profiles.push(p);
  }
  s.ready = true;
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
  insertionSort(a, n);
  return n & 1 ? a[n >> 1]! : (a[(n >> 1) - 1]! + a[n >> 1]!) / 2;
}

/**
 * The tag a slot keeps of its latest season: the season number + 1, modulo 2^16 (0 = none). A
 * stale cell could only pass for a current one 65,536 seasons later.
 */
function seasonTag(season: number): number {
  return (season + 1) & 0xffff;
}

/** Cell of `slot` for `season`. */
function cell(p: Profile, slot: number, season: number): number {
  const r = season % p.seasons;
  return slot * p.seasons + (r < 0 ? r + p.seasons : r);
}

/**
 * Does `slot`'s cell for `season` hold that season: one of the last `seasons` up to the latest
 * stored (a season skipped on the way was emptied, so its cell reads NaN).
 */
function holds(p: Profile, slot: number, season: number): boolean {
  const last = p.lastTag[slot]!;
  return last !== 0 && ((last - seasonTag(season)) & 0xffff) < p.seasons;
}

/** Mean stored for `slot` in `season`, or NaN (no value then, or overwritten since). */
function slotValue(p: Profile, slot: number, season: number): number {
  return holds(p, slot, season) ? p.ref + p.vals[cell(p, slot, season)]! : Number.NaN;
}

/** Store `x` (an offset from `ref`) for `slot` in `season`, emptying the cells of the seasons skipped since the slot's latest. */
function store(p: Profile, slot: number, season: number, x: number): void {
  const tag = seasonTag(season);
  const last = p.lastTag[slot]!;
  const ahead = (tag - last) & 0xffff;
  if (last === 0 || (ahead > 0 && ahead < 0x8000)) {
    // a newer season: the seasons between the latest and this one have no value
    const skipped = last === 0 ? p.seasons : Math.min(ahead - 1, p.seasons);
    for (let k = 1; k <= skipped; k++) p.vals[cell(p, slot, season - k)] = Number.NaN;
    p.lastTag[slot] = tag;
  } else if (((last - tag) & 0xffff) >= p.seasons) {
    // an older season than the cells hold (time went back): its cell belongs to a newer one, which
    // it would overwrite; it keeps neither
    p.vals[cell(p, slot, season)] = Number.NaN;
    return;
  }
  p.vals[cell(p, slot, season)] = x;
}

/** Store the slot being filled (its mean), and feed it to the lag test. */
function commit(p: Profile): void {
  if (Number.isNaN(p.accSeason) || p.accN === 0) return;
  const slot = p.accSlot;
  const season = p.accSeason;
  const x = p.accSum / p.accN;
  const xp = slotValue(p, slot, season - 1);
  const half = slot - (p.slots >> 1);
  const xh = half >= 0 ? slotValue(p, half, season) : slotValue(p, half + p.slots, season - 1);
  if (Number.isNaN(p.ref)) p.ref = x;
  store(p, slot, season, x - p.ref);
  if (!Number.isNaN(xp) && !Number.isNaN(xh)) {
    const span = 4 * p.slots;
    p.lagN++;
    const w = 1 / Math.min(p.lagN, span);
    p.lagP += (Math.abs(x - xp) - p.lagP) * w;
    p.lagHalf += (Math.abs(x - xh) - p.lagHalf) * w;
  }
  p.accSum = 0;
  p.accN = 0;
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
  if (!s.ready) {
    if (s.spacing.given || s.spacing.gaps.length >= 9) setup(s, spacing);
    if (!s.ready) return false;
  }
  const profiles = s.profiles;
  const np = profiles.length;
  // the one-spacing-on shortcut for the phase is exact when time, spacing and period are integers
  const integral = Number.isInteger(t) && Math.abs(t) < SAFE && Number.isInteger(spacing);
  // pick the profile in force: the real period with the smaller residual
  let best: Profile | null = null;
  for (let q = 0; q < np; q++) {
    const p = profiles[q]!;
    if (real(p) && p.maeN >= p.buckets && (best === null || p.mae < best.mae)) best = p;
  }
  let found = false;
  for (let q = 0; q < np; q++) {
    const p = profiles[q]!;
    let ph: number;
    let season: number;
    if (integral && t - p.lastT === spacing) {
      // one bucket on: the season moves on exactly when the phase wraps (no division)
      ph = p.lastPh + spacing;
      season = p.lastSeason;
      if (ph >= p.periodMs) {
        ph -= p.periodMs;
        season++;
      }
    } else {
      ph = phase(t, p.periodMs);
      season = Math.floor((t - ph) / p.periodMs);
    }
    p.lastT = integral && Number.isInteger(p.periodMs) ? t : Number.NaN;
    p.lastPh = ph;
    p.lastSeason = season;
    // still inside the last point's slot (the last slot runs to the end of the period): no division
    let slot = p.lastSlot;
    if (slot < 0 || ph < slot * p.slotMs || (slot < p.slots - 1 && ph >= (slot + 1) * p.slotMs)) {
      slot = Math.min(p.slots - 1, Math.floor(ph / p.slotMs));
      p.lastSlot = slot;
    }
    if (slot !== p.accSlot || season !== p.accSeason) {
      commit(p);
      p.accSlot = slot;
      p.accSeason = season;
      p.accMedN = -1;
    }
    if (p.accMedN < 0) {
      // the past seasons of a slot do not change while it is being filled: one median per slot
      let n = 0;
      for (let si = season - p.seasons; si < season; si++) {
        const v = slotValue(p, slot, si);
        if (!Number.isNaN(v)) s.scratch[n++] = v;
      }
      p.accMedN = n;
      p.accMed = n >= MIN_SEASONS ? smallMedian(s.scratch, n) : 0;
    }
    const n = p.accMedN;
    let stored = x;
    if (n >= MIN_SEASONS) {
      const med = p.accMed;
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
      const span = Math.max(50, Math.min(p.buckets, 2000));
      if (p.maeN < span) {
        p.maeN++;
        p.mae += (a - p.mae) / p.maeN;
      } else p.mae += (a - p.mae) / span;
    }
    p.accSum += stored;
    p.accN++;
  }
  return found;
}

/** Carry a level shift into every stored season (the ensemble re-baselined by `delta`). */
export function seasonalShift(s: SeasonalProfileState, delta: number): void {
  for (const p of s.profiles) {
    // the stored means are offsets from `ref`: moving it moves them all
    if (!Number.isNaN(p.ref)) p.ref += delta;
    p.accSum += p.accN * delta;
    p.accMedN = -1;
  }
}

const DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/** "Monday 14:00" (weekly) or "14:00" (daily), UTC. */
export function slotLabel(t: number, periodMs: number): string {
  const d = new Date(t);
  const hm = `${String(d.getUTCHours()).padStart(2, "0")}:${String(d.getUTCMinutes()).padStart(2, "0")}`;
  return periodMs === WEEK_MS ? `${DAYS[(d.getUTCDay() + 6) % 7]} ${hm}` : hm;
}
