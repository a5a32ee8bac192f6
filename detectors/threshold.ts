import { z } from "zod";
import { type DetectorDefinition, NO_VERDICT, type Point, type Verdict } from "./types.js";

const params = z.object({
  min: z.number().optional().describe("Alert when the value falls below this."),
  max: z.number().optional().describe("Alert when the value rises above this."),
});
export type ThresholdParams = z.infer<typeof params>;

/** Static min/max limits. */
export const threshold: DetectorDefinition<ThresholdParams, null> = {
  type: "threshold",
  params,
  init: () => null,
  step(_state, point: Point, p): Verdict {
    const v = point.v;
    if (v === null || !Number.isFinite(v)) return NO_VERDICT;
    const lower = p.min ?? null;
    const upper = p.max ?? null;
    if (lower !== null && v < lower) {
      return { expected: lower, lower, upper, score: 1, anomaly: true, sigmas: null, reason: `below the minimum ${lower}` };
    }
    if (upper !== null && v > upper) {
      return { expected: upper, lower, upper, score: 1, anomaly: true, sigmas: null, reason: `above the maximum ${upper}` };
    }
    return { expected: null, lower, upper, score: 0, anomaly: false, sigmas: null, reason: "" };
  },
};
