/**
 * The bucket spacing a detector works with: the `granularity_ms` parameter when the engine passes
 * it, otherwise inferred from the data as the median of the first few positive timestamp gaps
 * (robust to a missing bucket or a duplicate timestamp). Step code only: no schema library, so the
 * detector thread of `vigil detect` starts without loading one.
 */
import { mutableFields, ZERO } from "./stats.js";

const SAMPLE = 9;

/** Streaming estimate of the bucket spacing. Fixed once enough gaps are seen, so it cannot drift. */
export interface SpacingState {
  /** True when the engine gave the granularity: no inference. */
  given: boolean;
  lastT: number;
  gaps: number[];
  spacing: number;
}

/** The gaps of every state with a given spacing: never read or grown (a daemon keeps 10,000 states). */
const NO_GAPS: number[] = [];

export function spacingState(granularityMs: number | undefined): SpacingState {
  const given = granularityMs !== undefined;
  return mutableFields({ given, lastT: Number.NaN, gaps: given ? NO_GAPS : [], spacing: granularityMs ?? ZERO });
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
