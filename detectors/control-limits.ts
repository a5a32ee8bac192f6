/**
 * `control_limits`: the Shewhart individuals chart (Montgomery, Introduction to Statistical Quality
 * Control, §6.4). Centre line from a baseline window (mean or median); sigma from the average
 * moving range / d2 (1.128), so a slow trend inside the window does not inflate it. Rule sets:
 *  - `shewhart`: one point beyond `sigma` (default 3) sigmas.
 *  - `western_electric`: 1) one beyond 3σ; 2) two of three beyond 2σ on one side; 3) four of five
 *    beyond 1σ on one side; 4) eight in a row on one side.
 *  - `nelson`: the eight Nelson rules: the four above (with nine in a row for the run rule) plus six
 *    in a row trending, fourteen alternating, fifteen within 1σ (stratification) and eight in a row
 *    with none within 1σ (mixture).
 * `cusum: true` adds a tabular CUSUM (reference k, decision interval h, in sigmas) for small
 * persistent shifts. The baseline rolls over the last `baseline` points; points beyond the limits
 * are kept out of it so an outlier does not widen the limits it broke. `center`/`sigma0` pin the
 * chart to a known standard instead (a "standards given" chart).
 */
import { z } from "zod";
import type { Point } from "../src/model/point.js";
import { D2, deviation, isValue, medianOf, safeScale, scoreFromSigmas, sigmaReason } from "./stats.js";
import { type DetectorDefinition, NO_VERDICT, type Verdict } from "./types.js";

const params = z.object({
  sigma: z.number().positive().default(3).describe("Control limits at centre ± this many sigmas (rule 1)."),
  rules: z
    .enum(["shewhart", "western_electric", "nelson"])
    .default("western_electric")
    .describe("Which run rules apply besides the limits: shewhart (none), western_electric (rules 1-4), nelson (rules 1-8)."),
  centre: z.enum(["mean", "median"]).default("mean").describe("Centre line from the baseline mean or median."),
  baseline: z.number().int().min(5).default(30).describe("Points in the rolling baseline that sets the centre and sigma."),
  min_points: z.number().int().min(3).default(20).describe("Baseline points needed before judging (warm-up)."),
  center: z.number().optional().describe("Known centre line (standards given); overrides the baseline estimate."),
  sigma0: z.number().positive().optional().describe("Known process sigma (standards given); overrides the moving-range estimate."),
  cusum: z.boolean().default(false).describe("Also run a tabular CUSUM for small persistent shifts."),
  cusum_k: z.number().nonnegative().default(0.5).describe("CUSUM reference value in sigmas (half the shift to detect)."),
  cusum_h: z.number().positive().default(5).describe("CUSUM decision interval in sigmas."),
});
export type ControlLimitsParams = z.infer<typeof params>;

export interface ControlLimitsState {
  /** Baseline ring (values) and moving ranges between consecutive baseline values. */
  buf: Float64Array;
  head: number;
  n: number;
  sum: number;
  mrSum: number;
  last: number;
  /** Zone history of the last 15 judged points, newest first: z in sigmas. */
  zs: Float64Array;
  zn: number;
  /** Same-side run (signed length), trend run, alternation run, within-1σ run, beyond-1σ run. */
  side: number;
  trend: number;
  lastX: number;
  lastDiff: number;
  alt: number;
  within1: number;
  beyond1: number;
  cusumHi: number;
  cusumLo: number;
  scratch: Float64Array;
}

function pushZ(s: ControlLimitsState, z: number): void {
  s.zs.copyWithin(1, 0, 14);
  s.zs[0] = z;
  if (s.zn < 15) s.zn++;
}

/** How many of the newest `m` z values lie beyond `lim` on the side of `sign`. */
function countBeyond(s: ControlLimitsState, m: number, lim: number, sign: number): number {
  let c = 0;
  for (let i = 0; i < m && i < s.zn; i++) if (s.zs[i]! * sign > lim) c++;
  return c;
}

/** The first rule that fires for the newest point, as [rule number, reason], or null. */
function runRules(s: ControlLimitsState, p: ControlLimitsParams, z: number): [number, string] | null {
  const sign = z >= 0 ? 1 : -1;
  const side = sign > 0 ? "above" : "below";
  if (Math.abs(z) > p.sigma) return [1, sigmaReason(z, "the centre line")];
  if (p.rules === "shewhart") return null;
  // rules 2 and 3 only fire when the newest point itself is part of the pattern
  if (z * sign > 2 && s.zn >= 2 && countBeyond(s, 3, 2, sign) >= 2) return [2, `2 of 3 points beyond 2σ ${side} the centre line`];
  if (z * sign > 1 && s.zn >= 4 && countBeyond(s, 5, 1, sign) >= 4) return [3, `4 of 5 points beyond 1σ ${side} the centre line`];
  const runLen = p.rules === "nelson" ? 9 : 8;
  if (Math.abs(s.side) >= runLen) return [4, `${runLen} points in a row ${s.side > 0 ? "above" : "below"} the centre line`];
  if (p.rules !== "nelson") return null;
  if (Math.abs(s.trend) >= 6) return [5, `6 points in a row ${s.trend > 0 ? "increasing" : "decreasing"}`];
  if (s.alt >= 14) return [6, "14 points in a row alternating up and down"];
  if (s.within1 >= 15) return [7, "15 points in a row within 1σ of the centre line"];
  if (s.beyond1 >= 8) return [8, "8 points in a row beyond 1σ, none within"];
  return null;
}

function updateRuns(s: ControlLimitsState, x: number, z: number, degenerate: boolean): void {
  if (z > 0) s.side = s.side > 0 ? s.side + 1 : 1;
  else if (z < 0) s.side = s.side < 0 ? s.side - 1 : -1;
  else s.side = 0;
  if (Number.isNaN(s.lastX)) {
    s.trend = 1;
    s.alt = 1;
  } else {
    const d = x - s.lastX;
    // trend counts points: six in a row increasing = five rises
    if (d > 0) s.trend = s.trend > 0 ? s.trend + 1 : 2;
    else if (d < 0) s.trend = s.trend < 0 ? s.trend - 1 : -2;
    else s.trend = 1;
    if (d !== 0 && s.lastDiff !== 0 && Math.sign(d) !== Math.sign(s.lastDiff)) s.alt++;
    else s.alt = d !== 0 ? 2 : 1;
    s.lastDiff = d;
  }
  s.lastX = x;
  // with zero variation "within 1σ" means nothing: a constant series is not stratified
  s.within1 = Math.abs(z) < 1 && !degenerate ? s.within1 + 1 : 0;
  s.beyond1 = Math.abs(z) > 1 ? s.beyond1 + 1 : 0;
}

function resetRuns(s: ControlLimitsState): void {
  s.zn = 0;
  s.side = 0;
  s.within1 = 0;
  s.beyond1 = 0;
  s.cusumHi = 0;
  s.cusumLo = 0;
  s.trend = 1;
  s.alt = 1;
}

export const controlLimits: DetectorDefinition<ControlLimitsParams, ControlLimitsState> = {
  type: "control_limits",
  params,
  init: (p) => ({
    buf: new Float64Array(p.baseline),
    head: 0,
    n: 0,
    sum: 0,
    mrSum: 0,
    last: Number.NaN,
    zs: new Float64Array(15),
    zn: 0,
    side: 0,
    trend: 0,
    lastX: Number.NaN,
    lastDiff: 0,
    alt: 0,
    within1: 0,
    beyond1: 0,
    cusumHi: 0,
    cusumLo: 0,
    scratch: new Float64Array(p.baseline),
  }),
  step(s, point: Point, p): Verdict {
    const x = point.v;
    if (!isValue(x)) return NO_VERDICT;
    const known = p.center !== undefined && p.sigma0 !== undefined;
    let verdict: Verdict = NO_VERDICT;
    let beyondLimits = false;
    if (known || s.n >= p.min_points) {
      const centre = p.center ?? (p.centre === "median" ? medianOf(s.buf, s.n, s.scratch) : s.sum / s.n);
      const rawSigma = p.sigma0 ?? (s.n > 1 ? s.mrSum / (s.n - 1) / D2 : 0);
      const sigma = safeScale(rawSigma, centre);
      const z = deviation(x, centre) / sigma;
      beyondLimits = Math.abs(z) > p.sigma;
      pushZ(s, z);
      updateRuns(s, x, z, sigma !== rawSigma);
      let fired = runRules(s, p, z);
      if (p.cusum) {
        s.cusumHi = Math.max(0, s.cusumHi + z - p.cusum_k);
        s.cusumLo = Math.max(0, s.cusumLo - z - p.cusum_k);
        if (!fired && (s.cusumHi > p.cusum_h || s.cusumLo > p.cusum_h)) {
          const up = s.cusumHi > p.cusum_h;
          fired = [9, `CUSUM ${(up ? s.cusumHi : s.cusumLo).toFixed(1)}σ ${up ? "above" : "below"} target`];
        }
      }
      const score = scoreFromSigmas(z, p.sigma);
      verdict = {
        expected: centre,
        lower: centre - p.sigma * sigma,
        upper: centre + p.sigma * sigma,
        // a run rule is as much a signal as a point beyond the limits: never score it below 0.5
        score: fired ? Math.max(score, fired[0] === 1 ? 0.5 : 0.75) : Math.min(score, 0.49),
        anomaly: fired !== null,
        sigmas: z,
        reason: fired ? fired[1] : "",
      };
      // after a signal the pattern has been reported: start counting afresh (Montgomery's practice)
      if (fired) resetRuns(s);
    }
    if (!known && !beyondLimits) {
      // rolling baseline: evict the oldest value and its moving range
      const cap = p.baseline;
      if (s.n === cap) {
        const old = s.buf[s.head]!;
        const next = s.buf[(s.head + 1) % cap]!;
        s.sum -= old;
        s.mrSum -= Math.abs(next - old);
        s.n--;
      }
      if (s.n > 0) s.mrSum += Math.abs(x - s.last);
      s.buf[s.head] = x;
      s.head = (s.head + 1) % cap;
      s.sum += x;
      s.last = x;
      s.n++;
    }
    return verdict;
  },
};
