/** What the steps of one experiment's evaluation share: its inputs, its report, and the alert changes it records. */
import type { Clock } from "../clock.js";
import type { ExperimentConfig, VigilConfig } from "../config/types.js";
import type { Database } from "../db/database.js";
import type { Logger } from "../log.js";
import { type Alert, fingerprintOf } from "../model/alert.js";
import { clearMeta, type LifecyclePolicy, type Outcome } from "../model/lifecycle.js";
import type { StateStore } from "../store/state-store.js";
import type { ExperimentReport } from "./experiment-report.js";
import type { ExperimentWindow } from "./sql.js";

export interface EvaluateExperimentsDeps {
  /** The metrics database (where assignments and events live). */
  db: Database;
  store: StateStore;
  clock: Clock;
  log: Logger;
  config: VigilConfig;
  /** Only these experiments (all when omitted). */
  names?: readonly string[];
  /** Tuning parameter of the confidence sequences (tests, bench); default DEFAULT_NSTAR. */
  nStar?: number;
  /** Read and judge, but store nothing (the `vigil experiments` command). */
  dryRun?: boolean;
}

export const POLICY: LifecyclePolicy = { for: 1, resolveAfter: 1, severity: "critical", repeatEveryMs: null };

export const srmFingerprint = (experiment: string) => fingerprintOf(experiment, "", "srm");
export const guardrailSeries = (guardrail: string, variant: string) => `guardrail=${guardrail},variant=${variant}`;
export const guardrailFingerprint = (experiment: string, guardrail: string, variant: string) =>
  fingerprintOf(experiment, guardrailSeries(guardrail, variant), "guardrail");
export const sourceFingerprint = (experiment: string) => fingerprintOf(experiment, "", "source");

export const isExperimentAlert = (a: Alert) => a.kind === "srm" || a.kind === "guardrail";

/** The experiment's open alerts, and the changes this evaluation makes to them (stored together at the end). */
export class ExperimentAlerts {
  readonly open = new Map<string, Alert>();
  private readonly outcomes = new Map<string, Outcome>();

  constructor(private readonly now: number) {}

  static async load(store: StateStore, experiment: string, now: number): Promise<ExperimentAlerts> {
    const alerts = new ExperimentAlerts(now);
    for (const a of await store.openAlerts()) if (a.metric === experiment) alerts.open.set(a.fingerprint, a);
    return alerts;
  }

  get(fingerprint: string): Alert | null {
    return this.open.get(fingerprint) ?? null;
  }

  record(fingerprint: string, o: Outcome): void {
    if (o.events.length === 0 && o.alert === (this.open.get(fingerprint) ?? null)) return;
    const prev = this.outcomes.get(fingerprint);
    this.outcomes.set(fingerprint, prev ? { alert: o.alert, events: [...prev.events, ...o.events] } : o);
    if (o.alert) this.open.set(fingerprint, o.alert);
  }

  /** Resolve every open experiment alert except those `keep` names. */
  resolveAll(note: string, keep: (fingerprint: string) => boolean = () => false): void {
    for (const [fp, a] of this.open)
      if (isExperimentAlert(a) && a.state !== "resolved" && !keep(fp)) this.record(fp, clearMeta(a, this.now, note));
  }

  changes(): Outcome[] {
    return [...this.outcomes.values()];
  }
}

/** One experiment's evaluation in progress. */
export interface Evaluation {
  experiment: ExperimentConfig;
  deps: EvaluateExperimentsDeps;
  window: ExperimentWindow;
  now: number;
  alerts: ExperimentAlerts;
  report: ExperimentReport;
}
