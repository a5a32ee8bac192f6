/** The sample ratio check of an experiment and the `srm` alert it raises or resolves. */
import { type Identity, type Observation, observe } from "../model/lifecycle.js";
import { type Evaluation, POLICY, srmFingerprint } from "./evaluation.js";
import { srmTest } from "./stats.js";

/** Below this largest share deviation an SRM is not alerted on, however small its p-value (0.1 percentage point). */
export const SRM_MIN_DEVIATION = 0.001;

export const SRM_ACTION = "check assignment and logging before reading any result";

/**
 * Judge the sample ratio once the smallest arm is expected to hold min_units, so that an arm that
 * receives nobody (which never reaches min_units itself) still trips it.
 */
export function judgeSampleRatio({ experiment: e, alerts, report, now }: Evaluation): void {
  const variants = Object.keys(e.variants);
  const weights = variants.map((v) => e.variants[v] ?? 0);
  const observed = variants.map((v) => report.units[v] ?? 0);
  const srm = srmTest(observed, weights);
  const wsum = weights.reduce((s, w) => s + w, 0);
  const minShare = Math.min(...weights.filter((w) => w > 0)) / wsum;
  const srmJudged = srm.total * minShare >= e.min_units;
  const mismatch = srmJudged && srm.p < e.srm_alpha && srm.maxDeviation >= SRM_MIN_DEVIATION;
  const worst = srm.worstArm >= 0 ? variants[srm.worstArm]! : null;
  report.srm = { judged: srmJudged, p: srm.p, chi2: srm.chi2, maxDeviation: srm.maxDeviation, worstVariant: worst, mismatch };
  if (!srmJudged || worst === null) return;
  const srmFp = srmFingerprint(e.name);
  const arms = variants.map((v, i) => ({
    variant: v,
    units: observed[i]!,
    expectedShare: wsum > 0 ? weights[i]! / wsum : 0,
    observedShare: srm.total > 0 ? observed[i]! / srm.total : 0,
  }));
  const w = srm.worstArm;
  const expectedUnits = (srm.total * weights[w]!) / wsum;
  const split = arms.map((a) => `${a.variant} ${a.units}`).join(" vs ");
  const id: Identity = {
    fingerprint: srmFp,
    kind: "srm",
    metric: e.name,
    series: "",
    detector: "srm",
    details: {
      experiment: e.name,
      arms,
      p: srm.p,
      chi2: srm.chi2,
      maxDeviation: srm.maxDeviation,
      worstVariant: worst,
      srmAlpha: e.srm_alpha,
      action: SRM_ACTION,
    },
  };
  const o: Observation = {
    bucket: now,
    anomalous: mismatch,
    value: observed[w]!,
    expected: expectedUnits,
    lower: null,
    upper: null,
    sigmas: null,
    reason: `sample ratio mismatch: ${split} units, p = ${srm.p.toExponential(2)} (expected ${arms.map((a) => `${+(a.expectedShare * 100).toFixed(2)}%`).join("/")})`,
  };
  alerts.record(srmFp, observe(alerts.get(srmFp), id, o, POLICY, now));
}
