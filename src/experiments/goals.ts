/** The goals of an experiment: reported with two-sided always-valid intervals, never alerted on. */
import type { ExperimentConfig } from "../config/types.js";
import { errorText } from "../log.js";
import { type ArmSums, armReport, changeBetween, DEFAULT_NSTAR, summarize, ZERO_CONTROL_NOTE } from "./analysis.js";
import type { EvaluateExperimentsDeps } from "./evaluation.js";
import type { GoalReport } from "./experiment-report.js";
import { type ExperimentWindow, fetchGuardrailSums } from "./sql.js";
import { benjaminiHochberg, holm, sequentialInterval, sequentialP } from "./stats.js";

/** Goals: two-sided always-valid intervals, p-values adjusted (Holm and BH) across goals × variants. */
export async function goals(
  e: ExperimentConfig,
  treatments: readonly string[],
  window: ExperimentWindow,
  deps: EvaluateExperimentsDeps,
): Promise<GoalReport[]> {
  const out: GoalReport[] = [];
  const nStar = deps.nStar ?? DEFAULT_NSTAR;
  for (const g of e.goals) {
    let sums: Map<string, ArmSums> | null = null;
    try {
      sums = await fetchGuardrailSums(deps.db, e, g, window);
    } catch (err) {
      deps.log.error({ experiment: e.name, goal: g.name, err: errorText(err) }, "goal query failed");
    }
    const controlSums = sums?.get(e.control);
    for (const v of treatments) {
      const treatedSums = sums?.get(v);
      const row: GoalReport = {
        goal: g.name,
        variant: v,
        estimate: null,
        interval: null,
        difference: null,
        note: null,
        p: null,
        pHolm: null,
        pBH: null,
        control: null,
        treatment: null,
      };
      if (controlSums && treatedSums) {
        const a = summarize(controlSums);
        const b = summarize(treatedSums);
        row.control = armReport(e.control, a);
        row.treatment = armReport(v, b);
        const change = changeBetween(a, b);
        if (change !== null && change.se > 0) {
          const n = a.n + b.n;
          const cs = sequentialInterval(change.estimate, change.se, n, e.alpha, nStar);
          const interval = { lower: cs.lower, upper: cs.upper };
          if (change.scale === "relative") {
            row.estimate = change.estimate;
            row.interval = interval;
          } else {
            row.difference = { estimate: change.estimate, interval };
            row.note = ZERO_CONTROL_NOTE;
          }
          row.p = sequentialP(change.estimate, change.se, n, e.alpha, nStar);
        }
      }
      out.push(row);
    }
  }
  const idx = out.map((r, i) => (r.p === null ? -1 : i)).filter((i) => i >= 0);
  const ps = idx.map((i) => out[i]!.p!);
  const adjustedHolm = holm(ps);
  const adjustedBH = benjaminiHochberg(ps);
  idx.forEach((i, k) => {
    out[i]!.pHolm = adjustedHolm[k]!;
    out[i]!.pBH = adjustedBH[k]!;
  });
  return out;
}
