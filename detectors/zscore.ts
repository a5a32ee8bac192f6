import { z } from "zod";
import type { Point } from "../src/model/point.js";
import { type DetectorDefinition, NO_VERDICT, type Verdict } from "./types.js";

const params = z.object({
  window: z.number().int().min(3).default(48).describe("Number of past points forming the baseline."),
  k: z.number().positive().default(3).describe("Band half-width in standard deviations."),
  min_points: z.number().int().min(2).default(12).describe("Points needed before judging (warm-up)."),
});
export type ZscoreParams = z.infer<typeof params>;

interface ZscoreState {
  buf: number[];
  head: number;
  count: number;
  sum: number;
  sumSq: number;
}

/** Rolling mean ± k standard deviations over the last `window` points (the point itself excluded). */
export const zscore: DetectorDefinition<ZscoreParams, ZscoreState> = {
  type: "zscore",
  params,
  init: (p) => ({ buf: new Array<number>(p.window).fill(0), head: 0, count: 0, sum: 0, sumSq: 0 }),
  step(s, point: Point, p): Verdict {
    const v = point.v;
    if (v === null || !Number.isFinite(v)) return NO_VERDICT;
    let verdict: Verdict = NO_VERDICT;
    if (s.count >= p.min_points) {
      const mean = s.sum / s.count;
      const variance = Math.max(0, (s.sumSq - s.count * mean * mean) / (s.count - 1));
      const sd = Math.sqrt(variance);
      const scale = sd > 0 ? sd : Math.max(Math.abs(mean) * 1e-9, 1e-12);
      const z = (v - mean) / scale;
      const anomaly = Math.abs(z) > p.k;
      verdict = {
        expected: mean,
        lower: mean - p.k * sd,
        upper: mean + p.k * sd,
        score: Math.min(1, Math.abs(z) / (2 * p.k)),
        anomaly,
        sigmas: z,
        reason: anomaly ? `${Math.abs(z).toFixed(1)}σ ${z > 0 ? "above" : "below"} the ${s.count}-point mean` : "",
      };
    }
    // advance the ring buffer
    if (s.count === p.window) {
      const old = s.buf[s.head]!;
      s.sum -= old;
      s.sumSq -= old * old;
    } else {
      s.count++;
    }
    s.buf[s.head] = v;
    s.sum += v;
    s.sumSq += v * v;
    s.head = (s.head + 1) % p.window;
    return verdict;
  },
};
