/**
 * Time in detector parameters. Config writes durations ("1d", "2h", or seconds as a number);
 * detectors see points with epoch-ms `t`. The bucket spacing comes from the `granularity_ms`
 * parameter when the engine passes it, otherwise it is inferred from the data (spacing.ts). These
 * are the parameters' schemas; the step code reads durations with `durationMs` (src/duration.ts).
 */
import { z } from "zod";
import { parseDuration } from "../src/model/duration.js";
import { zoneProblem } from "./local-time.js";

/**
 * A duration parameter. Kept as the text (or seconds) the operator wrote rather than transformed,
 * because zod transforms cannot be expressed in the generated JSON Schema; detectors convert it
 * once in `init()` with `durationMs`.
 */
export function durationParam(description: string, fallback: string) {
  return z
    .union([z.number().nonnegative(), z.string()])
    .refine((x) => parseDuration(x) !== null, { message: 'expected a duration such as "5m", "2h", "1d"' })
    .default(fallback)
    .describe(`${description} A duration: "90s", "5m", "2h", "1d", "1w" (a bare number is seconds).`);
}

export const granularityParam = z
  .number()
  .positive()
  .optional()
  .describe(
    "Bucket size in milliseconds. The engine passes the metric's granularity (and feeds every bucket it judges, empty ones as missing values: only those count as missing data, at times the series normally has rows); when absent it is inferred from the data (median gap between the first timestamps) and gaps between timestamps count as missing data.",
  );

/**
 * The zone of the wall clock a detector's daily and weekly slots follow. The engine passes the
 * config's `timezone` for buckets under a day; absent = UTC. Checked once here, so steps never throw.
 */
export const timezoneParam = z
  .string()
  .refine((tz) => zoneProblem(tz) === undefined, { message: "expected an IANA time zone such as Europe/Berlin" })
  .optional()
  .describe(
    "IANA zone whose wall-clock time of day and day of week the seasonal slots follow (so a daily pattern stays put across DST changes). The engine passes the config's `timezone`; absent = UTC.",
  );
