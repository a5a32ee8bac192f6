/**
 * Experiment statistics as pure functions over sufficient statistics: no SQL, no clock, no logs.
 * Everything here works from per-arm sums (n, sum, sum of squares, cross sums), which is all the
 * database ever sends back, so a million-unit experiment costs the same as a thousand-unit one.
 *
 * Checked against the published reference values in ../shared/reference/STATS.md (GrowthBook,
 * spotify/confidence, recomputed with scipy): see test/experiments-stats.test.ts.
 */
import chisquareCdf from "@stdlib/stats-base-dists-chisquare-cdf";
import normalCdf from "@stdlib/stats-base-dists-normal-cdf";
import normalQuantile from "@stdlib/stats-base-dists-normal-quantile";
import tCdf from "@stdlib/stats-base-dists-t-cdf";
import tQuantile from "@stdlib/stats-base-dists-t-quantile";

// ---------------------------------------------------------------------------------------------
// Sample ratio mismatch

export interface SrmResult {
  chi2: number;
  df: number;
  p: number;
  /**
   * Largest |observed share - expected share| over the arms, as a fraction (0.001 = 0.1 percentage
   * point). At millions of units a 0.05 pp wobble is "significant" and meaningless; this is the
   * practical-significance floor Statsig and Mozilla added after such false alarms.
   */
  maxDeviation: number;
  /** Index (into the inputs) of the arm with that largest deviation; -1 when nothing was tested. */
  worstArm: number;
  total: number;
}

/**
 * Pearson chi-square goodness of fit of the observed unit counts against the expected split,
 * df = arms - 1. Arms with weight 0 are left out (and their units with them): they are not part of
 * the randomisation. An arm with 0 units is kept, so a variant that receives nobody trips it.
 */
export function srmTest(observed: readonly number[], weights: readonly number[]): SrmResult {
  if (observed.length !== weights.length) throw new Error("srmTest: observed and weights differ in length");
  const idx = weights.map((w, i) => (w > 0 ? i : -1)).filter((i) => i >= 0);
  const total = idx.reduce((s, i) => s + observed[i]!, 0);
  const wsum = idx.reduce((s, i) => s + weights[i]!, 0);
  if (idx.length < 2 || total <= 0) return { chi2: 0, df: Math.max(0, idx.length - 1), p: 1, maxDeviation: 0, worstArm: -1, total };
  let chi2 = 0;
  let maxDeviation = 0;
  let worstArm = idx[0]!;
  for (const i of idx) {
    const share = weights[i]! / wsum;
    const expected = total * share;
    chi2 += (observed[i]! - expected) ** 2 / expected;
    const dev = Math.abs(observed[i]! / total - share);
    if (dev > maxDeviation) {
      maxDeviation = dev;
      worstArm = i;
    }
  }
  const df = idx.length - 1;
  return { chi2, df, p: 1 - chisquareCdf(chi2, df), maxDeviation, worstArm, total };
}

// ---------------------------------------------------------------------------------------------
// Per-arm summaries

/** Sums over units of one arm for a per-unit value x: n, Σx, Σx². */
export interface MomentSums {
  n: number;
  sum: number;
  sumSq: number;
}

/** Sums over units of one arm for a ratio metric Σm / Σd (e.g. skips per play). */
export interface RatioSums {
  n: number;
  sumM: number;
  sumSqM: number;
  sumD: number;
  sumSqD: number;
  /** Σ m·d over units: the covariance term of the delta method. */
  sumMD: number;
}

/** What the comparisons need from an arm: units, point estimate, per-unit variance of the estimator. */
export interface ArmSummary {
  n: number;
  mean: number;
  /** Variance per unit, so that Var(mean) = variance / n. */
  variance: number;
}

/** Sample mean and unbiased (n - 1) variance. */
export function meanArm(s: MomentSums): ArmSummary {
  const mean = s.n > 0 ? s.sum / s.n : Number.NaN;
  const variance = s.n > 1 ? Math.max(0, (s.sumSq - (s.sum * s.sum) / s.n) / (s.n - 1)) : Number.NaN;
  return { n: s.n, mean, variance };
}

/** A conversion rate: variance p(1 - p), as GrowthBook and the references do (no n - 1). */
export function proportionArm(successes: number, n: number): ArmSummary {
  const p = n > 0 ? successes / n : Number.NaN;
  return { n, mean: p, variance: p * (1 - p) };
}

/**
 * Σm/Σd with the delta-method per-unit variance
 * Var(M/D) ≈ var_m/μd² + var_d·μm²/μd⁴ − 2·cov·μm/μd³ (units are the randomisation unit, the
 * events inside them are correlated, so the naive binomial variance of "skips / plays" would be
 * far too small).
 */
export function ratioArm(s: RatioSums): ArmSummary {
  const n = s.n;
  const mm = s.sumM / n;
  const md = s.sumD / n;
  const varM = (s.sumSqM - (s.sumM * s.sumM) / n) / (n - 1);
  const varD = (s.sumSqD - (s.sumD * s.sumD) / n) / (n - 1);
  const cov = (s.sumMD - (s.sumM * s.sumD) / n) / (n - 1);
  const variance = varM / md ** 2 + (varD * mm ** 2) / md ** 4 - (2 * cov * mm) / md ** 3;
  return { n, mean: s.sumD !== 0 ? s.sumM / s.sumD : Number.NaN, variance: Math.max(0, variance) };
}

// ---------------------------------------------------------------------------------------------
// Fixed-horizon comparisons (reported for goals and used as the naive baseline in the bench)

export interface Interval {
  lower: number;
  upper: number;
}

export interface Comparison {
  estimate: number;
  se: number;
  /** Welch–Satterthwaite degrees of freedom (Infinity for z-tests). */
  dof: number;
  ci: Interval;
  /** Two-sided p-value. */
  p: number;
}

function welchDof(a: ArmSummary, b: ArmSummary): number {
  const va = a.variance / a.n;
  const vb = b.variance / b.n;
  return (va + vb) ** 2 / (va ** 2 / (a.n - 1) + vb ** 2 / (b.n - 1));
}

function tTwoSided(z: number, dof: number): number {
  const p = Number.isFinite(dof) ? 2 * (1 - tCdf(Math.abs(z), dof)) : 2 * (1 - normalCdf(Math.abs(z), 0, 1));
  return Math.min(1, p);
}

function tCrit(q: number, dof: number): number {
  return Number.isFinite(dof) ? tQuantile(q, dof) : normalQuantile(q, 0, 1);
}

function comparison(estimate: number, se: number, dof: number, alpha: number): Comparison {
  const half = tCrit(1 - alpha / 2, dof) * se;
  return { estimate, se, dof, ci: { lower: estimate - half, upper: estimate + half }, p: tTwoSided(estimate / se, dof) };
}

/** Standard error of B − A (unequal variances). */
export function absoluteSe(a: ArmSummary, b: ArmSummary): number {
  return Math.sqrt(a.variance / a.n + b.variance / b.n);
}

/** Welch t-test of B − A. */
export function absoluteDifference(a: ArmSummary, b: ArmSummary, alpha = 0.05): Comparison {
  return comparison(b.mean - a.mean, absoluteSe(a, b), welchDof(a, b), alpha);
}

/**
 * The relative change (b − a)/|a|, so that its sign says whether b is above a also for a negative
 * control (b/a − 1 reads −10 → −11 as +10%); ±Infinity or NaN for a = 0.
 */
export function relativeChange(a: number, b: number): number {
  return (b - a) / Math.abs(a);
}

/**
 * Relative change (B − A)/|A| with the delta-method variance
 * (σB²/nB)/μA² + (σA²/nA)·μB²/μA⁴, tested with Welch's degrees of freedom (as GrowthBook does).
 */
export function relativeDifference(a: ArmSummary, b: ArmSummary, alpha = 0.05): Comparison {
  return comparison(relativeChange(a.mean, b.mean), relativeSe(a, b), welchDof(a, b), alpha);
}

/**
 * Delta-method standard error of (B − A)/|A|. Its gradient, (1/|μA|, −μB/(μA·|μA|)), squares to the
 * same terms as that of B/A − 1, so the variance does not depend on the sign of the control mean.
 */
export function relativeSe(a: ArmSummary, b: ArmSummary): number {
  const va = a.variance / a.n;
  const vb = b.variance / b.n;
  return Math.sqrt(vb / a.mean ** 2 + (va * b.mean ** 2) / a.mean ** 4);
}

/** One-sided fixed-horizon test of the relative change: H1 "B greater than A" (or "less"). */
export function relativeOneSided(
  a: ArmSummary,
  b: ArmSummary,
  side: "greater" | "less",
  alpha = 0.05,
): { estimate: number; se: number; p: number; bound: number } {
  const r = relativeDifference(a, b, alpha);
  const dof = r.dof;
  const t = r.estimate / r.se;
  const cdf = Number.isFinite(dof) ? tCdf(t, dof) : normalCdf(t, 0, 1);
  const crit = tCrit(1 - alpha, dof) * r.se;
  return side === "greater"
    ? { estimate: r.estimate, se: r.se, p: 1 - cdf, bound: r.estimate - crit }
    : { estimate: r.estimate, se: r.se, p: cdf, bound: r.estimate + crit };
}

export interface ProportionsTest {
  difference: number;
  /** Unpooled Wald interval on the difference. */
  ci: Interval;
  /** Pooled two-proportion z-test. */
  p: number;
  relative: number;
  /**
   * The difference's interval divided by the control rate (spotify/confidence's display of the
   * relative change); it treats the control rate as known, so it is narrower than the delta method.
   */
  relativeCi: Interval;
}

/** Two-proportion z-test of B − A (the textbook test, as spotify/confidence reports it). */
export function proportionsZTest(a: { x: number; n: number }, b: { x: number; n: number }, alpha = 0.05): ProportionsTest {
  const pa = a.x / a.n;
  const pb = b.x / b.n;
  const difference = pb - pa;
  const z = normalQuantile(1 - alpha / 2, 0, 1);
  const se = Math.sqrt((pa * (1 - pa)) / a.n + (pb * (1 - pb)) / b.n);
  const pooled = (a.x + b.x) / (a.n + b.n);
  const sePooled = Math.sqrt(pooled * (1 - pooled) * (1 / a.n + 1 / b.n));
  const ci = { lower: difference - z * se, upper: difference + z * se };
  return {
    difference,
    ci,
    p: sePooled > 0 ? 2 * (1 - normalCdf(Math.abs(difference / sePooled), 0, 1)) : 1,
    relative: relativeChange(pa, pb),
    relativeCi: { lower: ci.lower / Math.abs(pa), upper: ci.upper / Math.abs(pa) },
  };
}

// ---------------------------------------------------------------------------------------------
// Always-valid inference: asymptotic confidence sequences
//
// Why this and not mSPRT: both are the same normal-mixture martingale (the reference notes mSPRT
// with tau² = rho²·V gives the same e-value), but the confidence-sequence form
// (Waudby-Smith et al. 2023, arXiv 2103.06476) (1) needs only the estimate and its standard error,
// so it works unchanged for means, proportions, ratio metrics and the delta-method relative lift;
// (2) yields an interval, which the decision rule needs (harmed / not yet safe / safe against a
// non-inferiority margin), where mSPRT yields only a p-value against one null; (3) is what
// GrowthBook ships, so operators can compare numbers. It is asymptotic (CLT), which is why
// nothing is judged before `min_units` per arm.

/** GrowthBook's default tuning parameter: the sequence is narrowest around N = nStar units in total. */
export const GROWTHBOOK_NSTAR = 5000;

/** rho² so that the boundary is tightest at N = nStar (Waudby-Smith et al., eq. for the optimal rho). */
export function csRhoSquared(alpha: number, nStar: number): number {
  const l = -2 * Math.log(alpha);
  return (l + Math.log(l + 1)) / nStar;
}

/**
 * Half-width of the two-sided (1 − alpha) asymptotic confidence sequence after N = nA + nB units,
 * for an estimator with standard error `se` (so se·√N is the per-unit standard deviation).
 */
export function csHalfWidth(se: number, n: number, alpha: number, nStar: number): number {
  const r2 = csRhoSquared(alpha, nStar);
  const nr2 = n * r2;
  return se * Math.sqrt(n) * Math.sqrt(((2 * (nr2 + 1)) / (n * n * r2)) * Math.log(Math.sqrt(nr2 + 1) / alpha));
}

export function sequentialInterval(
  estimate: number,
  se: number,
  n: number,
  alpha: number,
  nStar: number,
): Interval & { halfWidth: number } {
  const halfWidth = csHalfWidth(se, n, alpha, nStar);
  return { lower: estimate - halfWidth, upper: estimate + halfWidth, halfWidth };
}

/**
 * Always-valid two-sided p-value: 1 / (the normal-mixture e-value) with rho tuned for `alpha`, so
 * that p < alpha exactly when the (1 − alpha) sequence excludes 0.
 */
export function sequentialP(estimate: number, se: number, n: number, alpha: number, nStar: number): number {
  if (!(se > 0)) return estimate === 0 ? 1 : 0;
  const nr2 = n * csRhoSquared(alpha, nStar);
  const z2 = (estimate / se) ** 2;
  return Math.min(1, Math.sqrt(nr2 + 1) * Math.exp(-(z2 * nr2) / (2 * (nr2 + 1))));
}

/**
 * The two-sided level whose one side errs with probability at most `alpha`. The mixture e-value is
 * the sum of its λ>0 and λ<0 halves, each starting at 1/2; when the estimate is high the λ<0 half
 * is below 1/2, so crossing the two-sided boundary at level a means the λ>0 half reached
 * 1/a − 1/2, which by Ville's inequality happens with probability ≤ a/(2 − a). Solving
 * a/(2 − a) = alpha gives a = 2·alpha/(1 + alpha): slightly wider than "two-sided at 2·alpha"
 * (which would only guarantee alpha/(1 − alpha)), and exactly valid under continuous monitoring.
 */
export function oneSidedCsLevel(alpha: number): number {
  return (2 * alpha) / (1 + alpha);
}

/** The matching one-sided always-valid p-value: below alpha exactly when the one-sided bound excludes 0. */
export function oneSidedFromTwoSided(pTwo: number): number {
  return pTwo / (2 - pTwo);
}

// ---------------------------------------------------------------------------------------------
// Guardrail decision (risk-aware rule of Schultzberg, Ankargren & Frånberg: one-sided, no alpha
// correction across guardrails, a non-inferiority margin per metric)

export type GuardrailStatus = "harmed" | "not_yet_safe" | "safe";

/**
 * `interval` is the one-sided-level interval on the change (relative, or absolute when the control
 * mean is 0); `margin` (≥ 0, on the same scale) is how much change in the bad direction is tolerable.
 * - harmed: the interval lies entirely on the bad side of 0;
 * - safe: the interval excludes the margin (the change is better than −margin, in the bad sense);
 * - not yet safe: otherwise (it still reaches beyond the margin).
 */
export function guardrailStatus(interval: Interval, badDirection: "increase" | "decrease", margin: number): GuardrailStatus {
  if (badDirection === "increase") {
    if (interval.lower > 0) return "harmed";
    return interval.upper < margin ? "safe" : "not_yet_safe";
  }
  if (interval.upper < 0) return "harmed";
  return interval.lower > -margin ? "safe" : "not_yet_safe";
}

// ---------------------------------------------------------------------------------------------
// Multiple testing (for `goals`, which may be many and are read as a family)

/** Holm–Bonferroni adjusted p-values, in the input order. */
export function holm(ps: readonly number[]): number[] {
  const m = ps.length;
  const order = ps.map((p, i) => ({ p, i })).sort((x, y) => x.p - y.p);
  const out = new Array<number>(m);
  let running = 0;
  order.forEach(({ p, i }, k) => {
    running = Math.max(running, Math.min(1, (m - k) * p));
    out[i] = running;
  });
  return out;
}

/** Benjamini–Hochberg adjusted p-values (false discovery rate), in the input order. */
export function benjaminiHochberg(ps: readonly number[]): number[] {
  const m = ps.length;
  const order = ps.map((p, i) => ({ p, i })).sort((x, y) => x.p - y.p);
  const out = new Array<number>(m);
  let running = 1;
  for (let k = m - 1; k >= 0; k--) {
    const { p, i } = order[k]!;
    running = Math.min(running, (m / (k + 1)) * p);
    out[i] = Math.min(1, running);
  }
  return out;
}
