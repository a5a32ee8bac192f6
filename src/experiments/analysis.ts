/**
 * One guardrail (or goal) of one treatment arm against control, from the per-arm sums the SQL
 * returns: the relative change (the absolute difference when the control mean is 0) with its
 * always-valid interval and the decision. Pure, so the
 * evaluator, `vigil experiments`, the digest and the bench all judge exactly alike.
 */
import type { GuardrailConfig } from "../config/types.js";
import {
  type ArmSummary,
  absoluteDifference,
  absoluteSe,
  GROWTHBOOK_NSTAR,
  type GuardrailStatus,
  guardrailStatus,
  type Interval,
  type MomentSums,
  meanArm,
  oneSidedCsLevel,
  oneSidedFromTwoSided,
  type RatioSums,
  ratioArm,
  relativeChange,
  relativeDifference,
  relativeSe,
  sequentialInterval,
  sequentialP,
} from "./stats.js";

/** Per-arm sums as the SQL returns them: moments for sum/count/mean/any, the ratio sums for ratio. */
export type ArmSums = ({ kind: "moments" } & MomentSums) | ({ kind: "ratio" } & RatioSums);

/**
 * The confidence sequence's tuning parameter: the total number of units (both arms) at which the
 * interval is tightest. GrowthBook's default (5,000) is kept: the width is flat around the optimum
 * (at 8× Nstar the multiplier grows only from 2.78 to 2.97 at one-sided alpha 0.05). The bench
 * (bench/experiments.ts, 30 looks, 20,000 units per arm) catches a 5% harm in 98% of runs for a
 * metric with coefficient of variation 1 with it, and tuning Nstar to the final sample (40,000)
 * gains under one point there (and five points, 68% -> 73%, for a noisier CV 1.5 metric) while
 * delaying the median detection by a look or two: not worth a config key.
 */
export const DEFAULT_NSTAR = GROWTHBOOK_NSTAR;

export interface ArmReport {
  variant: string;
  units: number;
  /** The metric's value in this arm (mean per unit, or Σnumerator/Σdenominator for ratio). */
  mean: number | null;
}

/** What a comparison reports when the control mean is 0 and no relative change exists. */
export const ZERO_CONTROL_NOTE =
  "the relative change is undefined because the control mean is 0; judged on the absolute difference (treatment − control)";

/** Treatment − control in the metric's own unit, with its always-valid interval. */
export interface Difference {
  estimate: number;
  interval: Interval;
}

export interface GuardrailAnalysis {
  status: GuardrailStatus;
  /** Relative change (treatment − control)/|control|; null when it cannot be computed (control mean 0). */
  estimate: number | null;
  /** Standard error of the relative change. */
  se: number | null;
  /** Always-valid interval at the one-sided level alpha (two-sided level 2α/(1+α)). */
  interval: Interval | null;
  /** Set instead of the relative change when the control mean is 0: the status is judged on it. */
  difference: Difference | null;
  /** A sentence for people when the numbers need one (control mean 0), else null. */
  note: string | null;
  /** Always-valid one-sided p-value for "harm" (< alpha exactly when the status is harmed). */
  p: number | null;
  /** Fixed-horizon two-sided p-value of the same change, for reference only (not valid when peeking). */
  pFixed: number | null;
  control: ArmReport;
  treatment: ArmReport;
}

export interface AnalysisOptions {
  alpha: number;
  badDirection: GuardrailConfig["bad_direction"];
  margin: number;
  nStar?: number;
}

export function summarize(s: ArmSums): ArmSummary {
  return s.kind === "ratio" ? ratioArm(s) : meanArm(s);
}

/** The change of treatment against control that can be judged, with its standard error. */
export interface Change {
  /** relative: (b − a)/|a|; absolute: b − a, used when the control mean is 0. */
  scale: "relative" | "absolute";
  estimate: number;
  se: number;
}

/** Null when nothing can be judged: an arm with fewer than two units, or no finite mean or variance. */
export function changeBetween(a: ArmSummary, b: ArmSummary): Change | null {
  if (!(a.n > 1 && b.n > 1) || !Number.isFinite(a.mean) || !Number.isFinite(b.mean)) return null;
  const change: Change =
    a.mean === 0
      ? { scale: "absolute", estimate: b.mean - a.mean, se: absoluteSe(a, b) }
      : { scale: "relative", estimate: relativeChange(a.mean, b.mean), se: relativeSe(a, b) };
  return Number.isFinite(change.se) ? change : null;
}

export const armReport = (variant: string, s: ArmSummary): ArmReport => ({
  variant,
  units: s.n,
  mean: Number.isFinite(s.mean) ? s.mean : null,
});

/** Compare treatment with control. Returns status "not_yet_safe" with null numbers when undefined. */
export function analyzeArms(
  control: { variant: string; sums: ArmSums },
  treatment: { variant: string; sums: ArmSums },
  o: AnalysisOptions,
): GuardrailAnalysis {
  const a = summarize(control.sums);
  const b = summarize(treatment.sums);
  const base: GuardrailAnalysis = {
    status: "not_yet_safe",
    estimate: null,
    se: null,
    interval: null,
    difference: null,
    note: null,
    p: null,
    pFixed: null,
    control: armReport(control.variant, a),
    treatment: armReport(treatment.variant, b),
  };
  const change = changeBetween(a, b);
  if (change === null) return base;
  const { estimate, se } = change;
  const nStar = o.nStar ?? DEFAULT_NSTAR;
  const level = oneSidedCsLevel(o.alpha);
  const n = a.n + b.n;
  const cs = se > 0 ? sequentialInterval(estimate, se, n, level, nStar) : { lower: estimate, upper: estimate };
  const interval = { lower: cs.lower, upper: cs.upper };
  const pTwo = sequentialP(estimate, se, n, level, nStar);
  const harmSide = o.badDirection === "increase" ? estimate > 0 : estimate < 0;
  const relative = change.scale === "relative";
  const fixed = se > 0 ? (relative ? relativeDifference : absoluteDifference)(a, b, o.alpha).p : null;
  return {
    ...base,
    // The margin is a fraction of the control mean: of 0 it is 0.
    status: guardrailStatus(interval, o.badDirection, relative ? o.margin : 0),
    ...(relative ? { estimate, se, interval } : { difference: { estimate, interval }, note: ZERO_CONTROL_NOTE }),
    // p < alpha ⟺ pTwo < 2α/(1+α) ⟺ the bound on the harm side excludes 0.
    p: harmSide ? oneSidedFromTwoSided(pTwo) : 1,
    pFixed: fixed,
  };
}
