/**
 * `ensemble`: the default detector, what a metric gets when it names none and what `vigil detect`
 * runs. One score in [0, 1] from six views of the series, each judged against its own recent past:
 *
 *   1. the point against a robust rolling baseline (median of the last `window` points) — spikes;
 *   2. the mean of the last 5 points against that baseline — level shifts, early;
 *   3. the mean of the last 20 points — small persistent shifts and drifts;
 *   4. volatility: the mean absolute step of the last 10 points against the median step — bursts,
 *      noise changes;
 *   5. the seasonal residual (seasonal-profile.ts: same time of day or of week in earlier seasons,
 *      whichever the data shows) — a pattern that broke (a holiday, a flattened peak);
 *   6. the gap to the nearest value in the baseline window — a value in a range the series never
 *      visits, even when it is not the largest.
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
import { fmtDeviation } from "../src/model/format.js";
import type { Point } from "../src/model/point.js";
import { Arena, arenaPlan } from "./arena.js";
import { type LazyWindow, lazyWindow, lwClear, lwDue, lwLowerBound, lwPush, lwRecenter, lwRefresh, planLazyWindow } from "./lazy-window.js";
import { MISSING_NUMBERS, type MissingParams, type MissingState, missingStateIn, missingStep } from "./missing-core.js";
import {
  planSeasonalProfile,
  type SeasonalExpectation,
  type SeasonalProfileState,
  seasonalProfileState,
  seasonalShift,
  seasonalStepInto,
  slotLabel,
} from "./seasonal-profile.js";
import { isValue, MAD_TO_SIGMA, madSorted, mutableFields, quantileSorted, safeScale, sigmaReason, ZERO } from "./stats.js";
import { type DetectorDefinition, NO_VERDICT, type Verdict } from "./types.js";

/** Number of views (features). */
const NF = 6;
/**
 * Absolute floors per view: even a novel value must be this unusual (robust sigmas of the baseline;
 * × the usual step for volatility; for the gap view, sigmas between the value and its nearest
 * neighbour in the baseline window). Volatility's is 5× the usual step because a routine burst's
 * steps up and back already move the mean step 3-4×.
 */
const FLOOR = [4, 3, 2.5, 5, 4, 10] as const;
/** Views with a history that must be at least this long before they may alert (the seasonal view
 * starts late, and its first residuals are not a trustworthy bar). */
const SEASONAL_MIN_ROWS = 200;
/** The seasonal view's rows are counted within the history: a third of it, at most SEASONAL_MIN_ROWS (a daily metric's 180-row history could never hold 200). */
function seasonalMinRows(history: number): number {
  return Math.min(SEASONAL_MIN_ROWS, Math.ceil(history / 3));
}
/** A third alert no bigger than the last two of its view, within this many × `history` rows, is a recurring pattern. */
const PATTERN_MEMORY = 3;
/** ...and within three weeks when the bucket size is known: a weekly job recurs three times in it, while three incidents a month apart are three incidents. */
const PATTERN_SPAN_MS = 21 * 86_400_000;

function patternRows(p: EnsembleParams): number {
  const rows = PATTERN_MEMORY * p.history;
  return p.granularity_ms === undefined ? rows : Math.min(rows, Math.ceil(PATTERN_SPAN_MS / p.granularity_ms));
}
/** Baseline points the gap view needs before it has an opinion. */
const GAP_MIN_POINTS = 100;
/** Short windows of views 2, 3 and 4. */
const SHORT = 5;
const MEDIUM = 20;
const STEPS = 10;
/** Points after an alert that decide whether it was a level shift, and how many must agree. */
const SHIFT_CHECK = 12;
const SHIFT_AGREE = 10;
const SHIFT_SIGMAS = 3;
/** Only every this many-th step enters the steps window (their median is a scale: a sample does). */
const STEP_EVERY = 4;
/** The baseline's float32 offsets are re-centred when the median is this many sigmas from their reference. */
const RECENTER = 1000;
/** View history is kept as per-block maxima (and active counts) of this many rows. */
const HIST_BLOCK = 16;

function histBlock(history: number): number {
  return Math.min(HIST_BLOCK, Math.max(1, history >> 3));
}
function histBlocks(history: number): number {
  return Math.max(1, Math.floor(history / histBlock(history)));
}

/** The ensemble's parameters, parsed (ensemble.ts: the schema that yields them, with their meaning). */
export interface EnsembleParams {
  window: number;
  history: number;
  warmup: number;
  novelty: number;
  novelty_point: number;
  refractory: number;
  seasonal: boolean;
  missing_after: string | number;
  granularity_ms?: number | undefined;
  /** Zone of the wall clock the seasonal slots follow (absent = UTC). */
  timezone?: string | undefined;
}

/**
 * Where each number lives in `EnsembleState.f`: the scalars that are fractions, then the short
 * arrays (per view, or rings of recent values). The ones every point touches come first, so that
 * a point reads a few adjacent cache lines of its series rather than a dozen separate objects (a
 * daemon steps 10,000 series a tick, none of them in cache).
 */
const PREV = 0;
const SHORT_SUM = 1;
const MED_SUM = 2;
const STEP_SUM = 3;
/** Last seasonal residual in sigmas (for the reason). */
const Z_SEASON = 4;
/** Cached baseline: median, robust sigma, range, median step; refreshed with the sorted window. */
const MEDIAN = 5;
const SD = 6;
const RANGE = 7;
const STEP_SCALE = 8;
/** The embedded `missing` detector's numbers. */
const MISSING_AT = 9;
/** Per view: this point's value, the maximum in the current history block, the running maximum over the history. */
const VIEWS = MISSING_AT + MISSING_NUMBERS;
const CUR_MAX = VIEWS + NF;
const HIST_MAX = CUR_MAX + NF;
/** Rings of the last SHORT and MEDIUM values and the last STEPS absolute steps. */
const SHORT_AT = HIST_MAX + NF;
const MEDIUM_AT = SHORT_AT + SHORT;
const STEPS_AT = MEDIUM_AT + MEDIUM;
/** The points after an alert (level-shift check) and their seasonal residuals (NaN = no seasonal profile in force). */
const RECENT = STEPS_AT + STEPS;
const RECENT_RES = RECENT + SHIFT_CHECK;
/**
 * Per view: the values of its last two alerts (kept out of the history) and when (history rows
 * counted by `rows`). A third alert no bigger than both within `history` rows is a recurring
 * pattern, not an incident: it is suppressed and recorded like any other value.
 */
const SHADOW_V = RECENT_RES + SHIFT_CHECK;
const SHADOW_AT = SHADOW_V + NF;
const SHADOW_V2 = SHADOW_AT + NF;
const SHADOW_AT2 = SHADOW_V2 + NF;
/**
 * The incident the last alert opened, for telling an alert lifecycle that it goes on: its sign
 * (0 = none open), the rolling median and robust sigma before it, whether it was the seasonal view's
 * (then judged against the seasonal expectation), and how far re-baselining has moved that since.
 * It closes at the first value back within SHIFT_SIGMAS / 2 of that frame. The detector itself re-baselines
 * after a level shift and raises no new alert; an open alert stays firing until the series returns.
 */
const INC_SIGN = SHADOW_AT2 + NF;
const INC_LEVEL = INC_SIGN + 1;
const INC_SD = INC_SIGN + 2;
const INC_SEASONAL = INC_SIGN + 3;
const INC_SHIFT = INC_SIGN + 4;
/** 1 while the current run of empty buckets has alerted (the buckets after that go on with it). */
const GAP_OPEN = INC_SIGN + 5;
/** Value points before data resuming after a gap may alert again (gaps have a quiet time of their own, so they never blind the value views). */
const GAP_COOL = INC_SIGN + 6;
const F_LEN = INC_SIGN + 7;

export interface EnsembleState {
  /** The numbers laid out above (`PREV`, `VIEWS`...). */
  f: Float64Array;
  /** The baseline window; its sorted copy (median, MAD, quantiles, nearest value) is refreshed in batches. */
  base: LazyWindow;
  /** Absolute steps between consecutive values, same window (their median is the usual step). */
  steps: LazyWindow;
  n: number;
  /**
   * View history, in blocks of `histBlock(history)` rows: per block and view the maximum, ring of
   * `histBlocks(history)` full blocks plus the current one (current maxima in `f`). A run of the
   * state's 4-byte view from `histAt` (the state's arrays share one view per element type).
   */
  histBlkMax: Float32Array;
  histAt: number;
  blkRows: number;
  blkHead: number;
  blkN: number;
  /** Rows of the view history (capped at `history`). */
  histN: number;
  /**
   * Rows of the view history in which the seasonal view was active (non-zero): per block, in the
   * current block, and in all (the seasonal view may alert only after SEASONAL_MIN_ROWS of them).
   * From `seasonAt` in the state's 1-byte view.
   */
  seasonBlkCnt: Uint8Array;
  seasonAt: number;
  seasonCur: number;
  seasonN: number;
  cooldown: number;
  /** Level-shift check after an alert: points seen, sign, how many stayed beyond the band. */
  sinceAlert: number;
  alertSign: number;
  beyond: number;
  rows: number;
  /** Period of the seasonal profile the view history was built with (ms; 0 = none yet). */
  period: number;
  profile: SeasonalProfileState;
  missing: MissingState;
}

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

function recordViews(s: EnsembleState, p: EnsembleParams): void {
  const H = p.history;
  const f = s.f;
  for (let k = 0; k < NF; k++) {
    const v = f[VIEWS + k]!;
    if (v > f[CUR_MAX + k]!) f[CUR_MAX + k] = v;
    if (v > f[HIST_MAX + k]!) f[HIST_MAX + k] = v;
  }
  if (f[VIEWS + 4]! > 0) {
    s.seasonCur++;
    s.seasonN++;
  }
  s.rows++;
  if (++s.blkRows === histBlock(H)) {
    // the block is full: it replaces the oldest one, and the maxima are rescanned (O(blocks))
    const nb = histBlocks(H);
    const row = s.histAt + s.blkHead * NF;
    // views whose maximum may be leaving with the evicted block (stored rounded to float32)
    let rescan = 0;
    for (let k = 0; k < NF; k++) {
      if (s.blkN === nb && s.histBlkMax[row + k]! >= Math.fround(f[HIST_MAX + k]!)) rescan |= 1 << k;
      s.histBlkMax[row + k] = f[CUR_MAX + k]!;
      f[CUR_MAX + k] = 0;
    }
    if (s.blkN === nb) s.seasonN -= s.seasonBlkCnt[s.seasonAt + s.blkHead]!;
    s.seasonBlkCnt[s.seasonAt + s.blkHead] = s.seasonCur;
    s.seasonCur = 0;
    s.blkHead = s.blkHead + 1 === nb ? 0 : s.blkHead + 1;
    if (s.blkN < nb) s.blkN++;
    s.blkRows = 0;
    for (let k = 0; rescan !== 0; k++, rescan >>= 1) {
      if ((rescan & 1) === 0) continue;
      let mx = 0;
      for (let i = s.histAt + k, e = s.histAt + s.blkN * NF; i < e; i += NF) if (s.histBlkMax[i]! > mx) mx = s.histBlkMax[i]!;
      f[HIST_MAX + k] = mx;
    }
  }
  s.histN = Math.min(H, s.blkN * histBlock(H) + s.blkRows);
}

/** How much faster than the novelty factor a view's history may grow per value in the warm-up. */
const WARM_GROWTH = 2;

/** Views beyond (twice) the bar they would have had to pass are cut back to it (in the warm-up, where nothing alerts). */
function capToBars(f: Float64Array, sd: number, p: EnsembleParams): void {
  for (let k = 0; k < NF; k++) {
    // twice the bar: what recurs in the warm-up (a weekly low) still reaches its size in a few occurrences
    const bar = Math.max(k < 3 ? FLOOR[k]! * sd : FLOOR[k]!, WARM_GROWTH * (k === 0 ? p.novelty_point : p.novelty) * f[HIST_MAX + k]!);
    if (f[VIEWS + k]! > bar) f[VIEWS + k] = bar;
  }
}

/**
 * Another model took over a view: its old values are not comparable any more. Keep how long the
 * view has been active but cap its past at the floor, so the bar restarts from there.
 */
function capView(s: EnsembleState, p: EnsembleParams, k: number): void {
  const cap = FLOOR[k]! / p.novelty;
  const end = s.histAt + histBlocks(p.history) * NF;
  for (let i = s.histAt + k; i < end; i += NF) if (s.histBlkMax[i]! > cap) s.histBlkMax[i] = cap;
  if (s.f[CUR_MAX + k]! > cap) s.f[CUR_MAX + k] = cap;
  if (s.f[HIST_MAX + k]! > cap) s.f[HIST_MAX + k] = cap;
}

/** " (up 43%)": the change against the median in percent, by the rule of `fmtDeviation` (left out against a median next to zero, where it would read "up 25549851039%"). */
export function pct(mean: number, m: number): string {
  const change = fmtDeviation((mean - m) / Math.abs(m));
  return change === null ? "" : ` (${mean >= m ? "up" : "down"} ${change.slice(1)})`;
}

function reasonFor(
  view: number,
  s: EnsembleState,
  zPoint: number,
  zShort: number,
  zMed: number,
  m: number,
  se: SeasonalExpectation | null,
): string {
  switch (view) {
    case 0:
      return `${sigmaReason(zPoint, "the rolling median")}, beyond anything in the last ${s.histN} points`;
    case 1:
      return `level shift: last ${SHORT} points ${sigmaReason(zShort, "the rolling median")}${pct(s.f[SHORT_SUM]! / Math.min(SHORT, s.n), m)}`;
    case 2:
      return `last ${MEDIUM} points ${sigmaReason(zMed, "the rolling median")}${pct(s.f[MED_SUM]! / Math.min(MEDIUM, s.n), m)}`;
    case 3:
      return `volatility ${s.f[VIEWS + 3]!.toFixed(1)}× its usual step size`;
    case 4:
      return se === null ? "" : sigmaReason(s.f[Z_SEASON]!, `the expected value for ${slotLabel(se.local, se.periodMs)}`);
    default:
      return `a value not seen in the last ${s.base.n} points (${s.f[VIEWS + 5]!.toFixed(0)}σ from the nearest)`;
  }
}

/**
 * The ensemble without its parameter schema (ensemble.ts adds it): what the detector thread of
 * `vigil detect` loads, without the schema library.
 */
export const ensembleCore: Omit<DetectorDefinition<EnsembleParams, EnsembleState>, "params"> = {
  type: "ensemble",
  init: (p) => {
    const nb = histBlocks(p.history);
    const stepsCap = Math.max(10, Math.ceil(p.window / STEP_EVERY));
    // every array of the state is a run of one buffer, read through its four views (arena.ts): one
    // backing store and four view objects per series
    const plan = arenaPlan();
    plan.f64 += F_LEN;
    plan.f32 += nb * NF;
    plan.u8 += nb;
    planLazyWindow(plan, p.window);
    planLazyWindow(plan, stepsCap);
    planSeasonalProfile(plan, p.granularity_ms);
    const a = new Arena(plan);
    // the ensemble's numbers come first, so its constants (PREV, VIEWS...) index `f` as they are
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
  },
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

/** The verdict of the last `advance`, which said `kind`. */
function verdictOf(kind: number): Verdict {
  if (kind === NONE) return NO_VERDICT;
  if (kind === GAP) return OUT.gap;
  if (kind === GAP_ON) return { ...OUT.gap, anomaly: false, ongoing: true };
  return {
    expected: OUT.expected,
    lower: OUT.expected - OUT.half,
    upper: OUT.expected + OUT.half,
    score: OUT.score,
    anomaly: OUT.fired,
    ongoing: OUT.ongoing,
    sigmas: OUT.sigmas,
    reason: OUT.ongoing ? ongoingReason() : OUT.reason,
  };
}

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

/** What `advance` decided: nothing to say, the gap verdict, or a full verdict (fields of `OUT`). */
const NONE = 0;
const GAP = 1;
const FULL = 2;
/** A run of empty buckets that alerted goes on (the gap verdict, as ongoing). */
const GAP_ON = 3;
/** The last `advance`'s verdict, read right after the call (module scratch: no object per point). */
const OUT = mutableFields({
  gap: NO_VERDICT,
  expected: ZERO,
  half: ZERO,
  score: ZERO,
  fired: false,
  ongoing: false,
  sigmas: ZERO,
  reason: "",
  t: ZERO,
  period: ZERO,
});
/** The seasonal expectation of the current point (scratch for `seasonalStepInto`). */
const SE: SeasonalExpectation = mutableFields({ expected: ZERO, local: ZERO, sigma: ZERO, periodMs: ZERO, seasons: ZERO });

/**
 * A point after an alert, not itself alerted: is it still beyond the frame from before the incident
 * (on the incident's side, by SHIFT_SIGMAS)? Then `OUT` says so, judged in that frame; else the
 * incident is over.
 */
function goesOn(f: Float64Array, x: number, t: number, se: SeasonalExpectation | null): boolean {
  const seasonal = f[INC_SEASONAL] === 1 && se !== null;
  const expected = seasonal ? se.expected - f[INC_SHIFT]! : f[INC_LEVEL]!;
  const scale = seasonal ? se.sigma : f[INC_SD]!;
  const z = (x - expected) / scale;
  // it closes well inside the band (half of what opened the check), so that noise around the
  // band's edge does not end an incident that is still there
  if (!(z * f[INC_SIGN]! > SHIFT_SIGMAS / 2)) {
    f[INC_SIGN] = 0;
    return false;
  }
  OUT.ongoing = true;
  OUT.expected = expected;
  OUT.half = SHIFT_SIGMAS * scale;
  OUT.sigmas = z;
  // the reason is text for a verdict: `step` writes it, the history load and `vigil detect` never read it
  OUT.t = seasonal ? se.local : t;
  OUT.period = seasonal ? se.periodMs : 0;
  return true;
}

/** The reason of an ongoing point (from what `goesOn` left in `OUT`). */
function ongoingReason(): string {
  return sigmaReason(
    OUT.sigmas,
    OUT.period !== 0 ? `the expected value for ${slotLabel(OUT.t, OUT.period)}` : "the level before the incident",
  );
}

/** One point (`x` NaN = no value): advance the state and leave the verdict in `OUT`. */
function advance(s: EnsembleState, t: number, x: number, p: EnsembleParams): number {
  const gap = missingStep(s.missing, t, x, sub(p), true);
  const se = p.seasonal && seasonalStepInto(s.profile, t, x, SE) ? SE : null;
  const f = s.f;
  const hasValue = isValue(x);
  // data resuming after a gap is one more incident, spaced from the last gap alert by the
  // refractory period (the values right after it are often a backlog, so it quiets the value views
  // too); a silence alerts once it passes `missing_after`, whatever alerted before it, and leaves
  // the value views alone: the first value after it is judged with full sensitivity
  const gapAlert = gap.anomaly && (hasValue ? f[GAP_COOL] === 0 : f[GAP_OPEN] === 0);
  if (gapAlert) {
    f[GAP_COOL] = p.refractory + 1;
    if (hasValue) s.cooldown = p.refractory + 1;
    OUT.gap = gap;
  }
  if (!hasValue) {
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
  f[GAP_OPEN] = 0;
  const n = s.n;
  f[SHORT_SUM] = f[SHORT_SUM]! + (x - ring(f, SHORT_AT, SHORT, n, x));
  f[MED_SUM] = f[MED_SUM]! + (x - ring(f, MEDIUM_AT, MEDIUM, n, x));
  const prev = f[PREV]!;
  const step = Number.isNaN(prev) ? 0 : Math.abs(x - prev);
  f[STEP_SUM] = f[STEP_SUM]! + (step - ring(f, STEPS_AT, STEPS, n, step));
  s.n = n + 1;
  f[PREV] = x;

  let kind = gapAlert ? GAP : NONE;
  const w = s.base;
  if (w.n >= Math.min(p.window, 30)) {
    // the baseline moves slowly over a long window: its sorted copy, median and scales are
    // refreshed in batches (a few percent of the window; every point right after a re-baseline)
    if (lwDue(w)) {
      lwRefresh(w);
      const sn = w.sn;
      // the window holds offsets from w.ref: the median is w.ref + mRel, spreads need no correction
      const wa = w.at;
      const mRel = quantileSorted(w.sorted, sn, 0.5, wa);
      const m0 = w.ref + mRel;
      // floors keep the scale meaningful when most of the window is one constant value
      const spread = quantileSorted(w.sorted, sn, 0.95, wa) - quantileSorted(w.sorted, sn, 0.05, wa);
      const range0 = w.sorted[wa + sn - 1]! - w.sorted[wa]!;
      f[MEDIAN] = m0;
      f[RANGE] = range0;
      const sd0 = safeScale(Math.max(madSorted(w.sorted, sn, mRel, wa) * MAD_TO_SIGMA, 0.05 * spread, 0.01 * range0), m0);
      f[SD] = sd0;
      // the level wandered far from the reference: float32 offsets would lose the digits that matter
      if (Math.abs(mRel) > RECENTER * sd0) lwRecenter(w, mRel);
      const st = s.steps;
      lwRefresh(st);
      f[STEP_SCALE] = safeScale(Math.max(quantileSorted(st.sorted, st.sn, 0.5, st.at), 0.01 * range0), m0);
    }
    const m = f[MEDIAN]!;
    const sd = f[SD]!;
    const zPoint = (x - m) / sd;
    const zShort = (f[SHORT_SUM]! / Math.min(SHORT, s.n) - m) / sd;
    const zMed = (f[MED_SUM]! / Math.min(MEDIUM, s.n) - m) / sd;
    // views 0-2 are kept in value units, not sigmas: the median moves slowly but the scale jumps
    // as spikes enter and leave the window, and "bigger than anything recently seen" should not
    f[VIEWS] = Math.abs(x - m);
    f[VIEWS + 1] = Math.abs(zShort) * sd;
    f[VIEWS + 2] = Math.abs(zMed) * sd;
    f[VIEWS + 3] = f[STEP_SUM]! / Math.min(STEPS, s.n) / f[STEP_SCALE]!;
    if (se !== null && se.periodMs !== s.period) {
      // another profile took over (weekly beat daily): the old residuals are no bar for the new ones
      if (s.period !== 0) capView(s, p, 4);
      s.period = se.periodMs;
    }
    const zSeason = se === null ? 0 : (x - se.expected) / se.sigma;
    f[Z_SEASON] = zSeason;
    f[VIEWS + 4] = Math.abs(zSeason);
    // gap view: distance to the nearest value in the baseline window (a value in a range the series never visits)
    if (w.sn >= GAP_MIN_POINTS) {
      const xr = x - w.ref;
      const at = lwLowerBound(w, xr);
      const lo = at > 0 ? xr - w.sorted[w.at + at - 1]! : Number.POSITIVE_INFINITY;
      const hi = at < w.sn ? w.sorted[w.at + at]! - xr : Number.POSITIVE_INFINITY;
      f[VIEWS + 5] = Math.min(lo, hi) / sd;
    } else f[VIEWS + 5] = 0;

    // how far beyond its bar each view is; the worst one decides
    let ratio = 0;
    let view = -1;
    const warm = s.histN >= Math.min(p.warmup, p.history);
    if (warm) {
      // per view k: bar = max(FLOOR[k] × (k < 3 ? sd : 1), novelty × histMax[k]), written out
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
      r = s.seasonN < seasonalMinRows(p.history) ? 0 : f[VIEWS + 4]! / Math.max(FLOOR[4], nv * f[HIST_MAX + 4]!);
      if (r > ratio) {
        ratio = r;
        view = 4;
      }
      r = f[VIEWS + 5]! / Math.max(FLOOR[5], nv * f[HIST_MAX + 5]!);
      if (r > ratio) {
        ratio = r;
        view = 5;
      }
    }
    let fired = ratio > 1 && s.cooldown === 0;
    if (fired) {
      // the same thing a third time within the history: a recurring pattern, not a new incident
      const nov = view === 0 ? p.novelty_point : p.novelty;
      const vk = f[VIEWS + view]!;
      if (s.rows - f[SHADOW_AT2 + view]! < patternRows(p) && vk <= nov * f[SHADOW_V + view]! && vk <= nov * f[SHADOW_V2 + view]!)
        fired = false;
    }
    if (s.cooldown > 0) s.cooldown--;
    if (f[GAP_COOL]! > 0) f[GAP_COOL] = f[GAP_COOL]! - 1;
    const score = Math.min(fired ? 1 : 0.49, (ratio * ratio) / (1 + ratio * ratio));
    // a value that alerts is reported even as data resumes after a gap: the gap never blinds it
    if (!gapAlert || fired) {
      kind = FULL;
      OUT.score = warm ? score : 0;
      OUT.fired = fired;
      OUT.ongoing = false;
      OUT.reason = fired ? reasonFor(view, s, zPoint, zShort, zMed, m, se) : "";
      if (se !== null) {
        // a seasonal profile is in force: the expectation and band are the profile's
        OUT.half = Math.max(FLOOR[4], p.novelty * f[HIST_MAX + 4]!) * se.sigma;
        OUT.expected = se.expected;
        OUT.sigmas = zSeason;
      } else {
        OUT.half = Math.max(FLOOR[0] * sd, p.novelty_point * f[HIST_MAX]!);
        OUT.expected = m;
        OUT.sigmas = zPoint;
      }
      if (!fired && f[INC_SIGN] !== 0) goesOn(f, x, t, se);
    }
    if (fired) {
      s.cooldown = p.refractory;
      f[SHADOW_V2 + view] = f[SHADOW_V + view]!;
      f[SHADOW_AT2 + view] = f[SHADOW_AT + view]!;
      f[SHADOW_V + view] = f[VIEWS + view]!;
      f[SHADOW_AT + view] = s.rows;
      s.sinceAlert = 0;
      s.alertSign = view === 1 ? Math.sign(zShort) : view === 2 ? Math.sign(zMed) : Math.sign(zPoint);
      s.beyond = 0;
      const seasonal = view === 4 && se !== null;
      f[INC_SIGN] = seasonal ? Math.sign(zSeason) : s.alertSign;
      f[INC_LEVEL] = m;
      f[INC_SD] = sd;
      f[INC_SEASONAL] = seasonal ? 1 : 0;
      f[INC_SHIFT] = 0;
    } else {
      // before it may alert, a view enters the history only up to the bar it would have had to
      // pass: one outlier while warming up must not set the bar for `history` points
      if (!warm) capToBars(f, sd, p);
      recordViews(s, p); // alerted values stay out of the history, or they would mask the next incident
    }

    if (s.sinceAlert >= 0 && !fired) {
      f[RECENT + s.sinceAlert] = x;
      f[RECENT_RES + s.sinceAlert] = se === null ? Number.NaN : x - se.expected;
      if (zPoint * s.alertSign > SHIFT_SIGMAS) s.beyond++;
      s.sinceAlert++;
      if (s.sinceAlert === SHIFT_CHECK) {
        // a level shift: restart the baseline from the new level rather than alert for days
        if (s.beyond >= SHIFT_AGREE) {
          lwClear(w);
          for (let i = 0; i < SHIFT_CHECK; i++) lwPush(w, f[RECENT + i]!);
          // the seasonal profile keeps its shape at the new level: shift it by the median residual
          const r = Array.from(f.subarray(RECENT_RES, RECENT_RES + SHIFT_CHECK))
            .filter((q) => !Number.isNaN(q))
            .sort((a, b) => a - b);
          if (r.length > 0) {
            seasonalShift(s.profile, r[r.length >> 1]!);
            // the open incident is still judged against the expectation from before it
            if (f[INC_SIGN] !== 0) f[INC_SHIFT] = f[INC_SHIFT]! + r[r.length >> 1]!;
          }
        }
        s.sinceAlert = -1;
      }
    }
  } else if (!gapAlert && f[INC_SIGN] !== 0) {
    // re-baselined moments ago, the window is refilling and judges nothing yet: the incident may go on
    OUT.score = 0;
    OUT.fired = false;
    OUT.ongoing = false;
    OUT.reason = "";
    if (goesOn(f, x, t, se)) kind = FULL;
  }
  lwPush(w, x);
  if (n > 0 && n % STEP_EVERY === 0) lwPush(s.steps, step);
  return kind;
}
