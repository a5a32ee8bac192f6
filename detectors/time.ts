/**
 * Time in detector parameters. Config writes durations ("1d", "2h", or seconds as a number);
 * detectors see points with epoch-ms `t`. The bucket spacing comes from the `granularity_ms`
 * parameter when the engine passes it, otherwise it is inferred from the data as the median of
 * the first few positive timestamp gaps (robust to a missing bucket or a duplicate timestamp).
 */
import { z } from "zod";
import { parseDuration } from "../src/duration.js";
import { ZERO } from "./stats.js";

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

/** Milliseconds of a validated duration parameter. */
export function durationMs(x: string | number): number {
  const ms = parseDuration(x);
  if (ms === null) throw new Error(`not a duration: ${String(x)}`);
  return ms;
}

export const granularityParam = z
  .number()
  .positive()
  .optional()
  .describe(
    "Bucket size in milliseconds. The engine passes the metric's granularity; when absent it is inferred from the data (median gap between the first timestamps).",
  );

const SAMPLE = 9;

/** Streaming estimate of the bucket spacing. Fixed once enough gaps are seen, so it cannot drift. */
export interface SpacingState {
  /** True when the engine gave the granularity: no inference. */
  given: boolean;
  lastT: number;
  gaps: number[];
  spacing: number;
}

export function spacingState(granularityMs: number | undefined): SpacingState {
  return { given: granularityMs !== undefined, lastT: Number.NaN, gaps: [], spacing: granularityMs ?? ZERO };
}

/** Observe a timestamp; returns the current spacing estimate in ms (0 while unknown). */
export function observeSpacing(s: SpacingState, t: number): number {
  if (s.given || s.gaps.length >= SAMPLE || !Number.isFinite(t)) return s.spacing;
  const gap = t - s.lastT;
  s.lastT = t;
  if (gap > 0) {
    s.gaps.push(gap);
    const sorted = [...s.gaps].sort((a, b) => a - b);
    s.spacing = sorted[(sorted.length - 1) >>> 1]!;
  }
  return s.spacing;
}
