import { z } from "zod";
import { isValue, MAD_TO_SIGMA, quantileSorted, type SortedWindow, safeScale, scoreFromSigmas, sigmaReason, sortedWindow, swClear, swMad, swMedian, swPush } from "./stats.js";
import { type DetectorDefinition, NO_VERDICT, type Point, type Verdict } from "./types.js";

const params = z.object({
  window: z.number().int().min(8).default(400).describe("Baseline window in points."),
  min_points: z.number().int().min(4).default(50).describe("Warm-up points."),
  c: z.number().positive().default(3).describe("raw = e/(e+c)."),
  short: z.number().int().min(1).default(10).describe("Short window (points)."),
  long: z.number().int().min(10).default(2000).describe("Long window of averaged raw scores."),
  min_long: z.number().int().min(10).default(200).describe("Long points before alarms."),
  kl: z.number().positive().default(4.26).describe("Likelihood threshold in sigmas."),
  refractory: z.number().int().min(0).default(200).describe("Points without alerts after an alert."),
  shift_check: z.number().int().min(1).default(12).describe("Points after an alert to decide on a level shift."),
  shift_frac: z.number().min(0).max(1).default(0.8).describe("Fraction beyond band to call a shift."),
  shift_k: z.number().min(0).default(3).describe("Beyond this many sigmas counts toward a shift."),
  floor_frac: z.number().min(0).default(0.05).describe("Scale floor as fraction of (q95-q05)."),
  sigma_floor: z.number().min(0).default(0.01).describe("Floor of the long sd of a."),
});
export type EnsembleParams = z.infer<typeof params>;

interface EnsembleState {
  sw: SortedWindow;
  shortBuf: Float64Array;
  shortHead: number;
  shortN: number;
  shortSum: number;
  longBuf: Float64Array;
  longHead: number;
  longN: number;
  longSum: number;
  longSq: number;
  cooldown: number;
  sinceAlarm: number;
  alarmSign: number;
  beyond: number;
  recent: Float64Array;
}

export const ensemble: DetectorDefinition<EnsembleParams, EnsembleState> = {
  type: "ensemble",
  params,
  init: (p) => ({
    sw: sortedWindow(p.window),
    shortBuf: new Float64Array(p.short),
    shortHead: 0,
    shortN: 0,
    shortSum: 0,
    longBuf: new Float64Array(p.long),
    longHead: 0,
    longN: 0,
    longSum: 0,
    longSq: 0,
    cooldown: 0,
    sinceAlarm: -1,
    alarmSign: 0,
    beyond: 0,
    recent: new Float64Array(p.shift_check),
  }),
  step(s, point: Point, p): Verdict {
    const x = point.v;
    if (!isValue(x)) return NO_VERDICT;
    let verdict: Verdict = NO_VERDICT;
    if (s.sw.n >= p.min_points) {
      const m = swMedian(s.sw);
      const spread = quantileSorted(s.sw.sorted, s.sw.n, 0.95) - quantileSorted(s.sw.sorted, s.sw.n, 0.05);
      const sd = safeScale(Math.max(swMad(s.sw, m) * MAD_TO_SIGMA, p.floor_frac * spread), m);
      const zp = (x - m) / sd;
      const e = Math.abs(zp);
      const r = e / (e + p.c);
      // short mean of raw
      if (s.shortN === p.short) s.shortSum -= s.shortBuf[s.shortHead]!;
      else s.shortN++;
      s.shortBuf[s.shortHead] = r;
      s.shortSum += r;
      s.shortHead = (s.shortHead + 1) % p.short;
      const a = s.shortSum / s.shortN;
      let zl = 0;
      if (s.longN >= p.min_long) {
        const mu = s.longSum / s.longN;
        const sdl = Math.max(p.sigma_floor, Math.sqrt(Math.max(0, s.longSq / s.longN - mu * mu)));
        zl = (a - mu) / sdl;
      }
      // long stats of a
      if (s.longN === p.long) {
        const o = s.longBuf[s.longHead]!;
        s.longSum -= o;
        s.longSq -= o * o;
      } else s.longN++;
      s.longBuf[s.longHead] = a;
      s.longSum += a;
      s.longSq += a * a;
      s.longHead = (s.longHead + 1) % p.long;

      let anomaly = false;
      if (s.cooldown > 0) s.cooldown--;
      else if (zl > p.kl) {
        anomaly = true;
        s.cooldown = p.refractory;
        s.sinceAlarm = 0;
        s.alarmSign = Math.sign(zp);
        s.beyond = 0;
      }
      if (s.sinceAlarm >= 0 && !anomaly) {
        s.recent[s.sinceAlarm] = x;
        if (zp * s.alarmSign > p.shift_k) s.beyond++;
        s.sinceAlarm++;
        if (s.sinceAlarm === p.shift_check) {
          if (s.beyond >= p.shift_frac * p.shift_check) {
            swClear(s.sw);
            for (let i = 0; i < p.shift_check; i++) swPush(s.sw, s.recent[i]!);
          }
          s.sinceAlarm = -1;
        }
      }
      verdict = {
        expected: m,
        lower: m - 3 * sd,
        upper: m + 3 * sd,
        score: anomaly ? Math.max(0.5, scoreFromSigmas(zl, p.kl)) : Math.min(0.49, scoreFromSigmas(zl, p.kl)),
        anomaly,
        sigmas: zp,
        reason: anomaly ? sigmaReason(zp, "the rolling median") : "",
      };
    }
    swPush(s.sw, x);
    return verdict;
  },
};
