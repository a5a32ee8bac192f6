/**
 * One evaluation of the watched experiments: read the per-variant sums (src/experiments/sql.ts),
 * judge the sample ratio and every guardrail (src/experiments/analysis.ts), and raise, update or
 * resolve alerts of kind `srm` and `guardrail` through the same lifecycle, store transaction and
 * delivery planning as metric alerts, so dedup, the outbox, silences, mute windows and the chat
 * buttons work for them unchanged. It owns no timers: the scheduler calls it per `schedule`.
 */
import type { Clock } from "../clock.js";
import type { ExperimentConfig, GuardrailConfig, VigilConfig } from "../config/types.js";
import type { Database } from "../db/database.js";
import type { Logger } from "../log.js";
import { errorText } from "../log.js";
import { type Alert, type AlertEvent, fingerprintOf } from "../model/alert.js";
import { fmtChange, fmtDifference } from "../model/format.js";
import {
  clearMeta,
  type Identity,
  type LifecyclePolicy,
  type Observation,
  type Outcome,
  observe,
  onTime,
  raiseMeta,
} from "../model/lifecycle.js";
import { activeMute } from "../notify/mute.js";
import { planDeliveries } from "../notify/plan.js";
import { AlertConflictError, type StateStore } from "../store/state-store.js";
import {
  type AnalysisOptions,
  type ArmReport,
  type ArmSums,
  analyzeArms,
  armReport,
  changeBetween,
  DEFAULT_NSTAR,
  type Difference,
  type GuardrailAnalysis,
  summarize,
  ZERO_CONTROL_NOTE,
} from "./analysis.js";
import { type ExperimentWindow, fetchAssignmentCounts, fetchGuardrailSums } from "./sql.js";
import { benjaminiHochberg, type GuardrailStatus, holm, type Interval, sequentialInterval, sequentialP, srmTest } from "./stats.js";

/** Below this largest share deviation an SRM is not alerted on, however small its p-value (0.1 percentage point). */
export const SRM_MIN_DEVIATION = 0.001;

export const SRM_ACTION = "check assignment and logging before reading any result";
export const GUARDRAIL_ACTION = "consider pausing or rolling back the variant; look at the guardrail's breakdown before restarting it";

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
  events: Array<{ alert: Alert & { id: number }; event: AlertEvent }>;
}

const POLICY: LifecyclePolicy = { for: 1, resolveAfter: 1, severity: "critical", repeatEveryMs: null };

export const srmFingerprint = (experiment: string) => fingerprintOf(experiment, "", "srm");
export const guardrailSeries = (guardrail: string, variant: string) => `guardrail=${guardrail},variant=${variant}`;
export const guardrailFingerprint = (experiment: string, guardrail: string, variant: string) =>
  fingerprintOf(experiment, guardrailSeries(guardrail, variant), "guardrail");
const sourceFingerprint = (experiment: string) => fingerprintOf(experiment, "", "source");

const isExperimentAlert = (a: Alert) => a.kind === "srm" || a.kind === "guardrail";

function errMessage(err: unknown): string {
  return errorText(err);
}

/** Evaluate the watched experiments, one after another; a failing experiment does not stop the others. */
export async function evaluateExperiments(deps: EvaluateExperimentsDeps): Promise<ExperimentReport[]> {
  const wanted = deps.names ? new Set(deps.names) : null;
  const out: ExperimentReport[] = [];
  for (const e of deps.config.experiments) {
    if (wanted && !wanted.has(e.name)) continue;
    let report: ExperimentReport;
    try {
      try {
        report = await evaluateOne(e, deps);
      } catch (err) {
        if (!(err instanceof AlertConflictError)) throw err;
        // Someone acted on one of its alerts mid-evaluation: nothing was stored, redo it on fresh state.
        deps.log.info({ experiment: e.name, alert: err.alertId }, "alert changed during the evaluation; re-evaluating");
        report = await evaluateOne(e, deps);
      }
    } catch (err) {
      const error = errMessage(err);
      deps.log.error({ experiment: e.name, err: error }, "experiment evaluation failed");
      report = emptyReport(e, "error", { from: null, to: deps.clock.now() });
      report.error = error;
    }
    out.push(report);
  }
  return out;
}

function emptyReport(e: ExperimentConfig, state: ExperimentReport["state"], window: ExperimentWindow): ExperimentReport {
  return { experiment: e.name, state, window, units: {}, srm: null, guardrails: [], goals: [], events: [] };
}

async function evaluateOne(e: ExperimentConfig, deps: EvaluateExperimentsDeps): Promise<ExperimentReport> {
  const { db, store, clock, log } = deps;
  const now = clock.now();
  const start = e.start === undefined ? null : Date.parse(e.start);
  const end = e.end === undefined ? null : Date.parse(e.end);
  const window: ExperimentWindow = { from: start, to: end === null ? now : Math.min(now, end) };
  const open = new Map<string, Alert>();
  for (const a of await store.openAlerts()) if (a.metric === e.name) open.set(a.fingerprint, a);
  const outcomes = new Map<string, Outcome>();
  const record = (fp: string, o: Outcome) => {
    if (o.events.length === 0 && o.alert === (open.get(fp) ?? null)) return;
    const prev = outcomes.get(fp);
    outcomes.set(fp, prev ? { alert: o.alert, events: [...prev.events, ...o.events] } : o);
    if (o.alert) open.set(fp, o.alert);
  };
  const resolveAll = (note: string, keep: (fp: string) => boolean = () => false) => {
    for (const [fp, a] of open) if (isExperimentAlert(a) && a.state !== "resolved" && !keep(fp)) record(fp, clearMeta(a, now, note));
  };

  if (start !== null && now < start) {
    return finish(emptyReport(e, "not_started", window));
  }
  if (end !== null && now >= end) {
    // A finished experiment is no longer watched: its alerts end with it.
    resolveAll("the experiment ended; it is no longer watched");
    const src = open.get(sourceFingerprint(e.name)) ?? null;
    record(sourceFingerprint(e.name), clearMeta(src, now, "the experiment ended"));
    return finish(emptyReport(e, "ended", window));
  }

  const report = emptyReport(e, "collecting", window);
  const variants = Object.keys(e.variants);
  const randomised = variants.filter((v) => (e.variants[v] ?? 0) > 0);
  const sourceFp = sourceFingerprint(e.name);
  const sourceId: Identity = {
    fingerprint: sourceFp,
    kind: "meta",
    metric: e.name,
    series: "",
    detector: "source",
    details: { description: `the queries of experiment ${e.name} failed` },
  };
  let counts: Map<string, number>;
  try {
    counts = await fetchAssignmentCounts(db, e, window);
  } catch (err) {
    const error = errMessage(err);
    log.error({ experiment: e.name, err: error }, "experiment assignment query failed");
    record(sourceFp, raiseMeta(open.get(sourceFp) ?? null, sourceId, `assignment query failed: ${error}`, now));
    report.state = "error";
    report.error = error;
    return finish(report);
  }
  for (const v of variants) report.units[v] = counts.get(v) ?? 0;
  const unknown = [...counts.keys()].filter((v) => !(v in e.variants));
  if (unknown.length > 0) log.warn({ experiment: e.name, variants: unknown }, "assignments to variants not in the config are ignored");

  // Sample ratio: judged once the smallest arm is expected to hold min_units, so that an arm that
  // receives nobody (which never reaches min_units itself) still trips it.
  const weights = variants.map((v) => e.variants[v] ?? 0);
  const observed = variants.map((v) => report.units[v] ?? 0);
  const srm = srmTest(observed, weights);
  const wsum = weights.reduce((s, w) => s + w, 0);
  const minShare = Math.min(...weights.filter((w) => w > 0)) / wsum;
  const srmJudged = srm.total * minShare >= e.min_units;
  const mismatch = srmJudged && srm.p < e.srm_alpha && srm.maxDeviation >= SRM_MIN_DEVIATION;
  const worst = srm.worstArm >= 0 ? variants[srm.worstArm]! : null;
  report.srm = { judged: srmJudged, p: srm.p, chi2: srm.chi2, maxDeviation: srm.maxDeviation, worstVariant: worst, mismatch };
  const srmFp = srmFingerprint(e.name);
  if (srmJudged && worst !== null) {
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
    record(srmFp, observe(open.get(srmFp) ?? null, id, o, POLICY, now));
  }

  const guardrailsJudged = randomised.every((v) => (report.units[v] ?? 0) >= e.min_units);
  report.state = guardrailsJudged ? "running" : "collecting";
  const treatments = randomised.filter((v) => v !== e.control);
  const opts = (g: GuardrailConfig): AnalysisOptions => ({
    alpha: e.alpha,
    badDirection: g.bad_direction,
    margin: g.margin,
    nStar: deps.nStar ?? DEFAULT_NSTAR,
  });
  let failed: string | null = null;
  const configured = new Set<string>([srmFp, sourceFp]);
  for (const g of e.guardrails) {
    for (const v of treatments) configured.add(guardrailFingerprint(e.name, g.name, v));
    const rowFor = (v: string, extra: Partial<GuardrailReport>): GuardrailReport => ({
      guardrail: g.name,
      variant: v,
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
    });
    if (!guardrailsJudged) {
      for (const v of treatments) report.guardrails.push(rowFor(v, {}));
      continue;
    }
    let sums: Map<string, ArmSums>;
    try {
      sums = await fetchGuardrailSums(db, e, g, window);
    } catch (err) {
      const error = errMessage(err);
      log.error({ experiment: e.name, guardrail: g.name, err: error }, "guardrail query failed");
      failed ??= `guardrail ${g.name}: ${error}`;
      for (const v of treatments) report.guardrails.push(rowFor(v, { status: "error", error }));
      continue;
    }
    const control = sums.get(e.control);
    for (const v of treatments) {
      const treated = sums.get(v);
      if (!control || !treated) {
        report.guardrails.push(rowFor(v, { status: "not_yet_safe" }));
        continue;
      }
      const r = analyzeArms({ variant: e.control, sums: control }, { variant: v, sums: treated }, opts(g));
      const { status, estimate, interval, difference, note, p } = r;
      report.guardrails.push(rowFor(v, { status, estimate, interval, difference, note, p, control: r.control, treatment: r.treatment }));
      if (p === null) continue; // nothing could be computed, so there is nothing to alert on or resolve by
      const fp = guardrailFingerprint(e.name, g.name, v);
      record(fp, observe(open.get(fp) ?? null, guardrailIdentity(e, g, v, r), guardrailObservation(g, v, r, now), POLICY, now));
    }
  }
  report.goals = guardrailsJudged ? await goals(e, treatments, window, deps) : [];

  if (failed !== null) record(sourceFp, raiseMeta(open.get(sourceFp) ?? null, sourceId, `query failed: ${failed}`, now));
  else record(sourceFp, clearMeta(open.get(sourceFp) ?? null, now, "the experiment's queries work again"));
  // Guardrails or variants removed from the config: their alerts end.
  resolveAll("no longer in the config", (fp) => configured.has(fp));
  for (const [fp, a] of open) if (isExperimentAlert(a) && a.state !== "resolved") record(fp, onTime(a, POLICY, now));
  return finish(report);

  async function finish(r: ExperimentReport): Promise<ExperimentReport> {
    if (!deps.dryRun) r.events = await persist(e, [...outcomes.values()], deps, now);
    return r;
  }
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

/** Goals: two-sided always-valid intervals, p-values adjusted (Holm and BH) across goals × variants. */
async function goals(
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
      deps.log.error({ experiment: e.name, goal: g.name, err: errMessage(err) }, "goal query failed");
    }
    const c = sums?.get(e.control);
    for (const v of treatments) {
      const t = sums?.get(v);
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
      if (c && t) {
        const a = summarize(c);
        const b = summarize(t);
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
  const h = holm(ps);
  const bh = benjaminiHochberg(ps);
  idx.forEach((i, k) => {
    out[i]!.pHolm = h[k]!;
    out[i]!.pBH = bh[k]!;
  });
  return out;
}

async function persist(
  e: ExperimentConfig,
  outcomes: readonly Outcome[],
  deps: EvaluateExperimentsDeps,
  now: number,
): Promise<Array<{ alert: Alert & { id: number }; event: AlertEvent }>> {
  const toStore = outcomes.filter((o): o is Outcome & { alert: Alert } => o.alert !== null);
  if (toStore.length === 0) return [];
  const { store, config } = deps;
  const silences = await store.activeSilences(now);
  const firing = toStore.some((o) => o.events.some((ev) => ev.notify === "firing"));
  const load = firing ? await store.channelLoad(now) : new Map();
  const muted = activeMute(config.mute, now, config.timezone) !== undefined;
  const events: Array<{ alert: Alert & { id: number }; event: AlertEvent }> = [];
  await store.write({
    outcomes: toStore.map((o) => ({ alert: o.alert, events: o.events })),
    watermarks: [],
    plan: (stored) => {
      for (const s of stored) if (s.event.notify) events.push({ alert: s.alert, event: s.event });
      return planDeliveries(stored, {
        config,
        metric: { name: e.name, notify: e.notify },
        now,
        silences,
        muted,
        load,
        // Flapping is judged for metric alerts only; an experiment alert opens at most once per evaluation.
        opens: new Map(),
        flapNoticed: new Set(),
      });
    },
  });
  return events;
}
