/**
 * `seasonal`: the expected value for a bucket is what the same slot (time of day, time of week)
 * looked like in earlier seasons.
 *  - `method: median` (default): the median of that slot over the last `seasons` seasons, with a
 *    robust scale (the slot's MAD across seasons, floored by a pooled running estimate of the
 *    residual spread, because four values alone give a very noisy MAD).
 *  - `method: holt_winters`: Holt-Winters exponential smoothing, `seasonality` additive or
 *    multiplicative, with a one-step prediction interval ± k·σ of the one-step errors.
 * The period is configured (`period: 1d`) or detected (`auto`, the default): daily and weekly
 * candidates are tested on the history once enough of it exists, by how much better the value one
 * period ago predicts than the value half a period ago. While there is too little history the
 * detector falls back to a rolling median/MAD and says so in its reason. An anomalous value is
 * stored clipped to the band, so a holiday does not poison the same slot in the next seasons while
 * a lasting change still moves the baseline over a few seasons.
 */
import { z } from "zod";
import { durationMs, parseDuration } from "../src/model/duration.js";
import type { Point } from "../src/model/point.js";
import { localMs } from "./local-time.js";
import { observeSpacing, type SpacingState, spacingState } from "./spacing.js";
import {
  deviation,
  isValue,
  MAD_TO_SIGMA,
  type SortedWindow,
  safeScale,
  scoreFromSigmas,
  sigmaReason,
  smallMedian,
  sortedWindow,
  swMad,
  swMedian,
  swPush,
} from "./stats.js";
import { granularityParam, timezoneParam } from "./time.js";
import { type DetectorDefinition, NO_VERDICT, type Verdict } from "./types.js";

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;
/** Largest number of slots per season kept in memory (one week of minutes). */
export const MAX_SLOTS = 10_080;
/** History kept for period detection (points). */
const MAX_HISTORY = 3 * MAX_SLOTS;

const params = z.object({
  period: z
    .union([z.literal("auto"), z.literal("none"), z.number().positive(), z.string()])
    .refine((x) => x === "auto" || x === "none" || parseDuration(x) !== null, {
      message: 'expected "auto", "none" or a duration such as "1d" or "1w"',
    })
    .default("auto")
    .describe(
      'Season length: a duration ("1d", "1w"; a number is seconds), "auto" to detect daily or weekly seasonality from the data, or "none".',
    ),
  seasons: z.number().int().min(1).max(52).default(4).describe("How many past seasons form the baseline of a slot."),
  min_seasons: z
    .number()
    .int()
    .min(1)
    .default(2)
    .describe("Past seasons needed before the seasonal baseline is used; before that the detector falls back to a rolling median."),
  k: z.number().positive().default(3).describe("Band half-width in sigmas."),
  method: z
    .enum(["median", "holt_winters"])
    .default("median")
    .describe("median: same-slot median across seasons; holt_winters: exponential smoothing with a prediction interval."),
  seasonality: z
    .enum(["additive", "multiplicative"])
    .default("additive")
    .describe("Holt-Winters seasonal form; multiplicative needs positive data (falls back to additive otherwise)."),
  alpha: z.number().gt(0).max(1).default(0.2).describe("Holt-Winters level smoothing."),
  beta: z.number().min(0).max(1).default(0.01).describe("Holt-Winters trend smoothing."),
  gamma: z.number().min(0).max(1).default(0.2).describe("Holt-Winters seasonal smoothing."),
  fallback_window: z
    .number()
    .int()
    .min(5)
    .default(48)
    .describe("Points in the rolling median/MAD used while seasonal history is too short."),
  min_points: z.number().int().min(3).default(12).describe("Points needed before judging at all (warm-up)."),
  granularity_ms: granularityParam,
  timezone: timezoneParam,
});
export type SeasonalParams = z.infer<typeof params>;

export interface SeasonalState {
  spacing: SpacingState;
  /** Configured period (ms), 0 when auto/none. */
  configuredMs: number;
  /** Period in use (ms) and in slots; 0 while unknown. */
  periodMs: number;
  slots: number;
  /** Next history length (points) at which auto detection runs; Infinity when decided. */
  nextCheck: number;
  t0: number;
  /** slot × seasons: stored value and the season index it belongs to (NaN = empty). */
  slotV: Float64Array;
  slotS: Float64Array;
  /** Pooled running mean absolute residual. */
  pooled: number;
  pooledN: number;
  /** Holt-Winters. */
  hwReady: boolean;
  level: number;
  trend: number;
  season: Float64Array;
  hwVar: number;
  hwMult: boolean;
  /** Rolling fallback. */
  fb: SortedWindow;
  /** History for detection and backfill: values and times. */
  histV: Float64Array;
  histT: Float64Array;
  histHead: number;
  histN: number;
  scratch: Float64Array;
  count: number;
}

/** Mean absolute difference between points `lag` apart in a history ring, or NaN. */
function lagMae(v: Float64Array, t: Float64Array, head: number, n: number, lagMs: number, spacing: number): number {
  const cap = v.length;
  const lag = Math.round(lagMs / spacing);
  if (lag <= 0 || lag >= n) return Number.NaN;
  let sum = 0;
  let c = 0;
  for (let i = lag; i < n; i++) {
    const a = (head - n + i + cap) % cap;
    const b = (head - n + i - lag + cap) % cap;
    // only pairs exactly one lag apart in time count (gaps would misalign them)
    if (t[a]! - t[b]! === lag * spacing) {
      sum += Math.abs(v[a]! - v[b]!);
      c++;
    }
  }
  return c >= lag / 2 ? sum / c : Number.NaN;
}

/**
 * Pick daily or weekly seasonality from history: a period is real when the value one period ago
 * predicts much better than the value half a period ago (opposite phase). Trends and noise give
 * ratios near or above 1.
 */
export function detectPeriod(v: Float64Array, t: Float64Array, head: number, n: number, spacing: number): number {
  const span = n * spacing;
  let best = 0;
  const day = span >= 3 * DAY_MS ? lagMae(v, t, head, n, DAY_MS, spacing) : Number.NaN;
  const halfDay = span >= 3 * DAY_MS ? lagMae(v, t, head, n, DAY_MS / 2, spacing) : Number.NaN;
  if (day < 0.6 * halfDay) best = DAY_MS;
  if (span >= 2.5 * WEEK_MS) {
    const week = lagMae(v, t, head, n, WEEK_MS, spacing);
    const halfWeek = lagMae(v, t, head, n, WEEK_MS / 2, spacing);
    if (week < 0.6 * halfWeek && (best === 0 || week < 0.8 * day)) best = WEEK_MS;
  }
  return best;
}

function setPeriod(s: SeasonalState, p: SeasonalParams, periodMs: number, spacing: number): void {
  const slots = Math.round(periodMs / spacing);
  if (slots < 2 || slots > MAX_SLOTS) return;
  s.periodMs = periodMs;
  s.slots = slots;
  s.slotV = new Float64Array(slots * p.seasons).fill(Number.NaN);
  s.slotS = new Float64Array(slots * p.seasons).fill(Number.NaN);
  s.season = new Float64Array(slots);
  s.scratch = new Float64Array(Math.max(p.seasons, 8));
  s.hwReady = false;
  // backfill from history so the seasonal baseline is available at once
  const cap = s.histV.length;
  for (let i = 0; i < s.histN; i++) {
    const j = (s.histHead - s.histN + i + cap) % cap;
    store(s, p, s.histT[j]!, s.histV[j]!);
  }
}

function slotOf(s: SeasonalState, t: number): { slot: number; season: number } {
  const rel = t - s.t0;
  const season = Math.floor(rel / s.periodMs);
  const slot = Math.min(s.slots - 1, Math.floor((rel - season * s.periodMs) / (s.periodMs / s.slots)));
  return { slot, season };
}

function store(s: SeasonalState, p: SeasonalParams, t: number, x: number): void {
  const { slot, season } = slotOf(s, t);
  const at = slot * p.seasons + (season % p.seasons);
  s.slotV[at] = x;
  s.slotS[at] = season;
}

/** Median and MAD of the slot over the `seasons` seasons before `season`; n = how many exist. */
function slotBaseline(s: SeasonalState, p: SeasonalParams, slot: number, season: number): { med: number; mad: number; n: number } {
  let n = 0;
  for (let j = 0; j < p.seasons; j++) {
    const at = slot * p.seasons + j;
    const sIdx = s.slotS[at]!;
    if (sIdx < season && sIdx >= season - p.seasons) s.scratch[n++] = s.slotV[at]!;
  }
  if (n === 0) return { med: Number.NaN, mad: Number.NaN, n };
  const a = s.scratch;
  const med = smallMedian(a, n);
  for (let i = 0; i < n; i++) a[i] = Math.abs(a[i]! - med);
  return { med, mad: smallMedian(a, n), n };
}

function pushHistory(s: SeasonalState, t: number, x: number): void {
  const cap = s.histV.length;
  if (cap === 0) return;
  s.histV[s.histHead] = x;
  s.histT[s.histHead] = t;
  s.histHead = (s.histHead + 1) % cap;
  if (s.histN < cap) s.histN++;
}

function verdictFor(x: number, expected: number, sigma: number, k: number, what: string): Verdict {
  const scale = safeScale(sigma, expected);
  const z = deviation(x, expected) / scale;
  const anomaly = Math.abs(z) > k;
  return {
    expected,
    lower: expected - k * sigma,
    upper: expected + k * sigma,
    score: scoreFromSigmas(z, k),
    anomaly,
    sigmas: z,
    reason: anomaly ? sigmaReason(z, what) : "",
  };
}

function stepMedian(s: SeasonalState, p: SeasonalParams, t: number, x: number): Verdict | null {
  const { slot, season } = slotOf(s, t);
  const b = slotBaseline(s, p, slot, season);
  let verdict: Verdict | null = null;
  let stored = x;
  if (b.n >= 1) {
    const pooledSigma = s.pooledN > 0 ? (s.pooled / s.pooledN) * 1.2533 : 0;
    const sigma = Math.max(b.mad * MAD_TO_SIGMA, pooledSigma);
    const r = x - b.med;
    if (b.n >= p.min_seasons && s.pooledN >= Math.min(s.slots, 50)) {
      verdict = verdictFor(
        x,
        b.med,
        sigma,
        p.k,
        `the same time in the last ${b.n} ${s.periodMs === WEEK_MS ? "weeks" : s.periodMs === DAY_MS ? "days" : "seasons"}`,
      );
      // keep the anomaly out of the next seasons' baseline: store it clipped to the band
      if (verdict.anomaly) stored = r > 0 ? b.med + p.k * sigma : b.med - p.k * sigma;
    }
    // pooled spread: a running mean of |residual| over about one season, clipped so outliers barely move it
    const clip = pooledSigma > 0 ? Math.min(Math.abs(r), p.k * pooledSigma) : Math.abs(r);
    const cap = Math.max(s.slots, 10);
    if (s.pooledN < cap) {
      s.pooled += clip;
      s.pooledN++;
    } else s.pooled += clip - s.pooled / s.pooledN;
  }
  store(s, p, t, stored);
  return verdict;
}

function stepHoltWinters(s: SeasonalState, p: SeasonalParams, t: number, x: number): Verdict | null {
  const { slot, season } = slotOf(s, t);
  if (!s.hwReady) {
    // initialise from the first complete season held in the slot store
    store(s, p, t, x);
    if (season < 1) return null;
    let sum = 0;
    let n = 0;
    let positive = true;
    for (let i = 0; i < s.slots; i++) {
      const b = slotBaseline(s, p, i, season);
      if (b.n > 0) {
        sum += b.med;
        n++;
        if (!(b.med > 0)) positive = false;
      }
    }
    if (n < s.slots / 2) return null;
    s.level = sum / n;
    s.trend = 0;
    s.hwMult = p.seasonality === "multiplicative" && positive && s.level > 0;
    for (let i = 0; i < s.slots; i++) {
      const b = slotBaseline(s, p, i, season);
      const v = b.n > 0 ? b.med : s.level;
      s.season[i] = s.hwMult ? v / s.level : v - s.level;
    }
    s.hwVar = Number.NaN;
    s.hwReady = true;
    return null;
  }
  const seas = s.season[slot]!;
  const forecast = s.hwMult ? (s.level + s.trend) * seas : s.level + s.trend + seas;
  let verdict: Verdict | null = null;
  let used = x;
  if (!Number.isNaN(s.hwVar)) {
    const sigma = Math.sqrt(s.hwVar);
    const label = `the Holt-Winters forecast${p.seasonality === "multiplicative" && !s.hwMult ? " (additive: data not positive)" : ""}`;
    verdict = verdictFor(x, forecast, sigma, p.k, label);
    // an anomaly updates the model with the band edge, not the value, so it does not bend the forecast
    if (verdict.anomaly) used = x > forecast ? forecast + p.k * sigma : forecast - p.k * sigma;
  }
  const e = used - forecast;
  s.hwVar = Number.isNaN(s.hwVar) ? e * e : s.hwVar + (e * e - s.hwVar) * (2 / (Math.min(s.slots, 200) + 1));
  const prevLevel = s.level;
  if (s.hwMult) {
    // a non-positive value cannot be divided into level and factor: leave the model as it is
    if (used > 0 && seas > 0) {
      s.level = p.alpha * (used / seas) + (1 - p.alpha) * (s.level + s.trend);
      s.trend = p.beta * (s.level - prevLevel) + (1 - p.beta) * s.trend;
      if (s.level > 0) s.season[slot] = p.gamma * (used / s.level) + (1 - p.gamma) * seas;
    }
  } else {
    s.level = p.alpha * (used - seas) + (1 - p.alpha) * (s.level + s.trend);
    s.trend = p.beta * (s.level - prevLevel) + (1 - p.beta) * s.trend;
    s.season[slot] = p.gamma * (used - s.level) + (1 - p.gamma) * seas;
  }
  return verdict;
}

function fallback(s: SeasonalState, p: SeasonalParams, x: number, why: string): Verdict {
  const w = s.fb;
  let verdict: Verdict = NO_VERDICT;
  if (w.n >= p.min_points) {
    const med = swMedian(w);
    const v = verdictFor(x, med, swMad(w, med) * MAD_TO_SIGMA, p.k, `the rolling median (${why})`);
    verdict = v;
  }
  swPush(w, x);
  return verdict;
}

export const seasonal: DetectorDefinition<SeasonalParams, SeasonalState> = {
  type: "seasonal",
  params,
  init(p) {
    const configuredMs = p.period === "auto" || p.period === "none" ? 0 : durationMs(p.period);
    const histCap = p.period === "auto" ? MAX_HISTORY : 0;
    return {
      spacing: spacingState(p.granularity_ms),
      configuredMs,
      periodMs: 0,
      slots: 0,
      nextCheck: p.period === "auto" ? 0 : Number.POSITIVE_INFINITY,
      t0: Number.NaN,
      slotV: new Float64Array(0),
      slotS: new Float64Array(0),
      pooled: 0,
      pooledN: 0,
      hwReady: false,
      level: 0,
      trend: 0,
      season: new Float64Array(0),
      hwVar: Number.NaN,
      hwMult: false,
      fb: sortedWindow(p.fallback_window),
      histV: new Float64Array(histCap),
      histT: new Float64Array(histCap),
      histHead: 0,
      histN: 0,
      scratch: new Float64Array(Math.max(p.seasons, 8)),
      count: 0,
    };
  },
  step(s, point: Point, p): Verdict {
    // slots are cut from wall-clock time, so a daily pattern keeps its slots across DST changes
    const t = localMs(point.t, p.timezone);
    const spacing = observeSpacing(s.spacing, t);
    const x = point.v;
    if (!isValue(x) || !Number.isFinite(t)) return NO_VERDICT;
    if (Number.isNaN(s.t0)) s.t0 = t;
    s.count++;
    if (s.periodMs === 0 && spacing > 0) {
      if (s.configuredMs > 0) setPeriod(s, p, s.configuredMs, spacing);
      else if (s.nextCheck !== Number.POSITIVE_INFINITY && s.histN >= s.nextCheck) {
        const found = s.histN >= 8 ? detectPeriod(s.histV, s.histT, s.histHead, s.histN, spacing) : 0;
        if (found > 0) setPeriod(s, p, found, spacing);
        // re-test as history grows: at 3 days, then every day, until a weekly test has been possible
        const perDay = Math.max(1, Math.round(DAY_MS / spacing));
        const weeklyTestable = s.histN * spacing >= 2.5 * WEEK_MS || s.histN >= s.histV.length;
        s.nextCheck = s.periodMs === WEEK_MS || weeklyTestable ? Number.POSITIVE_INFINITY : Math.max(3 * perDay, s.histN + perDay);
      }
    } else if (s.periodMs === DAY_MS && s.nextCheck !== Number.POSITIVE_INFINITY && s.histN >= s.nextCheck) {
      // daily found early; weekly may still turn out to fit better
      const found = detectPeriod(s.histV, s.histT, s.histHead, s.histN, spacing);
      if (found === WEEK_MS) setPeriod(s, p, WEEK_MS, spacing);
      const perDay = Math.max(1, Math.round(DAY_MS / spacing));
      const weeklyTestable = s.histN * spacing >= 2.5 * WEEK_MS || s.histN >= s.histV.length;
      s.nextCheck = s.periodMs === WEEK_MS || weeklyTestable ? Number.POSITIVE_INFINITY : s.histN + perDay;
    }
    pushHistory(s, t, x);
    if (s.periodMs === 0) {
      const why =
        p.period === "none"
          ? "no seasonality configured"
          : s.configuredMs > 0
            ? "bucket size not known yet"
            : "no daily or weekly pattern found yet";
      return fallback(s, p, x, why);
    }
    const v = p.method === "holt_winters" ? stepHoltWinters(s, p, t, x) : stepMedian(s, p, t, x);
    if (v === null) {
      const { season } = slotOf(s, t);
      return fallback(s, p, x, `${season} of ${p.min_seasons} seasons of history`);
    }
    swPush(s.fb, x);
    return v;
  },
};
