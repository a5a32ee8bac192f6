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
  /** Time of the last bucket with data (NaN before the first). */
  lastDataT: number;
  /** Start of the current run of one unchanged value. */
  sameSince: number;
  lastValue: number;
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
  init: (p) => ({
    afterMs: durationMs(p.after),
    spacing: spacingState(p.granularity_ms),
    lastDataT: Number.NaN,
    sameSince: Number.NaN,
    lastValue: Number.NaN,
  }),
  step: (s, point: Point, p): Verdict => missingStep(s, point.t, point.v ?? Number.NaN, p),
};

/** `missing.step` on a bare time and value (NaN = no value): no point object per call. */
export function missingStep(s: MissingState, t: number, v: number, p: MissingParams): Verdict {
  const spacing = observeSpacing(s.spacing, t);
  if (!isValue(v)) {
    if (Number.isNaN(s.lastDataT)) return OK;
    // this bucket is empty: data has been missing from the end of the last bucket with data
    const silent = t + spacing - (s.lastDataT + spacing);
    if (silent > s.afterMs) {
      return flagged(`no data for ${formatDuration(silent)}`, s.lastValue, silent, s.afterMs);
    }
    return OK;
  }
  let verdict = OK;
  if (!Number.isNaN(s.lastDataT)) {
    // buckets between the last one with data and this one never arrived
    const gap = t - s.lastDataT - spacing;
    if (gap > s.afterMs) verdict = flagged(`data resumed after a ${formatDuration(gap)} gap`, null, gap, s.afterMs);
  }
  if (p.stale) {
    if (v !== s.lastValue) s.sameSince = t;
    const frozen = t - s.sameSince;
    if (verdict === OK && frozen > s.afterMs) {
      verdict = flagged(`value unchanged at ${v} for ${formatDuration(frozen)}`, v, frozen, s.afterMs);
    }
  }
  if (Number.isNaN(s.lastDataT) || t > s.lastDataT) s.lastDataT = t;
  s.lastValue = v;
  return verdict;
}
