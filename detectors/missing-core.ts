/**
 * The step code of `missing` (missing.ts has its parameter schema): the state and `missingStep`.
 * No schema library here, so that the ensemble's step code (which embeds this detector) loads
 * without one on the detector thread of `vigil detect`.
 *
 * Two ways of seeing a silence. When the bucket size is given (the daemon and backtest feed every
 * bucket the metric's calendar judges, empty ones as missing values), silence is the time of empty
 * buckets at which the series normally has data (presence.ts): routine nights and weekends are not
 * missing data, and buckets the engine left out (outside the calendar, holidays, thin buckets) are
 * not counted at all. Otherwise (an offline CSV with holes) it is the time between timestamps.
 */
import { durationMs, formatDuration } from "../src/model/duration.js";
import { localMs } from "./local-time.js";
import {
  PRESENCE_NUMBERS,
  type PresenceLayout,
  type PresenceState,
  presenceExpected,
  presenceLayout,
  presenceRecord,
  seededPresence,
} from "./presence.js";
import { observeSpacing, type SpacingState, spacingState } from "./spacing.js";
import { isValue, mutableFields } from "./stats.js";
import { NO_VERDICT, type Verdict } from "./types.js";

/** `missing`'s parameters, parsed (missing.ts: the schema that yields them). */
export interface MissingParams {
  after: string | number;
  stale: boolean;
  granularity_ms?: number | undefined;
  /** Zone whose local hours and days the presence profile's slots follow (absent = UTC). */
  timezone?: string | undefined;
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
  /** Slots of its presence profile (null = buckets too coarse, or the bucket size is not given). */
  layout: PresenceLayout | null;
  /** When the series normally has rows: made at its first empty bucket after data (most series never have one). */
  presence: PresenceState | null;
}
const LAST_DATA_T = 0;
const SAME_SINCE = 1;
const LAST_VALUE = 2;
/** The longest gap data has resumed after so far (0 = none yet). */
const LONGEST_GAP = 3;
/** Time of the empty buckets since the last data at which data is normally present (bucket size given). */
const SILENT = 4;
/** Local time of the first bucket with data (bucket size given; NaN before). */
const FIRST_LOCAL = 5;
const PRESENCE_AT = 6;
export const MISSING_NUMBERS = PRESENCE_AT + PRESENCE_NUMBERS;

/** A state whose numbers live in `f` at `at` (MISSING_NUMBERS of them). */
export function missingStateIn(p: MissingParams, f: Float64Array, at: number): MissingState {
  f.fill(Number.NaN, at, at + PRESENCE_AT);
  f[at + LONGEST_GAP] = 0;
  f[at + SILENT] = 0;
  return mutableFields({
    afterMs: durationMs(p.after),
    spacing: spacingState(p.granularity_ms),
    f,
    at,
    layout: presenceLayout(p.granularity_ms),
    presence: null,
  });
}

/** The series' presence profile, made at its first empty bucket after data: every bucket so far had rows. */
function profileOf(s: MissingState, local: number): PresenceState {
  if (s.presence !== null) return s.presence;
  s.presence = seededPresence(s.layout!, s.f[s.at + FIRST_LOCAL]!, local, s.f, s.at + PRESENCE_AT);
  return s.presence;
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
    kind: "missing",
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
  const counted = s.spacing.given;
  if (!isValue(v)) {
    if (Number.isNaN(lastDataT)) return OK;
    let expected = true;
    if (counted && s.layout !== null) {
      const local = localMs(t, p.timezone);
      expected = presenceExpected(profileOf(s, local), local);
    }
    if (expected) f[at + SILENT] = f[at + SILENT]! + spacing;
    // this bucket is empty: data has been missing from the end of the last bucket with data
    const silent = counted ? f[at + SILENT]! : t - lastDataT;
    if (silent > s.afterMs) {
      // counted silences only ever add up times at which the series normally has rows: say so once it has a profile
      const where = counted && s.layout !== null ? ", at a time this series normally has data" : "";
      return flagged(`no data for ${formatDuration(silent)}${where}`, f[at + LAST_VALUE]!, silent, s.afterMs);
    }
    return OK;
  }
  if (counted && s.layout !== null) {
    const local = localMs(t, p.timezone);
    if (s.presence !== null) {
      presenceExpected(s.presence, local);
      presenceRecord(s.presence, local);
    } else if (Number.isNaN(f[at + FIRST_LOCAL]!)) f[at + FIRST_LOCAL] = local;
  }
  let verdict = OK;
  if (!Number.isNaN(lastDataT)) {
    // buckets between the last one with data and this one never arrived
    const gap = counted ? f[at + SILENT]! : t - lastDataT - spacing;
    const longest = f[at + LONGEST_GAP]!;
    if (gap > longest) f[at + LONGEST_GAP] = gap;
    if (gap > s.afterMs && (!longestOnly || gap > longest))
      verdict = flagged(`data resumed after a ${formatDuration(gap)} gap`, null, gap, s.afterMs);
  }
  f[at + SILENT] = 0;
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
