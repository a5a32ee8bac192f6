/**
 * `ensemble`: the default detector, what a metric gets when it names none and what `vigil detect`
 * runs. One score in [0, 1] from five views of the series, each judged against its own recent past:
 *
 *   1. the point against a robust rolling baseline (median and MAD-sigma of the last `window` points,
 *      as `moving_average` median_mad) — spikes;
 *   2. the mean of the last 5 points against that baseline — level shifts, early;
 *   3. the mean of the last 20 points — small persistent shifts and drifts;
 *   4. volatility: the mean absolute step of the last 10 points against the median step — bursts,
 *      noise changes;
 *   5. the `seasonal` detector's residual when it has found a daily or weekly pattern — a pattern
 *      that broke (a holiday, a flattened peak).
 *
 * Why relative to the past: a fixed "k sigmas" either floods spiky series or misses quiet ones. Each
 * view is scored against the largest value it took over the last `history` points (excluding what
 * was already alerted), so a point is anomalous when it is new for this series: bigger than
 * anything recently seen by the `novelty` factor, and above an absolute floor (in sigmas). That is
 * a streaming, label-free calibration per series.
 *
 * After an alert the detector stays quiet for `refractory` points (one incident, one alert), and if
 * the series stays beyond the band on the same side (a level shift) it re-baselines on the new level
 * instead of alerting for days. `missing` runs alongside: a run of empty buckets longer than
 * `missing_after` is an anomaly too. Needs `warmup` points before its first alert.
 */
import { z } from "zod";
import { missing, type MissingState } from "./missing.js";
import { seasonal, type SeasonalState } from "./seasonal.js";
import { type SeasonalProfileState, seasonalProfileState, seasonalShift, seasonalStep, slotLabel } from "./seasonal-profile.js";
import {
  isValue,
  lowerBound,
  MAD_TO_SIGMA,
  quantileSorted,
  type SortedWindow,
  safeScale,
  sigmaReason,
  sortedWindow,
  swClear,
  swMad,
  swMedian,
  swPush,
} from "./stats.js";
import { durationParam, granularityParam } from "./time.js";
import { type DetectorDefinition, NO_VERDICT, type Point, type Verdict } from "./types.js";

/** Experiment knobs (temporary). */
export const T: Record<string, number> = { noRecordCooldown: 0, raw: 1, nn: 1, nnFloor: 10, nnMin: 100, sp: 1, viewMin: 200 };
/** Number of views (features). */
const NF = 6;
/** Absolute floors per view: even a novel value must be this unusual (sigmas, or × for volatility). */
const FLOOR = [4, 3, 2.5, 3, 4, 2] as const;
/** Short windows of views 2, 3 and 4. */
const SHORT = 5;
const MEDIUM = 20;
const STEPS = 10;
/** Points after an alert that decide whether it was a level shift, and how many must agree. */
const SHIFT_CHECK = 12;
const SHIFT_AGREE = 10;
const SHIFT_SIGMAS = 3;
/** Baseline statistics are recomputed every this many points. */
const REFRESH = 8;

const params = z.object({
  window: z.number().int().min(10).default(1000).describe("Points in the robust rolling baseline (median and MAD)."),
  history: z
    .number()
    .int()
    .min(10)
    .default(1000)
    .describe("Points of score history each view is compared with: an alert needs something not seen in this long."),
  warmup: z.number().int().min(10).default(400).describe("Points of history needed before the first alert."),
  novelty: z
    .number()
    .min(1)
    .default(1.1)
    .describe("How much a view must exceed its largest recent value to alert (1.1 = 10% beyond anything in `history`)."),
  novelty_point: z
    .number()
    .min(1)
    .default(1.2)
    .describe("The same for single points (spikes), which are noisier than the averaged views."),
  refractory: z.number().int().min(0).default(150).describe("Points without a new alert after an alert."),
  seasonal: z.boolean().default(true).describe("Include the seasonal view (daily/weekly pattern detected from the data)."),
  missing_after: durationParam("Flag a run of empty buckets longer than this.", "1h"),
  granularity_ms: granularityParam,
});
export type EnsembleParams = z.infer<typeof params>;

export interface EnsembleState {
  base: SortedWindow;
  steps: SortedWindow;
  prev: number;
  n: number;
  shortBuf: Float64Array;
  shortSum: number;
  medBuf: Float64Array;
  medSum: number;
  stepBuf: Float64Array;
  stepSum: number;
  /** View history: `history` rows of NF values, ring; running maxima per view. */
  hist: Float64Array;
  histMax: Float64Array;
  histHead: number;
  histN: number;
  /** Rows of the view history in which each view was active (non-zero). */
  viewN: Float64Array;
  views: Float64Array;
  cooldown: number;
  /** Level-shift check after an alert: points seen, sign, how many stayed beyond the band. */
  sinceAlert: number;
  alertSign: number;
  beyond: number;
  recent: Float64Array;
  /** Seasonal residuals of those points (NaN = no seasonal profile in force). */
  recentRes: Float64Array;
  /** View-history row at the last alert: a re-baseline forgets the rows recorded since. */
  alertRow: number;
  seasonal: SeasonalState;
  profile: SeasonalProfileState;
  missing: MissingState;
  /** Cached baseline: median, robust sigma, range, median step; refreshed every REFRESH points. */
  median: number;
  sd: number;
  range: number;
  stepScale: number;
  refresh: number;
}

function seasonalParams(p: EnsembleParams) {
  return seasonal.params.parse(p.granularity_ms === undefined ? {} : { granularity_ms: p.granularity_ms });
}
function missingParams(p: EnsembleParams) {
  return missing.params.parse(
    p.granularity_ms === undefined ? { after: p.missing_after } : { after: p.missing_after, granularity_ms: p.granularity_ms },
  );
}
// parsed once per params object: step() must not re-run zod per point
const subParams = new WeakMap<EnsembleParams, { seasonal: ReturnType<typeof seasonalParams>; missing: ReturnType<typeof missingParams> }>();
function sub(p: EnsembleParams) {
  let s = subParams.get(p);
  if (!s) {
    s = { seasonal: seasonalParams(p), missing: missingParams(p) };
    subParams.set(p, s);
  }
  return s;
}

function ring(buf: Float64Array, n: number, x: number): number {
  const i = n % buf.length;
  const old = n >= buf.length ? buf[i]! : 0;
  buf[i] = x;
  return old;
}

function recordViews(s: EnsembleState, p: EnsembleParams): void {
  const H = p.history;
  const full = s.histN === H;
  const row = s.histHead * NF;
  for (let k = 0; k < NF; k++) {
    const old = s.hist[row + k]!;
    const v = s.views[k]!;
    if (full && old > 0) s.viewN[k] = s.viewN[k]! - 1;
    if (v > 0) s.viewN[k] = s.viewN[k]! + 1;
    s.hist[row + k] = v;
    if (v >= s.histMax[k]!) s.histMax[k] = v;
    else if (full && old === s.histMax[k]) {
      // the maximum just left the window: rescan (rare, O(history))
      let mx = 0;
      for (let i = k; i < H * NF; i += NF) if (s.hist[i]! > mx) mx = s.hist[i]!;
      s.histMax[k] = mx;
    }
  }
  s.histHead = s.histHead + 1 === H ? 0 : s.histHead + 1;
  if (!full) s.histN++;
}

/** Zero the view-history rows from `row` up to the head (the views of a level shift in progress) and recompute the maxima. */
function forgetSince(s: EnsembleState, p: EnsembleParams, row: number): void {
  const H = p.history;
  for (let r = row; r !== s.histHead; r = r + 1 === H ? 0 : r + 1) for (let k = 0; k < NF; k++) s.hist[r * NF + k] = 0;
  for (let k = 0; k < NF; k++) {
    let mx = 0;
    for (let i = k; i < H * NF; i += NF) if (s.hist[i]! > mx) mx = s.hist[i]!;
    s.histMax[k] = mx;
  }
}

function reasonFor(view: number, s: EnsembleState, zPoint: number, zShort: number, zMed: number, seasonalReason: string): string {
  switch (view) {
    case 0:
      return `${sigmaReason(zPoint, "the rolling median")}, beyond anything in the last ${s.histN} points`;
    case 1:
      return `last ${SHORT} points ${sigmaReason(zShort, "the rolling median")}`;
    case 2:
      return `last ${MEDIUM} points ${sigmaReason(zMed, "the rolling median")}`;
    case 5:
      return `a value not seen in the last ${s.base.n} points`;
    case 3:
      return `volatility ${s.views[3]!.toFixed(1)}× its usual step size`;
    default:
      return seasonalReason;
  }
}

export const ensemble: DetectorDefinition<EnsembleParams, EnsembleState> = {
  type: "ensemble",
  params,
  init: (p) => ({
    base: sortedWindow(p.window),
    steps: sortedWindow(p.window),
    prev: Number.NaN,
    n: 0,
    shortBuf: new Float64Array(SHORT),
    shortSum: 0,
    medBuf: new Float64Array(MEDIUM),
    medSum: 0,
    stepBuf: new Float64Array(STEPS),
    stepSum: 0,
    hist: new Float64Array(p.history * NF),
    histMax: new Float64Array(NF),
    histHead: 0,
    histN: 0,
    viewN: new Float64Array(NF),
    views: new Float64Array(NF),
    cooldown: 0,
    sinceAlert: -1,
    alertSign: 0,
    beyond: 0,
    recent: new Float64Array(SHIFT_CHECK),
    recentRes: new Float64Array(SHIFT_CHECK),
    alertRow: 0,
    seasonal: seasonal.init(sub(p).seasonal),
    profile: seasonalProfileState(p.granularity_ms),
    missing: missing.init(sub(p).missing),
    median: 0,
    sd: 0,
    range: 0,
    stepScale: 0,
    refresh: 0,
  }),
  step(s, point: Point, p): Verdict {
    const sp = sub(p);
    const gap = missing.step(s.missing, point, sp.missing);
    let sv = p.seasonal && !T.sp ? seasonal.step(s.seasonal, point, sp.seasonal) : NO_VERDICT;
    if (p.seasonal && T.sp) {
      const se = seasonalStep(s.profile, point.t, point.v ?? Number.NaN);
      if (se !== null) {
        const zs = (point.v! - se.expected) / se.sigma;
        sv = {
          expected: se.expected,
          lower: se.expected - 4 * se.sigma,
          upper: se.expected + 4 * se.sigma,
          score: 0,
          anomaly: false,
          sigmas: zs,
          reason: sigmaReason(zs, `the expected value for ${slotLabel(point.t, se.periodMs)}`),
        };
      }
    }
    const x = point.v;
    // a gap is one more incident: it obeys the same refractory period as the other views
    const gapAlert = gap.anomaly && s.cooldown === 0;
    if (gapAlert) s.cooldown = p.refractory + 1;
    if (!isValue(x)) return gapAlert ? gap : NO_VERDICT;
    const n = s.n;
    s.shortSum += x - ring(s.shortBuf, n, x);
    s.medSum += x - ring(s.medBuf, n, x);
    const step = Number.isNaN(s.prev) ? 0 : Math.abs(x - s.prev);
    s.stepSum += step - ring(s.stepBuf, n, step);
    s.n = n + 1;
    s.prev = x;

    let verdict: Verdict = gapAlert ? gap : NO_VERDICT;
    const w = s.base;
    if (w.n >= Math.min(p.window, 30)) {
      // the baseline moves slowly over a long window: refreshing its median and scales every few
      // points (and right after a re-baseline) costs little accuracy and most of the time
      if (s.refresh <= 0 || w.n < p.window) {
        const m0 = swMedian(w);
        // floors keep the scale meaningful when most of the window is one constant value
        const spread = quantileSorted(w.sorted, w.n, 0.95) - quantileSorted(w.sorted, w.n, 0.05);
        const range0 = w.sorted[w.n - 1]! - w.sorted[0]!;
        s.median = m0;
        s.range = range0;
        s.sd = safeScale(Math.max(swMad(w, m0) * MAD_TO_SIGMA, 0.05 * spread, 0.01 * range0), m0);
        s.stepScale = safeScale(Math.max(swMedian(s.steps), 0.01 * range0), m0);
        s.refresh = REFRESH;
      }
      s.refresh--;
      // the median itself is O(1) on the sorted window: keep it exact
      const m = swMedian(w);
      const sd = s.sd;
      const zPoint = (x - m) / sd;
      const zShort = (s.shortSum / Math.min(SHORT, s.n) - m) / sd;
      const zMed = (s.medSum / Math.min(MEDIUM, s.n) - m) / sd;
      const v = s.views;
      const u = T.raw ? sd : 1;
      v[0] = Math.abs(zPoint) * u;
      v[1] = Math.abs(zShort) * u;
      v[2] = Math.abs(zMed) * u;
      v[3] = s.stepSum / Math.min(STEPS, s.n) / s.stepScale;
      const seasonalActive = sv.sigmas !== null && !sv.reason.includes("rolling median");
      v[4] = seasonalActive ? Math.abs(sv.sigmas!) : 0;
      if (T.nn && w.n >= (T.nnMin || p.window)) {
        const at = lowerBound(w.sorted, w.n, x);
        const lo = at > 0 ? x - w.sorted[at - 1]! : Number.POSITIVE_INFINITY;
        const hi = at < w.n ? w.sorted[at]! - x : Number.POSITIVE_INFINITY;
        v[5] = Math.min(lo, hi) / sd;
      } else v[5] = 0;

      // how far beyond its bar each view is; the worst one decides
      let ratio = 0;
      let view = -1;
      if (s.histN >= Math.min(p.warmup, p.history)) {
        for (let k = 0; k < NF; k++) {
          const bar = Math.max((k === 5 && T.nnFloor ? T.nnFloor : FLOOR[k]!) * (k < 3 ? u : 1), (k === 0 ? p.novelty_point : k === 5 && T.nnNov ? T.nnNov : p.novelty) * s.histMax[k]!);
          const r = k === 4 && T.viewMin && s.viewN[k]! < T.viewMin ? 0 : v[k]! / bar;
          if (r > ratio) {
            ratio = r;
            view = k;
          }
        }
      }
      const fired = ratio > 1 && s.cooldown === 0;
      if (s.cooldown > 0) s.cooldown--;
      const score = Math.min(fired ? 1 : 0.49, (ratio * ratio) / (1 + ratio * ratio));
      const bar0 = Math.max(FLOOR[0], (p.novelty_point * s.histMax[0]!) / u);
      const useSeasonal = view === 4 && seasonalActive;
      if (!gapAlert) {
        verdict = {
          expected: useSeasonal ? sv.expected : m,
          lower: useSeasonal ? sv.lower : m - bar0 * sd,
          upper: useSeasonal ? sv.upper : m + bar0 * sd,
          score: s.histN >= Math.min(p.warmup, p.history) ? score : 0,
          anomaly: fired,
          sigmas: useSeasonal ? sv.sigmas : zPoint,
          reason: fired ? reasonFor(view, s, zPoint, zShort, zMed, sv.reason) : "",
        };
      }
      if (fired) {
        s.cooldown = p.refractory;
        s.sinceAlert = 0;
        s.alertSign = view === 1 ? Math.sign(zShort) : view === 2 ? Math.sign(zMed) : Math.sign(zPoint);
        s.beyond = 0;
        s.alertRow = s.histHead;
      } else if (!(T.noRecordCooldown && s.cooldown > 0)) recordViews(s, p); // alerted values stay out of the history, or they would mask the next incident

      if (s.sinceAlert >= 0 && !fired) {
        s.recent[s.sinceAlert] = x;
        s.recentRes[s.sinceAlert] = sv.expected === null ? Number.NaN : x - sv.expected;
        if (zPoint * s.alertSign > SHIFT_SIGMAS) s.beyond++;
        s.sinceAlert++;
        if (s.sinceAlert === SHIFT_CHECK) {
          // a level shift: restart the baseline from the new level rather than alert for days
          if (s.beyond >= SHIFT_AGREE) {
            swClear(w);
            s.refresh = 0;
            for (let i = 0; i < SHIFT_CHECK; i++) swPush(w, s.recent[i]!);
            if (T.sp) {
              const r = Array.from(s.recentRes).filter((q) => !Number.isNaN(q)).sort((a, b) => a - b);
              if (r.length > 0) seasonalShift(s.profile, r[r.length >> 1]!);
            }
            if (T.forget) forgetSince(s, p, s.alertRow);
          }
          s.sinceAlert = -1;
        }
      }
    }
    swPush(w, x);
    if (n > 0) swPush(s.steps, step);
    return verdict;
  },
};
