/**
 * Where a seasonal profile keeps what it learnt (seasonal-profile.ts: what it does with it): its
 * numbers, laid out from one list of named fields, and its cells, the stored slot means of the
 * last few seasons with a tag per slot that tells which seasons they are.
 */
import { layout } from "./arena.js";
import type { SpacingState } from "./spacing.js";

/**
 * A profile is a run of numbers in the state's `f`, at `profileAt(s, q)`; these are their offsets.
 * Keeping them in one typed array rather than an object per profile means a point reads a few
 * adjacent cache lines (a daemon steps 10,000 series a tick, none of them in cache).
 */
export const PROFILE_LAYOUT = layout([
  ["PERIOD", 1],
  ["SLOTS", 1],
  // a slot's length (ms): a few buckets at fine bucket sizes
  ["SLOT_MS", 1],
  // buckets per season (slots × buckets per slot, or a little less when the last slot is short)
  ["BUCKETS", 1],
  ["SEASONS", 1],
  // where the profile's cells start in `vals` and its slots in `tags`
  ["VALS_AT", 1],
  ["TAGS_AT", 1],
  // level the stored means are offsets from (the first one stored); a level shift moves it
  ["REF", 1],
  // the slot being filled: slot, season (NaN = none), sum and count of its (clipped) values
  ["ACC_SLOT", 1],
  ["ACC_SEASON", 1],
  ["ACC_SUM", 1],
  ["ACC_N", 1],
  // the median of the past seasons of that slot, and how many (fixed while the slot is filled; −1 = to compute)
  ["ACC_MED", 1],
  ["ACC_MED_N", 1],
  // pooled running mean |residual| (clipped) and how many residuals it has seen
  ["MAE", 1],
  ["MAE_N", 1],
  // the same over the longest candidate period, and its count, for a profile whose scale runs shorter
  // (the daily one): which profile is in force is chosen by it
  ["SEL_MAE", 1],
  ["SEL_N", 1],
  // lag test over slot means: running mean |x − x(t−P)| and |x − x(t−P/2)|, and their sample count
  ["LAG_P", 1],
  ["LAG_HALF", 1],
  ["LAG_N", 1],
  // last time seen and its phase and season (cache: the next bucket's phase is one spacing on, which spares
  // the float remainders; only used when every term is an integer, where it is exact)
  ["LAST_T", 1],
  ["LAST_PH", 1],
  // the last point's season and slot (−1: none yet)
  ["LAST_SEASON", 1],
  ["LAST_SLOT", 1],
]);
/** Numbers per profile. */
export const PF = PROFILE_LAYOUT.length;

const { SEASONS, VALS_AT, TAGS_AT, REF } = PROFILE_LAYOUT.at;

export interface SeasonalProfileState {
  spacing: SpacingState;
  /** Profiles set up (once the bucket size is known): 0, 1 or 2. */
  np: number;
  ready: boolean;
  /** The profiles' numbers, from `at` (the owner's 8-byte view, shared with its other numbers). */
  f: Float64Array;
  at: number;
  /**
   * Per profile, slot × seasons: stored slot mean (of clipped values) as a float32 offset from
   * REF (NaN = none), in the cell of its season modulo SEASONS; and per slot the tag of the latest
   * season stored (`seasonTag`; 0 = none), which tells which seasons the cells hold. A daemon
   * keeps thousands of these: 4 bytes a cell and 2 a slot. Runs of the owner's 4- and 2-byte
   * views; where each profile's run starts is among its numbers (VALS_AT, TAGS_AT).
   */
  vals: Float32Array;
  tags: Uint16Array;
  /** Zone of the wall clock the slots follow; undefined = UTC. */
  tz: string | undefined;
}

/** Where profile `q`'s numbers start in `s.f`. */
export function profileAt(s: SeasonalProfileState, q: number): number {
  return s.at + q * PF;
}

/**
 * The tag a slot keeps of its latest season: the season number + 1, modulo 2^16 (0 = none). A
 * stale cell could only pass for a current one 65,536 seasons later.
 */
function seasonTag(season: number): number {
  return (season + 1) & 0xffff;
}

/** Index in `vals` of the cell of `slot` for `season`, in the profile at `at`. */
function cell(f: Float64Array, at: number, slot: number, season: number): number {
  const n = f[at + SEASONS]!;
  const r = season % n;
  return f[at + VALS_AT]! + slot * n + (r < 0 ? r + n : r);
}

/**
 * Does `slot`'s cell for `season` hold that season: one of the last SEASONS up to the latest
 * stored (a season skipped on the way was emptied, so its cell reads NaN).
 */
export function holds(s: SeasonalProfileState, at: number, slot: number, season: number): boolean {
  const last = s.tags[s.f[at + TAGS_AT]! + slot]!;
  return last !== 0 && ((last - seasonTag(season)) & 0xffff) < s.f[at + SEASONS]!;
}

/** Mean stored for `slot` in `season`, or NaN (no value then, or overwritten since). */
export function slotValue(s: SeasonalProfileState, at: number, slot: number, season: number): number {
  const f = s.f;
  return holds(s, at, slot, season) ? f[at + REF]! + s.vals[cell(f, at, slot, season)]! : Number.NaN;
}

/** Store `x` (an offset from REF) for `slot` in `season`, emptying the cells of the seasons skipped since the slot's latest. */
export function store(s: SeasonalProfileState, at: number, slot: number, season: number, x: number): void {
  const f = s.f;
  const seasons = f[at + SEASONS]!;
  const ti = f[at + TAGS_AT]! + slot;
  const tag = seasonTag(season);
  const last = s.tags[ti]!;
  const ahead = (tag - last) & 0xffff;
  if (last === 0 || (ahead > 0 && ahead < 0x8000)) {
    // a newer season: the seasons between the latest and this one have no value
    const skipped = last === 0 ? seasons : Math.min(ahead - 1, seasons);
    for (let k = 1; k <= skipped; k++) s.vals[cell(f, at, slot, season - k)] = Number.NaN;
    s.tags[ti] = tag;
  } else if (((last - tag) & 0xffff) >= seasons) {
    // an older season than the cells hold (time went back): its cell belongs to a newer one, which
    // it would overwrite; it keeps neither
    s.vals[cell(f, at, slot, season)] = Number.NaN;
    return;
  }
  s.vals[cell(f, at, slot, season)] = x;
}
