/**
 * `moving_average`: a band around a moving centre.
 *  - `sma`: mean of the last `window` points ± k standard deviations.
 *  - `ewma`: the EWMA control chart (Montgomery §9.2): z_i = λx_i + (1−λ)z_{i−1}, z_0 = μ0, with the
 *    exact time-varying limits μ0 ± L·σ·sqrt(λ/(2−λ)·(1−(1−λ)^(2i))). μ0 and σ come from a baseline
 *    of `window` points (σ by the average moving range / 1.128, so a trend does not inflate it), or
 *    from `mu0`/`sigma0` when the process standard is known. After an out-of-control signal the
 *    chart restarts: it re-baselines on the next `window` points instead of alarming forever. The
 *    baseline is winsorized first (below), so that one outlier in it cannot blind the chart.
 *  - `median_mad`: rolling median ± k·1.4826·MAD, robust to the outliers it is looking for.
 *  - `iqr`: rolling Tukey fences [Q1 − k·IQR, Q3 + k·IQR].
 */
import { z } from "zod";
import type { Point } from "../src/model/point.js";
import {
  D2,
  deviation,
  IQR_TO_SIGMA,
  isValue,
  MAD_TO_SIGMA,
  quantileSorted,
  type SortedWindow,
  safeScale,
  scoreFromSigmas,
  sigmaReason,
  sortedWindow,
  swMad,
  swMedian,
  swPush,
} from "./stats.js";
import { type DetectorDefinition, NO_VERDICT, type Verdict } from "./types.js";

const params = z.object({
  method: z
    .enum(["sma", "ewma", "median_mad", "iqr"])
    .default("ewma")
    .describe("sma: mean ± k·sd; ewma: EWMA control chart; median_mad: rolling median ± k·MAD-sigma; iqr: Tukey fences."),
  window: z
    .number()
    .int()
    .min(3)
    .default(30)
    .describe("Points in the rolling window (sma, median_mad, iqr) or in the EWMA baseline (ewma)."),
  alpha: z
    .number()
    .gt(0)
    .max(1)
    .default(0.3)
    .describe("EWMA smoothing constant λ (ewma only); small values catch small persistent shifts."),
  k: z
    .number()
    .positive()
    .default(3)
    .describe("Band half-width: sigmas for sma/median_mad, L for the EWMA chart, the IQR multiple for iqr."),
  min_points: z
    .number()
    .int()
    .min(2)
    .default(10)
    .describe("Points needed before judging (warm-up); for ewma the baseline needs `window` points."),
  mu0: z.number().optional().describe("Known process mean for the EWMA chart (skips the baseline estimate)."),
  sigma0: z.number().positive().optional().describe("Known process sigma for the EWMA chart (skips the baseline estimate)."),
});
export type MovingAverageParams = z.infer<typeof params>;

export interface MovingAverageState {
  /** Rolling window in arrival order and sorted (sma, median_mad, iqr). */
  w: SortedWindow;
  sum: number;
  sumSq: number;
  /** EWMA chart: baseline accumulation, then monitoring. */
  baseN: number;
  baseSum: number;
  baseMr: number;
  baseLast: number;
  /** The baseline's values (ewma; empty when the standard is known), for winsorizing it. */
  baseBuf: Float64Array;
  mu0: number;
  sigma: number;
  ewma: number;
  /** Points monitored since the chart (re)started: the i in the limit formula. */
  i: number;
  /** (1−λ)^(2i), carried instead of recomputed with pow. */
  decay2: number;
}

/** Half-width factor of the EWMA limits at step i (before multiplying by L·σ). */
export function ewmaLimitFactor(lambda: number, i: number): number {
  return Math.sqrt((lambda / (2 - lambda)) * (1 - (1 - lambda) ** (2 * i)));
}

function restartEwma(s: MovingAverageState, p: MovingAverageParams): void {
  s.baseN = 0;
  s.baseSum = 0;
  s.baseMr = 0;
  s.baseLast = Number.NaN;
  s.i = 0;
  s.decay2 = 1;
  if (p.mu0 !== undefined && p.sigma0 !== undefined) {
    s.mu0 = p.mu0;
    s.sigma = p.sigma0;
    s.ewma = p.mu0;
    s.baseN = -1; // known standard: no baseline phase
  }
}

/** Baseline values further than this many robust sigmas from its median are clipped to that distance. */
const WINSOR = 4;
/** d4 of the median moving range of two: median MR / 0.954 estimates sigma (Montgomery §6.4). */
const MEDIAN_MR_TO_SIGMA = 1 / 0.954;

/**
 * Phase I without the outliers' leverage: the chart's centre and sigma are fixed until it signals,
 * so a backlog bucket of 20× the level in its baseline (its mean up, its two moving ranges huge)
 * made the limits so wide that nothing after it signalled, a 100-bucket outage included. The values
 * are clipped at median ± WINSOR sigmas, sigma from the median moving range (which one outlier
 * cannot move); a clean baseline has none that far out and keeps its mean and average moving range.
 * Once per baseline, not per point.
 */
function winsorizeBaseline(s: MovingAverageState): void {
  const n = s.baseN;
  const b = s.baseBuf;
  const mr = new Float64Array(n - 1);
  for (let i = 1; i < n; i++) mr[i - 1] = Math.abs(b[i]! - b[i - 1]!);
  mr.sort();
  const sorted = b.slice(0, n).sort();
  const robust = quantileSorted(mr, n - 1, 0.5) * MEDIAN_MR_TO_SIGMA;
  // a baseline that mostly does not move (sparse counts) has no robust scale: keep it as it is
  if (!(robust > 0)) return;
  const med = quantileSorted(sorted, n, 0.5);
  const lo = med - WINSOR * robust;
  const hi = med + WINSOR * robust;
  let sum = 0;
  let mrSum = 0;
  let last = 0;
  for (let i = 0; i < n; i++) {
    const x = Math.min(hi, Math.max(lo, b[i]!));
    sum += x;
    if (i > 0) mrSum += Math.abs(x - last);
    last = x;
  }
  s.baseSum = sum;
  s.baseMr = mrSum;
}

function stepEwma(s: MovingAverageState, x: number, p: MovingAverageParams, notable: boolean): Verdict {
  if (s.baseN >= 0) {
    // baseline (Phase I) of `window` points: mean and average moving range
    if (s.baseN > 0) s.baseMr += Math.abs(x - s.baseLast);
    s.baseLast = x;
    s.baseSum += x;
    s.baseBuf[s.baseN] = x;
    s.baseN++;
    if (s.baseN < p.window) return NO_VERDICT;
    winsorizeBaseline(s);
    s.mu0 = p.mu0 ?? s.baseSum / s.baseN;
    s.sigma = p.sigma0 ?? s.baseMr / (s.baseN - 1) / D2;
    s.ewma = s.mu0;
    s.baseN = -1;
    return NO_VERDICT;
  }
  const lambda = p.alpha;
  s.i++;
  s.decay2 *= (1 - lambda) * (1 - lambda);
  s.ewma = lambda * x + (1 - lambda) * s.ewma;
  const sigma = safeScale(s.sigma, s.mu0);
  const halfSd = sigma * Math.sqrt((lambda / (2 - lambda)) * (1 - s.decay2));
  const zEwma = deviation(s.ewma, s.mu0) / halfSd;
  const anomaly = Math.abs(zEwma) > p.k;
  const verdict: Verdict =
    notable && !anomaly
      ? NO_VERDICT
      : {
          expected: s.mu0,
          lower: s.mu0 - p.k * halfSd,
          upper: s.mu0 + p.k * halfSd,
          score: scoreFromSigmas(zEwma, p.k),
          anomaly,
          sigmas: (x - s.mu0) / sigma,
          reason: anomaly ? `EWMA ${sigmaReason(zEwma, "the centre line")}` : "",
        };
  if (anomaly && (p.mu0 === undefined || p.sigma0 === undefined)) restartEwma(s, p);
  else if (anomaly) {
    // known standard: restart the statistic at the target (Montgomery's "reset after a signal")
    s.ewma = s.mu0;
    s.i = 0;
    s.decay2 = 1;
  }
  return verdict;
}

function stepWindow(s: MovingAverageState, x: number, p: MovingAverageParams, notable: boolean): Verdict {
  const w = s.w;
  let verdict: Verdict = NO_VERDICT;
  if (w.n >= p.min_points) {
    let centre: number;
    let sigma: number;
    let lower: number;
    let upper: number;
    if (p.method === "sma") {
      if (!Number.isFinite(s.sum) || !Number.isFinite(s.sumSq)) recomputeSums(s);
      centre = s.sum / w.n;
      sigma = Math.sqrt(Math.max(0, (s.sumSq - w.n * centre * centre) / (w.n - 1)));
      lower = centre - p.k * sigma;
      upper = centre + p.k * sigma;
    } else if (p.method === "median_mad") {
      centre = swMedian(w);
      sigma = swMad(w, centre) * MAD_TO_SIGMA;
      lower = centre - p.k * sigma;
      upper = centre + p.k * sigma;
    } else {
      centre = swMedian(w);
      const q1 = quantileSorted(w.sorted, w.n, 0.25);
      const q3 = quantileSorted(w.sorted, w.n, 0.75);
      sigma = (q3 - q1) * IQR_TO_SIGMA;
      lower = q1 - p.k * (q3 - q1);
      upper = q3 + p.k * (q3 - q1);
    }
    const scale = safeScale(sigma, centre);
    const z = deviation(x, centre) / scale;
    // for iqr the rule is the fence, the sigmas only describe it
    const anomaly = p.method === "iqr" ? deviation(x, lower) < 0 || deviation(x, upper) > 0 : Math.abs(z) > p.k;
    verdict =
      notable && !anomaly
        ? NO_VERDICT
        : {
            expected: centre,
            lower,
            upper,
            score: p.method === "iqr" ? iqrScore(x, centre, lower, upper) : scoreFromSigmas(z, p.k),
            anomaly,
            sigmas: z,
            // the reason is only worded for an anomaly: most points need none, and a string a point adds up
            reason: anomaly ? sigmaReason(z, `the ${w.n}-point ${p.method === "sma" ? "mean" : "median"}`) : "",
          };
  }
  if (w.n === w.cap) {
    const old = w.ring[w.head]!;
    s.sum -= old;
    s.sumSq -= old * old;
  }
  swPush(w, x);
  s.sum += x;
  s.sumSq += x * x;
  return verdict;
}

/** Sums carried incrementally overflow after an astronomically large value; rebuild them from the window. */
function recomputeSums(s: MovingAverageState): void {
  s.sum = 0;
  s.sumSq = 0;
  const w = s.w;
  for (let i = 0; i < w.n; i++) {
    const x = w.sorted[i]!;
    s.sum += x;
    s.sumSq += x * x;
  }
}

/** Score for a fence rule: 0.5 exactly at the fence, rising with the distance beyond it. */
function iqrScore(x: number, centre: number, lower: number, upper: number): number {
  const d = deviation(x, centre);
  const half = d >= 0 ? upper - centre : centre - lower;
  if (!(half > 0)) return d === 0 ? 0 : 1;
  const r = Math.abs(d) / half;
  return r > 1e150 ? 1 : (r * r) / (r * r + 1);
}

export const movingAverage: DetectorDefinition<MovingAverageParams, MovingAverageState> = {
  type: "moving_average",
  params,
  init(p) {
    const s: MovingAverageState = {
      w: sortedWindow(p.method === "ewma" ? 1 : p.window),
      sum: 0,
      sumSq: 0,
      baseN: 0,
      baseSum: 0,
      baseMr: 0,
      baseLast: Number.NaN,
      baseBuf: new Float64Array(p.method === "ewma" && (p.mu0 === undefined || p.sigma0 === undefined) ? p.window : 0),
      mu0: 0,
      sigma: 0,
      ewma: 0,
      i: 0,
      decay2: 1,
    };
    restartEwma(s, p);
    return s;
  },
  step: (s, point, p) => judge(s, point, p, false),
  stepNotable: (s, point, p) => judge(s, point, p, true),
};

/** One point; `notable`: build the verdict only for an anomaly (NO_VERDICT otherwise), as `stepNotable` asks. */
function judge(s: MovingAverageState, point: Point, p: MovingAverageParams, notable: boolean): Verdict {
  const x = point.v;
  if (!isValue(x)) return NO_VERDICT;
  return p.method === "ewma" ? stepEwma(s, x, p, notable) : stepWindow(s, x, p, notable);
}
