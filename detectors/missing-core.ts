/**
 * The step code of `missing` (missing.ts has its parameter schema): the state and `missingStep`.
 * No schema library here, so that the ensemble's step code (which embeds this detector) loads
 * without one on the detector thread of `vigil detect`.
 */
import { durationMs, formatDuration } from "../src/duration.js";
import { observeSpacing, type SpacingState, spacingState } from "./spacing.js";
import { isValue, mutableFields } from "./stats.js";
import { NO_VERDICT, type Verdict } from "./types.js";

/** `missing`'s parameters, parsed (missing.ts: the schema that yields them). */
export interface MissingParams {
  after: string | number;
  stale: boolean;
  granularity_ms?: number | undefined;
}

export interface MissingState {
  afterMs: number;
  spacing: SpacingState;
  /**
   * The state's numbers, `f[at..at + MISSING_NUMBERS)`: time of the last bucket with data (NaN
   * before the first), start of the current run of one unchanged value, the last value. In a
   * typed array, possibly the host detector's (the ensemble keeps them next to its own): a daemon
   * steps 10,000 series a tick, and a boxed field per number is a cache line each.
   */
  f: Float64Array;
  at: number;
}
const LAST_DATA_T = 0;
const SAME_SINCE = 1;
const LAST_VALUE = 2;
/** The longest gap data has resumed after so far (0 = none yet). */
const LONGEST_GAP = 3;
export const MISSING_NUMBERS = 4;

/** A state whose numbers live in `f` at `at` (MISSING_NUMBERS of them). */
export function missingStateIn(p: MissingParams, f: Float64Array, at: number): MissingState {
  f.fill(Number.NaN, at, at + MISSING_NUMBERS);
  f[at + LONGEST_GAP] = 0;
  return mutableFields({ afterMs: durationMs(p.after), spacing: spacingState(p.granularity_ms), f, at });
}

/** Nothing missing. */
const OK = NO_VERDICT;

function flagged(reason: string, expected: number | null, silentMs: number, afterMs: number): Verdict {
  return {
    expected,
    lower: null,
    upper: null,
    // 0.5 at `after`, approaching 1 as the silence grows
    score: silentMs / (silentMs + afterMs),
    anomaly: true,
    sigmas: null,
    reason,
  };
}

/**
 * `missing.step` on a bare time and value (NaN = no value): no point object per call.
 * `longestOnly`: data resuming after a gap is flagged only when the gap is longer than every
 * earlier one (the ensemble's rule; `missing` itself flags every gap beyond `after`).
 */
export function missingStep(s: MissingState, t: number, v: number, p: MissingParams, longestOnly = false): Verdict {
  const spacing = observeSpacing(s.spacing, t);
  const f = s.f;
  const at = s.at;
  const lastDataT = f[at + LAST_DATA_T]!;
  if (!isValue(v)) {
    if (Number.isNaN(lastDataT)) return OK;
    // this bucket is empty: data has been missing from the end of the last bucket with data
    const silent = t + spacing - (lastDataT + spacing);
    if (silent > s.afterMs) {
      return flagged(`no data for ${formatDuration(silent)}`, f[at + LAST_VALUE]!, silent, s.afterMs);
    }
    return OK;
  }
  let verdict = OK;
  if (!Number.isNaN(lastDataT)) {
    // buckets between the last one with data and this one never arrived
    const gap = t - lastDataT - spacing;
    const longest = f[at + LONGEST_GAP]!;
    if (gap > longest) f[at + LONGEST_GAP] = gap;
    if (gap > s.afterMs && (!longestOnly || gap > longest)) verdict = flagged(`data resumed after a ${formatDuration(gap)} gap`, null, gap, s.afterMs);
  }
  if (p.stale) {
    if (v !== f[at + LAST_VALUE]) f[at + SAME_SINCE] = t;
    const frozen = t - f[at + SAME_SINCE]!;
    if (verdict === OK && frozen > s.afterMs) {
      verdict = flagged(`value unchanged at ${v} for ${formatDuration(frozen)}`, v, frozen, s.afterMs);
    }
  }
  if (Number.isNaN(lastDataT) || t > lastDataT) f[at + LAST_DATA_T] = t;
  f[at + LAST_VALUE] = v;
  return verdict;
}
