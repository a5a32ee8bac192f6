/**
 * `missing`: no data, or stale data, for longer than `after`. Detectors are pure, so "no data" is
 * read off the points: a run of empty buckets (v = null/NaN, which the daemon feeds for buckets the
 * source did not return) or a gap between timestamps. The first point that closes a gap longer
 * than `after` is flagged too, so offline CSVs with holes are reported. With `stale: true`, a value
 * repeated unchanged for longer than `after` (a frozen exporter) counts as missing.
 */
import { z } from "zod";
import { isValue } from "./stats.js";
import { durationMs, durationParam, granularityParam, observeSpacing, type SpacingState, spacingState } from "./time.js";
import type { DetectorDefinition, Point, Verdict } from "./types.js";
import { formatDuration } from "../src/duration.js";

const params = z.object({
  after: durationParam("Alert once data has been missing (or stale) for longer than this.", "1h"),
  stale: z.boolean().default(false).describe("Also treat an unchanged value repeated for longer than `after` as missing."),
  granularity_ms: granularityParam,
});
export type MissingParams = z.infer<typeof params>;

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
export const MISSING_NUMBERS = 3;

/** A state whose numbers live in `f` at `at` (MISSING_NUMBERS of them). */
export function missingStateIn(p: MissingParams, f: Float64Array, at: number): MissingState {
  f.fill(Number.NaN, at, at + MISSING_NUMBERS);
  return { afterMs: durationMs(p.after), spacing: spacingState(p.granularity_ms), f, at };
}

const OK: Verdict = Object.freeze({
  expected: null,
  lower: null,
  upper: null,
  score: 0,
  anomaly: false,
  sigmas: null,
  reason: "",
}) as Verdict;

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

export const missing: DetectorDefinition<MissingParams, MissingState> = {
  type: "missing",
  params,
  init: (p) => missingStateIn(p, new Float64Array(MISSING_NUMBERS), 0),
  step: (s, point: Point, p): Verdict => missingStep(s, point.t, point.v ?? Number.NaN, p),
};

/** `missing.step` on a bare time and value (NaN = no value): no point object per call. */
export function missingStep(s: MissingState, t: number, v: number, p: MissingParams): Verdict {
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
    if (gap > s.afterMs) verdict = flagged(`data resumed after a ${formatDuration(gap)} gap`, null, gap, s.afterMs);
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
