/** What one evaluation of an experiment reports: its units, sample ratio, guardrails and goals. */
import type { GuardrailConfig } from "../config/types.js";
import type { AlertChange } from "../model/alert.js";
import type { ArmReport, Difference } from "./analysis.js";
import type { ExperimentWindow } from "./sql.js";
import type { GuardrailStatus, Interval } from "./stats.js";

export interface SrmReport {
  /** Whether enough units arrived to judge (the smallest arm's expected count reaches min_units). */
  judged: boolean;
  p: number;
  chi2: number;
  /** Largest |observed − expected share|, fraction (0.001 = 0.1 pp). */
  maxDeviation: number;
  worstVariant: string | null;
  mismatch: boolean;
}

export interface GuardrailReport {
  guardrail: string;
  variant: string;
  aggregate: GuardrailConfig["aggregate"];
  badDirection: GuardrailConfig["bad_direction"];
  margin: number;
  /** "collecting" until every arm has min_units units. */
  status: GuardrailStatus | "collecting" | "error";
  /** Relative change (treatment − control)/|control| and its interval; null when the control mean is 0. */
  estimate: number | null;
  interval: Interval | null;
  /** Treatment − control, set (and judged) instead when the control mean is 0. */
  difference: Difference | null;
  /** Why the numbers are not the usual ones (control mean 0), else null. */
  note: string | null;
  p: number | null;
  control: ArmReport | null;
  treatment: ArmReport | null;
  error?: string;
}

export interface GoalReport {
  goal: string;
  variant: string;
  /** Relative change; null when the control mean is 0 (then `difference` is set). */
  estimate: number | null;
  /** Two-sided always-valid interval at alpha. */
  interval: Interval | null;
  difference: Difference | null;
  note: string | null;
  /** Always-valid two-sided p-value, and adjusted across all goals × variants of the experiment. */
  p: number | null;
  pHolm: number | null;
  pBH: number | null;
  control: ArmReport | null;
  treatment: ArmReport | null;
}

export interface ExperimentReport {
  experiment: string;
  state: "not_started" | "ended" | "collecting" | "running" | "error";
  error?: string;
  window: ExperimentWindow;
  /** Units per configured variant. */
  units: Record<string, number>;
  srm: SrmReport | null;
  guardrails: GuardrailReport[];
  goals: GoalReport[];
  /** Alert changes this evaluation stored (only the notifying ones). */
  /** The alert changes this evaluation stored. */
  events: AlertChange[];
}

export function emptyReport(experiment: string, state: ExperimentReport["state"], window: ExperimentWindow): ExperimentReport {
  return { experiment, state, window, units: {}, srm: null, guardrails: [], goals: [], events: [] };
}
