/**
 * The experiments table shared by `vigil experiments` and the daily digest: one row per guardrail
 * and treatment variant (one row for an experiment without guardrails), with the SRM p-value.
 */
import { fmtChange, fmtDifference, fmtMean, fmtNum, fmtP } from "../model/format.js";
import type { ExperimentReport, GuardrailReport } from "./experiment-report.js";

/** Marks a change given as treatment − control (control mean 0); explained under the table. */
const ABSOLUTE = " (abs)";

export const EXPERIMENT_TABLE_HEAD = ["EXPERIMENT", "STATE", "UNITS", "SRM_P", "GUARDRAIL", "VARIANT", "STATUS", "CHANGE", "INTERVAL", "P"];

/** Rows of plain strings (for text tables, chat code blocks, digest panels). */
export function experimentRows(reports: readonly ExperimentReport[]): string[][] {
  const rows: string[][] = [];
  for (const r of reports) {
    const units = Object.entries(r.units)
      .map(([v, n]) => `${v} ${fmtNum(n)}`)
      .join(" / ");
    const srm = r.srm === null ? "—" : `${fmtP(r.srm.p)}${r.srm.mismatch ? " MISMATCH" : r.srm.judged ? "" : " (too few)"}`;
    const state = r.state === "error" ? `error: ${r.error ?? ""}` : r.state;
    const head = [r.experiment, state, units || "—", srm];
    if (r.guardrails.length === 0) {
      rows.push([...head, "—", "—", "—", "—", "—", "—"]);
      continue;
    }
    for (const g of r.guardrails) rows.push([...head, g.guardrail, g.variant, g.status.replace(/_/g, " "), ...changeCells(g), fmtP(g.p)]);
  }
  return rows;
}

/** CHANGE and INTERVAL: the relative change, or the difference marked (abs) when the control mean is 0. */
function changeCells(g: GuardrailReport): [string, string] {
  if (g.difference) {
    const { estimate, interval } = g.difference;
    return [`${fmtDifference(estimate)}${ABSOLUTE}`, `${fmtDifference(interval.lower)} .. ${fmtDifference(interval.upper)}${ABSOLUTE}`];
  }
  return [fmtChange(g.estimate), g.interval ? `${fmtChange(g.interval.lower)} .. ${fmtChange(g.interval.upper)}` : "—"];
}

/** Aligned plain-text table, with a line under it for each guardrail whose numbers need a note. */
export function experimentsTable(reports: readonly ExperimentReport[]): string {
  if (reports.length === 0) return "no experiments configured";
  const rows = [EXPERIMENT_TABLE_HEAD, ...experimentRows(reports)];
  const widths = EXPERIMENT_TABLE_HEAD.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const table = rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd(),
  );
  const notes = reports.flatMap((r) =>
    r.guardrails.filter((g) => g.note).map((g) => `${ABSOLUTE.trim()} ${r.experiment} ${g.guardrail}/${g.variant}: ${g.note}`),
  );
  return [...table, ...(notes.length > 0 ? ["", ...notes] : [])].join("\n");
}

/** Per-arm means of a guardrail, for messages: "control 0.299 · treatment 0.3304". */
export function armMeans(g: GuardrailReport): string {
  return [g.control, g.treatment]
    .filter((a) => a !== null)
    .map((a) => `${a.variant} ${fmtMean(a.mean)}`)
    .join(" · ");
}

/** JSON for `vigil experiments --json`: times as ISO strings. */
export function experimentsJson(reports: readonly ExperimentReport[]): unknown[] {
  return reports.map((r) => ({
    experiment: r.experiment,
    state: r.state,
    ...(r.error === undefined ? {} : { error: r.error }),
    window: { from: r.window.from === null ? null : new Date(r.window.from).toISOString(), to: new Date(r.window.to).toISOString() },
    units: r.units,
    srm: r.srm,
    guardrails: r.guardrails,
    goals: r.goals,
  }));
}
