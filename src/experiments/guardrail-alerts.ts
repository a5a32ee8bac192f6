/** The guardrails of an experiment: one report row and one `guardrail` alert per guardrail × treatment. */
import type { ExperimentConfig, GuardrailConfig } from "../config/types.js";
import { errorText } from "../log.js";
import { fmtChange, fmtDifference } from "../model/format.js";
import { type Identity, type Observation, observe } from "../model/lifecycle.js";
import { type AnalysisOptions, type ArmSums, analyzeArms, DEFAULT_NSTAR, type GuardrailAnalysis } from "./analysis.js";
import { type Evaluation, guardrailFingerprint, guardrailSeries, POLICY } from "./evaluation.js";
import type { GuardrailReport } from "./experiment-report.js";
import { fetchGuardrailSums } from "./sql.js";

export const GUARDRAIL_ACTION = "consider pausing or rolling back the variant; look at the guardrail's breakdown before restarting it";

/**
 * Judge every guardrail against every treatment (only report them as collecting until `judged`),
 * adding their alerts' fingerprints to `configured`; returns the first query failure, or null.
 */
export async function judgeGuardrails(
  evaluation: Evaluation,
  treatments: readonly string[],
  judged: boolean,
  configured: Set<string>,
): Promise<string | null> {
  const { experiment: e, deps, window, alerts, report, now } = evaluation;
  let failed: string | null = null;
  for (const g of e.guardrails) {
    for (const v of treatments) configured.add(guardrailFingerprint(e.name, g.name, v));
    if (!judged) {
      for (const v of treatments) report.guardrails.push(guardrailRow(g, v, {}));
      continue;
    }
    let sums: Map<string, ArmSums>;
    try {
      sums = await fetchGuardrailSums(deps.db, e, g, window);
    } catch (err) {
      const error = errorText(err);
      deps.log.error({ experiment: e.name, guardrail: g.name, err: error }, "guardrail query failed");
      failed ??= `guardrail ${g.name}: ${error}`;
      for (const v of treatments) report.guardrails.push(guardrailRow(g, v, { status: "error", error }));
      continue;
    }
    const control = sums.get(e.control);
    for (const v of treatments) {
      const treated = sums.get(v);
      if (!control || !treated) {
        report.guardrails.push(guardrailRow(g, v, { status: "not_yet_safe" }));
        continue;
      }
      const r = analyzeArms({ variant: e.control, sums: control }, { variant: v, sums: treated }, analysisOptions(evaluation, g));
      const { status, estimate, interval, difference, note, p } = r;
      report.guardrails.push(
        guardrailRow(g, v, { status, estimate, interval, difference, note, p, control: r.control, treatment: r.treatment }),
      );
      if (p === null) continue; // nothing could be computed, so there is nothing to alert on or resolve by
      const fp = guardrailFingerprint(e.name, g.name, v);
      alerts.record(fp, observe(alerts.get(fp), guardrailIdentity(e, g, v, r), guardrailObservation(g, v, r, now), POLICY, now));
    }
  }
  return failed;
}

function analysisOptions({ experiment, deps }: Evaluation, g: GuardrailConfig): AnalysisOptions {
  return {
    alpha: experiment.alpha,
    badDirection: g.bad_direction,
    margin: g.margin,
    nStar: deps.nStar ?? DEFAULT_NSTAR,
  };
}

function guardrailRow(g: GuardrailConfig, variant: string, extra: Partial<GuardrailReport>): GuardrailReport {
  return {
    guardrail: g.name,
    variant,
    aggregate: g.aggregate,
    badDirection: g.bad_direction,
    margin: g.margin,
    status: "collecting",
    estimate: null,
    interval: null,
    difference: null,
    note: null,
    p: null,
    control: null,
    treatment: null,
    ...extra,
  };
}

function guardrailIdentity(e: ExperimentConfig, g: GuardrailConfig, variant: string, r: GuardrailAnalysis): Identity {
  return {
    fingerprint: guardrailFingerprint(e.name, g.name, variant),
    kind: "guardrail",
    metric: e.name,
    series: guardrailSeries(g.name, variant),
    detector: "guardrail",
    details: {
      description: `guardrail ${g.name} of experiment ${e.name}`,
      labels: { guardrail: g.name, variant },
      experiment: e.name,
      guardrail: g.name,
      variant,
      aggregate: g.aggregate,
      arms: [r.control, r.treatment],
      estimate: r.estimate,
      lower: r.interval?.lower ?? null,
      upper: r.interval?.upper ?? null,
      difference: r.difference?.estimate ?? null,
      differenceLower: r.difference?.interval.lower ?? null,
      differenceUpper: r.difference?.interval.upper ?? null,
      note: r.note,
      p: r.p,
      pFixed: r.pFixed,
      status: r.status,
      margin: g.margin,
      badDirection: g.bad_direction,
      alpha: e.alpha,
      action: GUARDRAIL_ACTION,
    },
  };
}

function guardrailObservation(g: GuardrailConfig, variant: string, r: GuardrailAnalysis, now: number): Observation {
  const change = r.difference
    ? `${fmtDifference(r.difference.estimate)} [${fmtDifference(r.difference.interval.lower)}, ${fmtDifference(r.difference.interval.upper)}] vs control; ${r.note}`
    : `${fmtChange(r.estimate)}${r.interval ? ` [${fmtChange(r.interval.lower)}, ${fmtChange(r.interval.upper)}]` : ""} vs control`;
  return {
    bucket: now,
    anomalous: r.status === "harmed",
    value: r.treatment.mean,
    expected: r.control.mean,
    lower: null,
    upper: null,
    sigmas: null,
    reason: `${g.name} ${r.status.replace(/_/g, " ")} in ${variant}: ${change}`,
  };
}
