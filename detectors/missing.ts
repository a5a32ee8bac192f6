/**
 * `missing`: no data, or stale data, for longer than `after`. Detectors are pure, so "no data" is
 * read off the points: a run of empty buckets (v = null/NaN, which the daemon feeds for buckets the
 * source did not return) or a gap between timestamps. The first point that closes a gap longer
 * than `after` is flagged too, so offline CSVs with holes are reported. With `stale: true`, a value
 * repeated unchanged for longer than `after` (a frozen exporter) counts as missing.
 */
import { z } from "zod";
import type { Point } from "../src/model/point.js";
import { MISSING_NUMBERS, type MissingParams, type MissingState, missingStateIn, missingStep } from "./missing-core.js";
import { durationParam, granularityParam, timezoneParam } from "./time.js";
import type { DetectorDefinition, SameParams, Verdict } from "./types.js";

const params = z.object({
  after: durationParam("Alert once data has been missing (or stale) for longer than this.", "1h"),
  stale: z.boolean().default(false).describe("Also treat an unchanged value repeated for longer than `after` as missing."),
  granularity_ms: granularityParam,
  timezone: timezoneParam,
});

const schemaYields: SameParams<z.infer<typeof params>, MissingParams> = true;
void schemaYields;

export const missing: DetectorDefinition<MissingParams, MissingState> = {
  type: "missing",
  params,
  init: (p) => missingStateIn(p, new Float64Array(MISSING_NUMBERS), 0),
  step: (s, point: Point, p): Verdict => missingStep(s, point.t, point.v ?? Number.NaN, p),
};
