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
 *  - among the real periods the profile with the smaller running |residual| wins, both measured
 *    over the longest period (a week of buckets, at most 2000): weekly beats daily when weekends
 *    differ from weekdays, also on a Saturday after five weekdays that the daily profile fitted.
 * An anomalous value is stored clipped to `CLIP` scales, so a holiday does not poison the same slot
 * next season; a level shift is carried over by `shift()` (the ensemble calls it when it
 * re-baselines), so the profile keeps its shape at the new level instead of alerting for days.
 * State is O(slots × seasons): 4 bytes a cell and 2 a slot, about 6.8 KB per series at most.
 */
import { type Arena, type ArenaPlan, arenaOr } from "./arena.js";
import { isUtc, localMs } from "./local-time.js";
import { PF, PROFILE_LAYOUT, profileAt, type SeasonalProfileState, slotValue, store } from "./seasonal-cells.js";
import { observeSpacing, spacingState } from "./spacing.js";
import { isValue, mutableFields, smallMedian, ZERO } from "./stats.js";

const {
  PERIOD,
  SLOTS,
  SLOT_MS,
  BUCKETS,
  SEASONS,
  VALS_AT,
  TAGS_AT,
  REF,
  ACC_SLOT,
  ACC_SEASON,
  ACC_SUM,
  ACC_N,
  ACC_MED,
  ACC_MED_N,
  MAE,
  MAE_N,
  SEL_MAE,
  SEL_N,
  LAG_P,
  LAG_HALF,
  LAG_N,
  LAST_T,
  LAST_PH,
  LAST_SEASON,
  LAST_SLOT,
} = PROFILE_LAYOUT.at;

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

export interface SeasonalExpectation {
  expected: number;
  /** The point's wall-clock time (floating ms, see local-time.ts): what its slot was cut from. */
  local: number;
  /** Sigma of the residual. */
  sigma: number;
  periodMs: number;
  /** Seasons behind this slot's median. */
  seasons: number;
  /**
   * The point's smallest |residual| in sigmas against the profiles of a longer period than the one
   * in force that are ready to be in force (∞: none). A longer period adapts more slowly, so it
   * explains a weekday/weekend difference but never a change that lasted a few days.
   */
  altZ: number;
}

/** The candidate periods: length, seasons kept, most slots. */
const PERIODS = [
  [DAY_MS, DAY_SEASONS, DAY_SLOTS],
  [WEEK_MS, WEEK_SEASONS, WEEK_SLOTS],
] as const;
/** Where a slot's past seasons are gathered for their median (steps are synchronous: one for all). */
const SCRATCH = new Float64Array(Math.max(DAY_SEASONS, WEEK_SEASONS));

/** Buckets per season and per slot, and slots, for a period at this bucket spacing (null: no such profile). */
function shape(periodMs: number, spacing: number, maxSlots: number): { buckets: number; width: number; slots: number } | null {
  const buckets = Math.round(periodMs / spacing);
  if (buckets < 4 || buckets > MAX_BUCKETS || Math.abs(buckets * spacing - periodMs) > 1e-6 * periodMs) return null;
  const width = Math.ceil(buckets / maxSlots);
  return { buckets, width, slots: Math.ceil(buckets / width) };
}

/** Reserve the profiles' arrays in an arena plan (see `seasonalProfileState`). */
export function planSeasonalProfile(plan: ArenaPlan, granularityMs: number | undefined): void {
  plan.f64 += PERIODS.length * PF;
  if (granularityMs !== undefined) planCells(plan, granularityMs);
}

/** Reserve the cells and slot tags of the profiles at this bucket spacing. */
function planCells(plan: ArenaPlan, spacing: number): void {
  for (const [ms, seasons, maxSlots] of PERIODS) {
    const sh = shape(ms, spacing, maxSlots);
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
export function seasonalProfileState(granularityMs: number | undefined, arena?: Arena, tz?: string): SeasonalProfileState {
  const a = arenaOr(arena, (plan) => planSeasonalProfile(plan, granularityMs));
  const s: SeasonalProfileState = mutableFields({
    spacing: spacingState(granularityMs),
    np: 0,
    ready: false,
    f: a.f64,
    at: a.at("f64", PERIODS.length * PF),
    vals: EMPTY_VALS,
    tags: EMPTY_TAGS,
    tz: isUtc(tz) ? undefined : tz,
  });
  if (granularityMs !== undefined && granularityMs > 0) setup(s, granularityMs, a);
  return s;
}
const EMPTY_VALS = new Float32Array(0);
const EMPTY_TAGS = new Uint16Array(0);

/** Set up the profiles that fit this bucket spacing, their cells from `arena` (reserved with `planCells`) or a buffer of their own. */
function setup(s: SeasonalProfileState, spacing: number, arena?: Arena): void {
  const a = arenaOr(arena, (plan) => planCells(plan, spacing));
  const shapes = PERIODS.map(([ms, seasons, maxSlots]) => ({ ms, seasons, sh: shape(ms, spacing, maxSlots) }));
  const cells = shapes.reduce((n, x) => n + (x.sh ? x.sh.slots * x.seasons : 0), 0);
  let vals = a.at("f32", cells);
  let tags = a.at(
    "u16",
    shapes.reduce((n, x) => n + (x.sh ? x.sh.slots : 0), 0),
  );
  s.vals = a.f32.fill(Number.NaN, vals, vals + cells);
  s.tags = a.u16;
  const f = s.f;
  for (const { ms, seasons, sh } of shapes) {
    if (!sh) continue;
    const at = profileAt(s, s.np++);
    f[at + PERIOD] = ms;
    f[at + SLOTS] = sh.slots;
    f[at + SLOT_MS] = sh.width * spacing;
    f[at + BUCKETS] = sh.buckets;
    f[at + SEASONS] = seasons;
    f[at + VALS_AT] = vals;
    f[at + TAGS_AT] = tags;
    vals += sh.slots * seasons;
    tags += sh.slots;
    f[at + REF] = Number.NaN;
    f[at + ACC_SLOT] = 0;
    f[at + ACC_SEASON] = Number.NaN;
    f[at + ACC_N] = 0;
    f[at + ACC_MED_N] = -1;
    f[at + MAE_N] = 0;
    f[at + LAG_N] = 0;
    f[at + LAST_T] = Number.NaN;
    f[at + LAST_SEASON] = 0;
    f[at + LAST_SLOT] = -1;
    // running sums start at −0, as they always have (x + −0 is x for every x, −0 included)
    for (const k of [ACC_SUM, ACC_MED, MAE, SEL_MAE, LAG_P, LAG_HALF, LAST_PH]) f[at + k] = ZERO;
    f[at + SEL_N] = 0;
  }
  s.ready = true;
}

function phase(t: number, periodMs: number): number {
  const base = periodMs === WEEK_MS ? t - MONDAY_MS : t;
  return ((base % periodMs) + periodMs) % periodMs;
}

/** Store the slot being filled (its mean), and feed it to the lag test. */
function commit(s: SeasonalProfileState, at: number): void {
  const f = s.f;
  const season = f[at + ACC_SEASON]!;
  const accN = f[at + ACC_N]!;
  if (Number.isNaN(season) || accN === 0) return;
  const slot = f[at + ACC_SLOT]!;
  const slots = f[at + SLOTS]!;
  const x = f[at + ACC_SUM]! / accN;
  const xp = slotValue(s, at, slot, season - 1);
  const half = slot - (slots >> 1);
  const xh = half >= 0 ? slotValue(s, at, half, season) : slotValue(s, at, half + slots, season - 1);
  if (Number.isNaN(f[at + REF]!)) f[at + REF] = x;
  store(s, at, slot, season, x - f[at + REF]!);
  if (!Number.isNaN(xp) && !Number.isNaN(xh)) {
    const span = 4 * slots;
    const lagN = f[at + LAG_N]! + 1;
    f[at + LAG_N] = lagN;
    const w = 1 / Math.min(lagN, span);
    const lagP = f[at + LAG_P]!;
    f[at + LAG_P] = lagP + (Math.abs(x - xp) - lagP) * w;
    const lagHalf = f[at + LAG_HALF]!;
    f[at + LAG_HALF] = lagHalf + (Math.abs(x - xh) - lagHalf) * w;
  }
  f[at + ACC_SUM] = 0;
  f[at + ACC_N] = 0;
}

/** Is the period of the profile at `at` real (lag test), with enough history to say? */
function real(f: Float64Array, at: number): boolean {
  return f[at + LAG_N]! >= f[at + SLOTS]! && f[at + LAG_P]! < GATE * f[at + LAG_HALF]!;
}

/**
 * Judge `x` at time `t` against the seasonal profile in force (null when none is), then learn it.
 * Call for every point with a value, in time order.
 */
export function seasonalStep(s: SeasonalProfileState, t: number, x: number): SeasonalExpectation | null {
  const out: SeasonalExpectation = { expected: ZERO, local: ZERO, sigma: ZERO, periodMs: ZERO, seasons: ZERO, altZ: ZERO };
  return seasonalStepInto(s, t, x, out) ? out : null;
}

/** `seasonalStep` writing the expectation into `out` (true) instead of allocating one (false = none in force). */
export function seasonalStepInto(s: SeasonalProfileState, instant: number, x: number, out: SeasonalExpectation): boolean {
  const spacing = observeSpacing(s.spacing, instant);
  if (!isValue(x) || !Number.isFinite(instant) || spacing <= 0) return false;
  // slots are cut from wall-clock time: a DST change skips or repeats a slot instead of moving them all
  const t = s.tz === undefined ? instant : localMs(instant, s.tz);
  if (!s.ready) {
    if (s.spacing.given || s.spacing.gaps.length >= 9) setup(s, spacing);
    if (!s.ready) return false;
  }
  const f = s.f;
  // the one-spacing-on shortcut for the phase is exact when time, spacing and period are integers
  const integral = Number.isInteger(t) && Math.abs(t) < SAFE && Number.isInteger(spacing);
  const best = inForce(s);
  // the choice between profiles compares them over the same, longest period: a daily profile
  // that fits the weekdays must not win the weekend on the last two days' fit
  const selSpan = scaleSpan(f[profileAt(s, s.np - 1) + BUCKETS]!);
  let found = false;
  // how far the point is from the other ready profile (a Saturday morning that the daily profile,
  // in force for its fit on weekdays, reads as a missing rush hour is a Saturday to the weekly one)
  let altZ = Number.POSITIVE_INFINITY;
  for (let q = 0; q < s.np; q++) {
    const at = profileAt(s, q);
    const periodMs = f[at + PERIOD]!;
    let ph: number;
    let season: number;
    if (integral && t - f[at + LAST_T]! === spacing) {
      // one bucket on: the season moves on exactly when the phase wraps (no division)
      ph = f[at + LAST_PH]! + spacing;
      season = f[at + LAST_SEASON]!;
      if (ph >= periodMs) {
        ph -= periodMs;
        season++;
      }
    } else {
      ph = phase(t, periodMs);
      season = Math.floor((t - ph) / periodMs);
    }
    f[at + LAST_T] = integral && Number.isInteger(periodMs) ? t : Number.NaN;
    f[at + LAST_PH] = ph;
    f[at + LAST_SEASON] = season;
    // still inside the last point's slot (the last slot runs to the end of the period): no division
    const slots = f[at + SLOTS]!;
    const slotMs = f[at + SLOT_MS]!;
    let slot = f[at + LAST_SLOT]!;
    if (slot < 0 || ph < slot * slotMs || (slot < slots - 1 && ph >= (slot + 1) * slotMs)) {
      slot = Math.min(slots - 1, Math.floor(ph / slotMs));
      f[at + LAST_SLOT] = slot;
    }
    if (slot !== f[at + ACC_SLOT] || season !== f[at + ACC_SEASON]) {
      commit(s, at);
      f[at + ACC_SLOT] = slot;
      f[at + ACC_SEASON] = season;
      f[at + ACC_MED_N] = -1;
    }
    // the past seasons of a slot do not change while it is being filled: one median per slot
    if (f[at + ACC_MED_N]! < 0) pastMedian(s, at, slot, season);
    const n = f[at + ACC_MED_N]!;
    let stored = x;
    if (n >= MIN_SEASONS) {
      const med = f[at + ACC_MED]!;
      const r = x - med;
      const scale = f[at + MAE_N]! > 0 ? f[at + MAE]! : Math.abs(r);
      const sigma = Math.max(scale * MAE_TO_SIGMA, 1e-12);
      if (at === best) {
        out.expected = med;
        out.local = t;
        out.sigma = sigma;
        out.periodMs = periodMs;
        out.seasons = n;
        found = true;
      } else if (best >= 0 && periodMs > f[best + PERIOD]! && READY[q] === 1)
        // measured in the scale of the profile in force: its noise, not a noisier profile's, says what is close
        altZ = Math.min(altZ, Math.abs(r) / Math.max(f[best + MAE]! * MAE_TO_SIGMA, 1e-12));
      const clip = scale > 0 ? CLIP * scale * MAE_TO_SIGMA : Math.abs(r);
      if (Math.abs(r) > clip) stored = med + Math.sign(r) * clip;
      learnScale(f, at, Math.min(Math.abs(r), clip), selSpan);
    }
    f[at + ACC_SUM] = f[at + ACC_SUM]! + stored;
    f[at + ACC_N] = f[at + ACC_N]! + 1;
  }
  out.altZ = altZ;
  return found;
}

/** Learn a clipped |residual| `a` into the profile's pooled scale, and into its scale over the choice's span `selSpan`. */
function learnScale(f: Float64Array, at: number, a: number, selSpan: number): void {
  // pooled scale: running mean over about one season (at least 50 points)
  const maeN = f[at + MAE_N]!;
  const mae = f[at + MAE]!;
  const span = scaleSpan(f[at + BUCKETS]!);
  if (maeN < span) {
    f[at + MAE_N] = maeN + 1;
    f[at + MAE] = mae + (a - mae) / (maeN + 1);
  } else f[at + MAE] = mae + (a - mae) / span;
  // a profile whose scale already runs over the choice's span is measured by it (the longest one)
  if (span !== selSpan) {
    const selN = f[at + SEL_N]!;
    if (selN < selSpan) f[at + SEL_N] = selN + 1;
    f[at + SEL_MAE] = f[at + SEL_MAE]! + (a - f[at + SEL_MAE]!) / Math.min(selN + 1, selSpan);
  }
}

/** Residuals a profile's pooled scale runs over: about one season, at least 50, at most 2000. */
function scaleSpan(buckets: number): number {
  return Math.max(50, Math.min(buckets, 2000));
}

/** Per profile, whether `inForce` found it ready at this point (steps are synchronous: one for all). */
const READY = new Uint8Array(PERIODS.length);

/** Whether the profile at `at` may be in force: a real period whose scale has run a season (or its whole span when a season is longer, a week of 5-minute buckets). */
function ready(f: Float64Array, at: number): boolean {
  return real(f, at) && f[at + MAE_N]! >= Math.min(f[at + BUCKETS]!, scaleSpan(f[at + BUCKETS]!));
}

/** Where the profile in force starts in `s.f`: the real period with the smaller residual over the longest period (−1: none); marks the ready ones in READY. */
function inForce(s: SeasonalProfileState): number {
  const f = s.f;
  const selSpan = scaleSpan(f[profileAt(s, s.np - 1) + BUCKETS]!);
  let best = -1;
  let bestErr = Number.POSITIVE_INFINITY;
  READY.fill(0);
  for (let q = 0; q < s.np; q++) {
    const at = profileAt(s, q);
    if (!ready(f, at)) continue;
    READY[q] = 1;
    const err = scaleSpan(f[at + BUCKETS]!) === selSpan ? f[at + MAE]! : f[at + SEL_MAE]!;
    if (best < 0 || err < bestErr) {
      best = at;
      bestErr = err;
    }
  }
  return best;
}

/** The median of the past seasons of `slot` before `season`, and how many there are, into ACC_MED and ACC_MED_N. */
function pastMedian(s: SeasonalProfileState, at: number, slot: number, season: number): void {
  const f = s.f;
  let n = 0;
  for (let si = season - f[at + SEASONS]!; si < season; si++) {
    const v = slotValue(s, at, slot, si);
    if (!Number.isNaN(v)) SCRATCH[n++] = v;
  }
  f[at + ACC_MED_N] = n;
  f[at + ACC_MED] = n >= MIN_SEASONS ? smallMedian(SCRATCH, n) : 0;
}

/** Carry a level shift into every stored season (the ensemble re-baselined by `delta`). */
export function seasonalShift(s: SeasonalProfileState, delta: number): void {
  const f = s.f;
  for (let q = 0; q < s.np; q++) {
    const at = profileAt(s, q);
    // the stored means are offsets from REF: moving it moves them all
    if (!Number.isNaN(f[at + REF]!)) f[at + REF] = f[at + REF]! + delta;
    f[at + ACC_SUM] = f[at + ACC_SUM]! + f[at + ACC_N]! * delta;
    f[at + ACC_MED_N] = -1;
  }
}

/** A profile's learnt numbers, for tests that compare two states: its cells, scale and lag test. */
export function profileSummary(s: SeasonalProfileState): { vals: number[]; mae: number; lagP: number; lagHalf: number }[] {
  return Array.from({ length: s.np }, (_, q) => {
    const at = profileAt(s, q);
    const f = s.f;
    const from = f[at + VALS_AT]!;
    return {
      vals: Array.from(s.vals.subarray(from, from + f[at + SLOTS]! * f[at + SEASONS]!)),
      mae: f[at + MAE]!,
      lagP: f[at + LAG_P]!,
      lagHalf: f[at + LAG_HALF]!,
    };
  });
}

/** Forget where the last point was, so the next one computes its phase from scratch (tests of that path). */
export function forgetPhase(s: SeasonalProfileState): void {
  for (let q = 0; q < s.np; q++) s.f[profileAt(s, q) + LAST_T] = Number.NaN;
}

const DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/** "Monday 14:00" (weekly) or "14:00" (daily) of a wall-clock time (floating ms: `SeasonalExpectation.local`). */
export function slotLabel(t: number, periodMs: number): string {
  const d = new Date(t);
  const hm = `${String(d.getUTCHours()).padStart(2, "0")}:${String(d.getUTCMinutes()).padStart(2, "0")}`;
  return periodMs === WEEK_MS ? `${DAYS[(d.getUTCDay() + 6) % 7]} ${hm}` : hm;
}
