/**
 * `threshold`: static limits and change limits.
 *  - `min` / `max`: the value must stay within them.
 *  - `change` with `compare`: the change versus the previous bucket (`previous`) or the same slot
 *    one week earlier (`last_week`) must stay within `change`: a percentage ("20%", relative to the
 *    reference value) or a number (absolute change in the metric's unit).
 * `last_week` keeps one week of buckets (O(week / granularity)); the slot is found from the
 * timestamp, so gaps and late buckets land in the right place.
 */
import { z } from "zod";
import type { Point } from "../src/model/point.js";
import { observeSpacing, type SpacingState, spacingState } from "./spacing.js";
import { isValue } from "./stats.js";
import { granularityParam } from "./time.js";
import { type DetectorDefinition, NO_VERDICT, type Verdict } from "./types.js";

const WEEK_MS = 604_800_000;
/** Bound on the last-week memory: one week of minute buckets. */
const MAX_SLOTS = 10_080;

const changeParam = z
  .union([z.number().nonnegative(), z.string().regex(/^\s*\d+(?:\.\d+)?\s*%\s*$/, 'expected a percentage such as "20%"')])
  .optional()
  .describe('Largest allowed change versus the reference: "20%" (relative) or a number (absolute, in the metric\'s unit).');

const params = z.object({
  min: z.number().optional().describe("Alert when the value falls below this."),
  max: z.number().optional().describe("Alert when the value rises above this."),
  change: changeParam,
  compare: z
    .enum(["previous", "last_week"])
    .default("previous")
    .describe("Reference for `change`: the previous bucket, or the same slot one week earlier."),
  granularity_ms: granularityParam,
});
export type ThresholdParams = z.infer<typeof params>;

export interface ThresholdState {
  prev: number;
  spacing: SpacingState;
  /** last_week: ring of one week of buckets, with the bucket time each value belongs to. */
  weekV: Float64Array | null;
  weekT: Float64Array | null;
}

function changeLimit(change: string | number): { relative: boolean; amount: number } {
  if (typeof change === "number") return { relative: false, amount: change };
  return { relative: true, amount: Number.parseFloat(change) / 100 };
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toPrecision(4).replace(/\.?0+$/, "");
}

/** Same slot a week earlier, or NaN when that bucket was never seen. */
function lastWeek(s: ThresholdState, t: number, spacing: number): number {
  if (spacing <= 0 || WEEK_MS % spacing !== 0) return Number.NaN;
  const slots = WEEK_MS / spacing;
  if (slots > MAX_SLOTS) return Number.NaN;
  if (s.weekV === null || s.weekV.length !== slots) {
    s.weekV = new Float64Array(slots).fill(Number.NaN);
    s.weekT = new Float64Array(slots).fill(Number.NaN);
  }
  const slot = Math.floor((((t % WEEK_MS) + WEEK_MS) % WEEK_MS) / spacing);
  const ref = s.weekT![slot] === t - WEEK_MS ? s.weekV[slot]! : Number.NaN;
  return ref;
}

function remember(s: ThresholdState, t: number, v: number, spacing: number): void {
  if (s.weekV === null || spacing <= 0) return;
  const slot = Math.floor((((t % WEEK_MS) + WEEK_MS) % WEEK_MS) / spacing);
  s.weekV[slot] = v;
  s.weekT![slot] = t;
}

export const threshold: DetectorDefinition<ThresholdParams, ThresholdState> = {
  type: "threshold",
  params,
  init: (p) => ({ prev: Number.NaN, spacing: spacingState(p.granularity_ms), weekV: null, weekT: null }),
  step: (s, point, p) => judge(s, point, p, false),
  stepNotable: (s, point, p) => judge(s, point, p, true),
};

/** One point; `notable`: build the verdict only for an anomaly (NO_VERDICT otherwise), as `stepNotable` asks. */
function judge(s: ThresholdState, point: Point, p: ThresholdParams, notable: boolean): Verdict {
  const v = point.v;
  const spacing = p.change !== undefined && p.compare === "last_week" ? observeSpacing(s.spacing, point.t) : 0;
  if (!isValue(v)) return NO_VERDICT;
  const min = p.min ?? null;
  const max = p.max ?? null;
  let lower = min;
  let upper = max;
  let expected: number | null = null;
  let reason = "";
  if (min !== null && v < min) reason = `below the minimum ${fmt(min)}`;
  else if (max !== null && v > max) reason = `above the maximum ${fmt(max)}`;
  if (p.change !== undefined) {
    const ref = p.compare === "previous" ? s.prev : lastWeek(s, point.t, spacing);
    if (Number.isFinite(ref)) {
      const { relative, amount } = changeLimit(p.change);
      const allowed = relative ? Math.abs(ref) * amount : amount;
      expected = ref;
      lower = Math.max(lower ?? Number.NEGATIVE_INFINITY, ref - allowed);
      upper = Math.min(upper ?? Number.POSITIVE_INFINITY, ref + allowed);
      const d = v - ref;
      if (reason === "" && Math.abs(d) > allowed) {
        const what = p.compare === "previous" ? "the previous bucket" : "the same time last week";
        const size = relative ? (ref !== 0 ? `${fmt(Math.abs(d / ref) * 100)}%` : fmt(Math.abs(d))) : fmt(Math.abs(d));
        reason = `${d > 0 ? "up" : "down"} ${size} on ${what} (limit ${typeof p.change === "number" ? fmt(p.change) : p.change.trim()})`;
      }
    }
    s.prev = v;
    if (p.compare === "last_week") remember(s, point.t, v, spacing);
  }
  const anomaly = reason !== "";
  if ((lower === null && upper === null) || (notable && !anomaly)) return NO_VERDICT;
  return {
    expected: expected ?? (anomaly ? (v < (lower ?? v) ? lower : upper) : null),
    lower: lower === Number.NEGATIVE_INFINITY ? null : lower,
    upper: upper === Number.POSITIVE_INFINITY ? null : upper,
    score: anomaly ? 1 : 0,
    anomaly,
    sigmas: null,
    reason,
  };
}
