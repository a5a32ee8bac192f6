/**
 * What the ensemble says about a point: the verdict the last step left in `OUT`, its reason, and
 * whether an incident an earlier alert opened goes on.
 */
import { fmtDeviation, fmtNum } from "../src/model/format.js";
import { ENSEMBLE_LAYOUT, type EnsembleState, MEDIUM, SHIFT_SIGMAS, SHORT } from "./ensemble-layout.js";
import { collapseOffset, mediumZ, pointCollapses, shortZ } from "./ensemble-views.js";
import { type SeasonalExpectation, slotLabel } from "./seasonal-profile.js";
import { mutableFields, sigmaReason, ZERO } from "./stats.js";
import { NO_VERDICT, type Verdict } from "./types.js";

const { PREV, SHORT_SUM, MED_SUM, Z_SEASON, SD, VIEWS, INC_SIGN, INC_LEVEL, INC_SD, INC_SEASONAL, INC_SHIFT, RUN_N, RUN_E, RUN_X, MEDIAN } =
  ENSEMBLE_LAYOUT.at;

/** What a step decided: nothing to say, the gap verdict, or a full verdict (fields of `OUT`). */
export const NONE = 0;
export const GAP = 1;
export const FULL = 2;
/** A run of empty buckets that alerted goes on (the gap verdict, as ongoing). */
export const GAP_ON = 3;
/** The last step's verdict, read right after the call (module scratch: no object per point). */
export const OUT = mutableFields({
  gap: NO_VERDICT,
  expected: ZERO,
  half: ZERO,
  score: ZERO,
  fired: false,
  ongoing: false,
  /** The alert is the seasonal residual view's: the value against what this time of day or week usually is. */
  seasonal: false,
  sigmas: ZERO,
  reason: "",
  t: ZERO,
  period: ZERO,
});

/** The verdict of the last step, which said `kind`. */
export function verdictOf(kind: number): Verdict {
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
    ...(OUT.fired && OUT.seasonal ? { seasonal: true } : {}),
    sigmas: OUT.sigmas,
    reason: OUT.ongoing ? ongoingReason() : OUT.reason,
  };
}

/**
 * A point after an alert, not itself alerted: is it still beyond the frame from before the incident
 * (on the incident's side, by SHIFT_SIGMAS)? Then `OUT` says so, judged in that frame; else the
 * incident is over.
 */
export function goesOn(f: Float64Array, x: number, t: number, se: SeasonalExpectation | null): boolean {
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

/** " (up 43%)": the change against the median in percent, by the rule of `fmtDeviation` (left out against a median next to zero, where it would read "up 25549851039%"). */
export function pct(mean: number, m: number): string {
  const change = fmtDeviation((mean - m) / Math.abs(m));
  return change === null ? "" : ` (${mean >= m ? "up" : "down"} ${change.slice(1)})`;
}

/** Did the collapse view alert for the run of low values, the last point alone not being one? */
function runDecided(f: Float64Array, se: SeasonalExpectation | null): boolean {
  return f[RUN_N]! >= 2 && !pointCollapses(f, f[PREV]!, se === null ? f[MEDIAN]! : se.expected, collapseOffset(f), se);
}

/** Why `view` alerted, in words. */
export function reasonFor(view: number, s: EnsembleState, zPoint: number, m: number, se: SeasonalExpectation | null): string {
  switch (view) {
    case 0:
      return `${sigmaReason(zPoint, "the rolling median")}, beyond anything in the last ${s.histN} points`;
    case 1:
      return `level shift: last ${SHORT} points ${sigmaReason(shortZ(s, m, s.f[SD]!), "the rolling median")}${pct(s.f[SHORT_SUM]! / Math.min(SHORT, s.n), m)}`;
    case 2:
      return `last ${MEDIUM} points ${sigmaReason(mediumZ(s, m, s.f[SD]!), "the rolling median")}${pct(s.f[MED_SUM]! / Math.min(MEDIUM, s.n), m)}`;
    case 3:
      return `volatility ${s.f[VIEWS + 3]!.toFixed(1)}× its usual step size`;
    case 4:
      return se === null ? "" : sigmaReason(s.f[Z_SEASON]!, `the expected value for ${slotLabel(se.local, se.periodMs)}`);
    case 6:
      // a run judged by its sums says so: no single point of it is far from the band
      if (runDecided(s.f, se))
        return `${s.f[RUN_N]} points in a row: ${fmtNum(s.f[RUN_X]!)} in all against ${fmtNum(s.f[RUN_E]!)} expected${pct(s.f[RUN_X]!, s.f[RUN_E]!)}`;
      // the seasonal view's words (or the point's against the median), and how far down in percent
      return se === null
        ? `${sigmaReason(zPoint, "the rolling median")}${pct(s.f[PREV]!, m)}, a collapse beyond any in the last ${s.histN} points`
        : `${reasonFor(4, s, zPoint, m, se)}${pct(s.f[PREV]!, se.expected)}`;
    default:
      return `a value not seen in the last ${s.base.n} points (${s.f[VIEWS + 5]!.toFixed(0)}σ from the nearest)`;
  }
}
