/** The per-metric alert policy applied to every detector's verdict: `direction` and `min_change`. */
import type { Verdict } from "../../detectors/types.js";
import type { Direction, MinChange } from "../config/types.js";

export interface PolicyInput {
  direction: Direction;
  minChange: MinChange | null;
}

/** Whether a verdict, after the policy, counts as anomalous. */
export function passesPolicy(v: Verdict, value: number | null, policy: PolicyInput): boolean {
  if (!v.anomaly && v.ongoing !== true) return false;
  // Missing data or a detector without an expected value: the policy has nothing to measure.
  if (value === null || v.expected === null) return true;
  const diff = value - v.expected;
  if (policy.direction === "up" && diff <= 0) return false;
  if (policy.direction === "down" && diff >= 0) return false;
  if (policy.minChange) {
    const size = policy.minChange.kind === "relative" ? Math.abs(diff) / Math.abs(v.expected) : Math.abs(diff);
    // A relative change against an expected value of 0 is infinite: it passes.
    if (!(size >= policy.minChange.value) && !(policy.minChange.kind === "relative" && v.expected === 0)) return false;
  }
  return true;
}
