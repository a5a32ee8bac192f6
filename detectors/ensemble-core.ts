/**
 * `ensemble`: the default detector, what a metric gets when it names none and what `vigil detect`
 * runs. One score in [0, 1] from seven views of the series, each judged against its own recent past:
 *
 *   1. the point against a robust rolling baseline (median of the last `window` points) — spikes;
 *   2. the mean of the last 5 points against that baseline — level shifts, early;
 *   3. the mean of the last 20 points — small persistent shifts and drifts;
 *   4. volatility: the mean absolute step of the last 10 points against the median step — bursts,
 *      noise changes;
 *   5. the seasonal residual (seasonal-profile.ts: same time of day or of week in earlier seasons,
 *      whichever the data shows) — a pattern that broke (a holiday, a flattened peak);
 *   6. the gap to the nearest value in the baseline window — a value in a range the series never
 *      visits, even when it is not the largest;
 *   7. a collapse toward zero of a series that is never negative, on a log scale (ensemble-views.ts)
 *      — an outage of a count that routine dips of the busy hours would otherwise hide.
 * Views 1-3 are kept in value units (the median moves slowly, the MAD-sigma jumps as spikes enter
 * and leave the window); their floors are in robust sigmas.
 *
 * Why relative to the past: a fixed "k sigmas" either floods spiky series or misses quiet ones. Each
 * view is scored against the largest value it took over the last `history` points (excluding what
 * was already alerted), so a point is anomalous when it is new for this series: bigger than
 * anything recently seen by the `novelty` factor, and above an absolute floor. That is a streaming,
 * label-free calibration per series. Alerted values stay out of that history so that a second
 * incident is still seen; but a third alert of a view that is no bigger than its last two is a
 * recurring pattern (a nightly job), not an incident: it is suppressed and remembered.
 *
 * After an alert the detector stays quiet for `refractory` points (one incident, one alert), and if
 * the series stays beyond the band on the same side (a level shift) it re-baselines on the new level
 * (the seasonal profile moves with it) instead of alerting for days. Its verdicts meanwhile say
 * `ongoing` while the series stays beyond where it was before the incident, so that an alert
 * lifecycle keeps one alert firing for the whole incident (and `for` counts it); `vigil detect`
 * flags only the point that alerted. `missing` runs alongside: a run
 * of empty buckets longer than `missing_after` is an anomaly too; data that resumes after rows were
 * absent (a gap in the timestamps) is one only when the gap is the longest the series has had, by
 * the same "new for this series" rule: irregularly sampled series have gaps routinely. Needs `warmup` points of view
 * history before its first alert (72: three days of hourly buckets); the seasonal view needs 200
 * rows of its own within the history (a third of the history when that is shorter than 600 rows).
 *
 * This module is the step code; ensemble.ts has the parameter schema (with each parameter's meaning).
 */
import type { Point } from "../src/model/point.js";
import { Arena, arenaPlan } from "./arena.js";
import { capToBars, FLOOR, histBlocks, recordViews, seasonalMinRows, viewBar } from "./ensemble-bars.js";
import { followIncident, openIncident, recurs, undoShift } from "./ensemble-incident.js";
import { ENSEMBLE_LAYOUT, type EnsembleParams, type EnsembleState, MEDIUM, NF, SHORT, STEPS } from "./ensemble-layout.js";
import { FULL, GAP, GAP_ON, goesOn, NONE, OUT, reasonFor, verdictOf } from "./ensemble-verdict.js";
import { collapseOffset, takeViews } from "./ensemble-views.js";
import { lazyWindow, lwPush, planLazyWindow } from "./lazy-window.js";
import { type MissingParams, missingStateIn, missingStep } from "./missing-core.js";
import { planSeasonalProfile, type SeasonalExpectation, seasonalProfileState, seasonalStepInto } from "./seasonal-profile.js";
import { isValue, mutableFields, ZERO } from "./stats.js";
import { type DetectorDefinition, NO_VERDICT, type Verdict } from "./types.js";

const {
  PREV,
  SHORT_SUM,
  MED_SUM,
  STEP_SUM,
  STEP_SCALE,
  Z_SEASON,
  MEDIAN,
  SD,
  MISSING_AT,
  VIEWS,
  HIST_MAX,
  SHORT_AT,
  MEDIUM_AT,
  STEPS_AT,
  SHADOW_AT,
  SHADOW_AT2,
  INC_SIGN,
  INC_SHIFT,
  GAP_OPEN,
  GAP_COOL,
} = ENSEMBLE_LAYOUT.at;
const F_LEN = ENSEMBLE_LAYOUT.length;

/** Only every this many-th step enters the steps window (their median is a scale: a sample does). */
const STEP_EVERY = 4;

/** The embedded `missing` detector's parameters (`missing_after` was validated with the ensemble's). */
function missingParams(p: EnsembleParams): MissingParams {
  const out: MissingParams = { after: p.missing_after, stale: false };
  if (p.granularity_ms !== undefined) out.granularity_ms = p.granularity_ms;
  if (p.timezone !== undefined) out.timezone = p.timezone;
  return out;
}
// made once per params object: step() must not allocate per point
const subParams = new WeakMap<EnsembleParams, MissingParams>();
let lastP: EnsembleParams | null = null;
let lastSub: MissingParams | null = null;
function sub(p: EnsembleParams): MissingParams {
  if (p === lastP) return lastSub!;
  let s = subParams.get(p);
  if (!s) {
    s = missingParams(p);
    subParams.set(p, s);
  }
  lastP = p;
  lastSub = s;
  return s;
}

/** Ring write of the n-th value into `f[at..at + len)` (`len` passed as a constant so the remainder is cheap). */
function ring(f: Float64Array, at: number, len: number, n: number, x: number): number {
  const i = at + (n % len);
  const old = n >= len ? f[i]! : 0;
  f[i] = x;
  return old;
}

/** A fresh state: every array of it is a run of one buffer, read through its four views (arena.ts). */
function initState(p: EnsembleParams): EnsembleState {
  const nb = histBlocks(p.history);
  const stepsCap = Math.max(10, Math.ceil(p.window / STEP_EVERY));
  // one backing store and four view objects per series
  const plan = arenaPlan();
  plan.f64 += F_LEN;
  plan.f32 += nb * NF;
  plan.u8 += nb;
  planLazyWindow(plan, p.window);
  planLazyWindow(plan, stepsCap);
  planSeasonalProfile(plan, p.granularity_ms);
  const a = new Arena(plan);
  // the ensemble's numbers come first, so its offsets (PREV, VIEWS...) index `f` as they are
  if (a.at("f64", F_LEN) !== 0) throw new Error("ensemble: its numbers must start its arena");
  const f = a.f64;
  f[PREV] = Number.NaN;
  f.fill(Number.NEGATIVE_INFINITY, SHADOW_AT, SHADOW_AT + NF);
  f.fill(Number.NEGATIVE_INFINITY, SHADOW_AT2, SHADOW_AT2 + NF);
  return mutableFields({
    f,
    base: lazyWindow(p.window, true, a),
    steps: lazyWindow(stepsCap, false, a),
    n: 0,
    histBlkMax: a.f32,
    histAt: a.at("f32", nb * NF),
    seasonBlkCnt: a.u8,
    seasonAt: a.at("u8", nb),
    seasonCur: 0,
    seasonN: 0,
    blkRows: 0,
    blkHead: 0,
    blkN: 0,
    histN: 0,
    cooldown: 0,
    sinceAlert: -1,
    alertSign: 0,
    beyond: 0,
    rows: 0,
    period: ZERO,
    profile: seasonalProfileState(p.granularity_ms, a, p.timezone),
    missing: missingStateIn(sub(p), f, MISSING_AT),
  });
}

/**
 * The ensemble without its parameter schema (ensemble.ts adds it): what the detector thread of
 * `vigil detect` loads, without the schema library.
 */
export const ensembleCore: Omit<DetectorDefinition<EnsembleParams, EnsembleState>, "params"> = {
  type: "ensemble",
  init: initState,
  learn(s, t, v, p): void {
    advance(s, t, v, p);
  },
  columns: (s, p, t, v, n, score, flag) => ensembleColumns(s, p, t, v, n, score, flag),
  step(s, point: Point, p): Verdict {
    return verdictOf(advance(s, point.t, point.v ?? Number.NaN, p));
  },
  stepNotable(s, point: Point, p): Verdict {
    const kind = advance(s, point.t, point.v ?? Number.NaN, p);
    // the gap verdicts are notable: a gap that alerted, or one that goes on
    return kind === FULL && !OUT.fired && !OUT.ongoing ? NO_VERDICT : verdictOf(kind);
  },
};

/**
 * The ensemble over columns: judge `n` points (`v` NaN = missing) and write each one's score and
 * flag, exactly what `step` would say for them, without a verdict object per point. For the
 * `vigil detect` pipeline.
 */
export function ensembleColumns(
  s: EnsembleState,
  p: EnsembleParams,
  t: Float64Array,
  v: Float64Array,
  n: number,
  score: Float64Array,
  flag: Uint8Array,
): void {
  for (let i = 0; i < n; i++) {
    const kind = advance(s, t[i]!, v[i]!, p);
    if (kind === FULL) {
      score[i] = OUT.score;
      flag[i] = OUT.fired ? 1 : 0;
    } else if (kind === GAP || kind === GAP_ON) {
      score[i] = OUT.gap.score;
      flag[i] = kind === GAP && OUT.gap.anomaly ? 1 : 0;
    } else {
      score[i] = 0;
      flag[i] = 0;
    }
  }
}

/** The seasonal expectation of the current point (scratch for `seasonalStepInto`). */
const SE: SeasonalExpectation = mutableFields({ expected: ZERO, local: ZERO, sigma: ZERO, periodMs: ZERO, seasons: ZERO, altZ: ZERO });

/** One point (`x` NaN = no value): advance the state and leave the verdict in `OUT`. */
function advance(s: EnsembleState, t: number, x: number, p: EnsembleParams): number {
  const gap = missingStep(s.missing, t, x, sub(p), true);
  const se = p.seasonal && seasonalStepInto(s.profile, t, x, SE) ? SE : null;
  const f = s.f;
  const hasValue = isValue(x);
  const gapAlert = gapAlerts(s, p, gap, hasValue);
  if (!hasValue) return emptyBucket(f, gap, gapAlert);
  if (f[GAP_OPEN] === 1) afterGap(s);
  f[GAP_OPEN] = 0;
  const n = s.n;
  const step = pushRecent(s, x);
  let kind = gapAlert ? GAP : NONE;
  const w = s.base;
  if (w.n >= Math.min(p.window, 30)) kind = judge(s, p, t, x, se, gapAlert);
  else if (!gapAlert && f[INC_SIGN] !== 0) {
    // re-baselined moments ago, the window is refilling and judges nothing yet: the incident may go on
    OUT.score = 0;
    OUT.fired = false;
    OUT.ongoing = false;
    OUT.reason = "";
    if (goesOn(f, x, t, se)) kind = FULL;
    else if (f[INC_SHIFT] !== 0) undoShift(s, p);
  }
  lwPush(w, x);
  if (n > 0 && n % STEP_EVERY === 0) lwPush(s.steps, step);
  return kind;
}

/**
 * The missing view: does the embedded `missing` detector's verdict `gap` alert? Data resuming after
 * a gap is one more incident, spaced from the last gap alert by the refractory period (the values
 * right after it are often a backlog, so it quiets the value views too); a silence alerts once it
 * passes `missing_after`, whatever alerted before it, and leaves the value views alone: the first
 * value after it is judged with full sensitivity.
 */
function gapAlerts(s: EnsembleState, p: EnsembleParams, gap: Verdict, hasValue: boolean): boolean {
  const f = s.f;
  const gapAlert = gap.anomaly && (hasValue ? f[GAP_COOL] === 0 : f[GAP_OPEN] === 0);
  if (gapAlert) {
    f[GAP_COOL] = p.refractory + 1;
    if (hasValue) s.cooldown = p.refractory + 1;
    OUT.gap = gap;
  }
  return gapAlert;
}

/**
 * Data resumes after a gap that alerted: the step across it is no step of the series, and the
 * recent steps from before it are replaced by the usual one, so that the hours the gap skipped (a
 * quiet night between an evening and a rush hour) do not read as volatility. A routine gap (a
 * weekend of a trading-day series) alerts nothing and keeps both.
 */
function afterGap(s: EnsembleState): void {
  const f = s.f;
  f[PREV] = Number.NaN;
  if (s.n < STEPS) return;
  const usual = f[STEP_SCALE]!;
  f.fill(usual, STEPS_AT, STEPS_AT + STEPS);
  f[STEP_SUM] = usual * STEPS;
}

/** A bucket without a value: only the missing view speaks. */
function emptyBucket(f: Float64Array, gap: Verdict, gapAlert: boolean): number {
  if (gapAlert) {
    f[GAP_OPEN] = 1;
    return GAP;
  }
  if (gap.anomaly && f[GAP_OPEN] === 1) {
    // the silence that alerted goes on
    OUT.gap = gap;
    return GAP_ON;
  }
  return NONE;
}

/** Add `x` to the rings of recent values and steps (and their sums); the absolute step to it is returned. */
function pushRecent(s: EnsembleState, x: number): number {
  const f = s.f;
  const n = s.n;
  f[SHORT_SUM] = f[SHORT_SUM]! + (x - ring(f, SHORT_AT, SHORT, n, x));
  f[MED_SUM] = f[MED_SUM]! + (x - ring(f, MEDIUM_AT, MEDIUM, n, x));
  const prev = f[PREV]!;
  const step = Number.isNaN(prev) ? 0 : Math.abs(x - prev);
  f[STEP_SUM] = f[STEP_SUM]! + (step - ring(f, STEPS_AT, STEPS, n, step));
  s.n = n + 1;
  f[PREV] = x;
  return step;
}

/** A point with a full enough baseline: take its seven views, judge them against their bars, and learn it. */
function judge(s: EnsembleState, p: EnsembleParams, t: number, x: number, se: SeasonalExpectation | null, gapAlert: boolean): number {
  const f = s.f;
  takeViews(s, p, x, se);
  const m = f[MEDIAN]!;
  const sd = f[SD]!;
  const zPoint = (x - m) / sd;

  // how far beyond its bar each view is; the worst one decides
  let ratio = 0;
  let view = -1;
  const warm = s.histN >= Math.min(p.warmup, p.history);
  if (warm) {
    // per view k: bar = max(FLOOR[k] × (k < 3 ? sd : 1), novelty × histMax[k]), written out in the step (a call costs it)
    const nv = p.novelty;
    let r = f[VIEWS]! / Math.max(FLOOR[0] * sd, p.novelty_point * f[HIST_MAX]!);
    if (r > ratio) {
      ratio = r;
      view = 0;
    }
    r = f[VIEWS + 1]! / Math.max(FLOOR[1] * sd, nv * f[HIST_MAX + 1]!);
    if (r > ratio) {
      ratio = r;
      view = 1;
    }
    r = f[VIEWS + 2]! / Math.max(FLOOR[2] * sd, nv * f[HIST_MAX + 2]!);
    if (r > ratio) {
      ratio = r;
      view = 2;
    }
    r = f[VIEWS + 3]! / Math.max(FLOOR[3], nv * f[HIST_MAX + 3]!);
    if (r > ratio) {
      ratio = r;
      view = 3;
    }
    // a residual the other seasonal profile explains is no seasonal incident (it is recorded as it is)
    r =
      s.seasonN < seasonalMinRows(p.history) || se === null
        ? 0
        : Math.min(f[VIEWS + 4]!, se.altZ) / Math.max(FLOOR[4], nv * f[HIST_MAX + 4]!);
    if (r > ratio) {
      ratio = r;
      view = 4;
    }
    r = f[VIEWS + 5]! / Math.max(FLOOR[5], nv * f[HIST_MAX + 5]!);
    if (r > ratio) {
      ratio = r;
      view = 5;
    }
    r = f[VIEWS + 6]! / viewBar(f, sd, p, 6);
    if (r > ratio) {
      ratio = r;
      view = 6;
    }
  }
  // back where it was before an incident that moved the seasonal profile: a recovery, not a new incident
  const recovered = f[INC_SIGN] !== 0 && f[INC_SHIFT] !== 0 && !goesOn(f, x, t, se);
  if (recovered) undoShift(s, p);
  const fired = !recovered && ratio > 1 && s.cooldown === 0 && !recurs(s, p, view);
  if (s.cooldown > 0) s.cooldown--;
  if (f[GAP_COOL]! > 0) f[GAP_COOL] = f[GAP_COOL]! - 1;
  const score = Math.min(fired ? 1 : 0.49, (ratio * ratio) / (1 + ratio * ratio));
  // a value that alerts is reported even as data resumes after a gap: the gap never blinds it
  const full = !gapAlert || fired;
  if (full) {
    OUT.score = warm ? score : 0;
    OUT.fired = fired;
    OUT.ongoing = false;
    OUT.seasonal = view === 4;
    OUT.reason = fired ? reasonFor(view, s, zPoint, m, se) : "";
    band(s, p, se, zPoint, fired ? view : -1);
    if (!fired && f[INC_SIGN] !== 0) goesOn(f, x, t, se);
  }
  if (fired) openIncident(s, p, view, zPoint, se);
  else if (!recovered) {
    // before it may alert, a view enters the history only up to the bar it would have had to
    // pass: one outlier while warming up must not set the bar for `history` points
    if (!warm) capToBars(f, sd, p);
    recordViews(s, p); // alerted values stay out of the history, or they would mask the next incident
  }
  if (s.sinceAlert >= 0 && !fired) followIncident(s, x, se, zPoint);
  return full ? FULL : GAP;
}

/**
 * The verdict's expectation and band: the seasonal profile's when one is in force, else the rolling
 * median's. An alert of a view measured from the rolling median (a spike, a level shift) has that
 * median and the view's bar, and a collapse has the collapse view's bar as its lower edge: the
 * message, the band and the chart say what broke which bar.
 */
function band(s: EnsembleState, p: EnsembleParams, se: SeasonalExpectation | null, zPoint: number, firedView: number): void {
  const f = s.f;
  if (firedView === 6) {
    const e = se === null ? f[MEDIAN]! : se.expected;
    const c = collapseOffset(f);
    OUT.expected = e;
    OUT.half = e - ((e + c) * Math.exp(-viewBar(f, f[SD]!, p, 6)) - c);
    OUT.sigmas = se === null ? zPoint : f[Z_SEASON]!;
    return;
  }
  const medianView = firedView >= 0 && firedView < 3;
  if (se !== null && !medianView) {
    OUT.half = viewBar(f, f[SD]!, p, 4) * se.sigma;
    OUT.expected = se.expected;
    OUT.sigmas = f[Z_SEASON]!;
  } else {
    OUT.half = viewBar(f, f[SD]!, p, medianView ? firedView : 0);
    OUT.expected = f[MEDIAN]!;
    OUT.sigmas = zPoint;
  }
}
