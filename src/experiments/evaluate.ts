/**
 * One evaluation of the watched experiments: judge the sample ratio and every guardrail, and raise,
 * update or resolve their alerts through the same lifecycle, store transaction and delivery planning as
 * metric alerts, so dedup, the outbox, silences and the chat buttons work for them unchanged.
 */
import type { ExperimentConfig } from "../config/types.js";
import { errorText } from "../log.js";
import type { Alert, AlertChange } from "../model/alert.js";
import { clearMeta, type Identity, type Outcome, onTime, raiseMeta } from "../model/lifecycle.js";
import { activeMute } from "../notify/mute.js";
import { planDeliveries } from "../notify/plan.js";
import { AlertConflictError } from "../store/state-store.js";
import {
  type EvaluateExperimentsDeps,
  type Evaluation,
  ExperimentAlerts,
  isExperimentAlert,
  POLICY,
  sourceFingerprint,
  srmFingerprint,
} from "./evaluation.js";
import { type ExperimentReport, emptyReport } from "./experiment-report.js";
import { goals } from "./goals.js";
import { judgeGuardrails } from "./guardrail-alerts.js";
import { fetchAssignmentCounts } from "./sql.js";
import { judgeSampleRatio } from "./srm-alert.js";

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
      const error = errorText(err);
      deps.log.error({ experiment: e.name, err: error }, "experiment evaluation failed");
      report = emptyReport(e.name, "error", { from: null, to: deps.clock.now() });
      report.error = error;
    }
    out.push(report);
  }
  return out;
}

async function evaluateOne(e: ExperimentConfig, deps: EvaluateExperimentsDeps): Promise<ExperimentReport> {
  const now = deps.clock.now();
  const start = e.start === undefined ? null : Date.parse(e.start);
  const end = e.end === undefined ? null : Date.parse(e.end);
  const window = { from: start, to: end === null ? now : Math.min(now, end) };
  const alerts = await ExperimentAlerts.load(deps.store, e.name, now);
  const finish = async (r: ExperimentReport): Promise<ExperimentReport> => {
    if (!deps.dryRun) r.events = await persist(e, alerts.changes(), deps, now);
    return r;
  };

  if (start !== null && now < start) {
    return finish(emptyReport(e.name, "not_started", window));
  }
  if (end !== null && now >= end) {
    // A finished experiment is no longer watched: its alerts end with it.
    alerts.resolveAll("the experiment ended; it is no longer watched");
    alerts.record(sourceFingerprint(e.name), clearMeta(alerts.get(sourceFingerprint(e.name)), now, "the experiment ended"));
    return finish(emptyReport(e.name, "ended", window));
  }
  const evaluation: Evaluation = { experiment: e, deps, window, now, alerts, report: emptyReport(e.name, "collecting", window) };
  return finish(await judgeRunning(evaluation));
}

/** Judge a running experiment: assignments, sample ratio, guardrails, goals, and the alerts they settle. */
async function judgeRunning(evaluation: Evaluation): Promise<ExperimentReport> {
  const { experiment: e, deps, window, now, alerts, report } = evaluation;
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
    counts = await fetchAssignmentCounts(deps.db, e, window);
  } catch (err) {
    const error = errorText(err);
    deps.log.error({ experiment: e.name, err: error }, "experiment assignment query failed");
    alerts.record(sourceFp, raiseMeta(alerts.get(sourceFp), sourceId, `assignment query failed: ${error}`, now));
    report.state = "error";
    report.error = error;
    return report;
  }
  for (const v of variants) report.units[v] = counts.get(v) ?? 0;
  const unknown = [...counts.keys()].filter((v) => !(v in e.variants));
  if (unknown.length > 0) deps.log.warn({ experiment: e.name, variants: unknown }, "assignments to variants not in the config are ignored");

  judgeSampleRatio(evaluation);
  const guardrailsJudged = randomised.every((v) => (report.units[v] ?? 0) >= e.min_units);
  report.state = guardrailsJudged ? "running" : "collecting";
  const treatments = randomised.filter((v) => v !== e.control);
  const configured = new Set<string>([srmFingerprint(e.name), sourceFp]);
  const failed = await judgeGuardrails(evaluation, treatments, guardrailsJudged, configured);
  report.goals = guardrailsJudged ? await goals(e, treatments, window, deps) : [];

  if (failed !== null) alerts.record(sourceFp, raiseMeta(alerts.get(sourceFp), sourceId, `query failed: ${failed}`, now));
  else alerts.record(sourceFp, clearMeta(alerts.get(sourceFp), now, "the experiment's queries work again"));
  // Guardrails or variants removed from the config: their alerts end.
  alerts.resolveAll("no longer in the config", (fp) => configured.has(fp));
  for (const [fp, a] of alerts.open) if (isExperimentAlert(a) && a.state !== "resolved") alerts.record(fp, onTime(a, POLICY, now));
  return report;
}

async function persist(
  e: ExperimentConfig,
  outcomes: readonly Outcome[],
  deps: EvaluateExperimentsDeps,
  now: number,
): Promise<AlertChange[]> {
  const toStore = outcomes.filter((o): o is Outcome & { alert: Alert } => o.alert !== null);
  if (toStore.length === 0) return [];
  const { store, config } = deps;
  const silences = await store.activeSilences(now);
  const firing = toStore.some((o) => o.events.some((ev) => ev.notify === "firing"));
  const load = firing ? await store.channelLoad(now) : new Map();
  const muted = activeMute(config.mute, now, config.timezone) !== undefined;
  const events: AlertChange[] = [];
  await store.commit(async (uow) => {
    const stored = (await uow.saveOutcomes(toStore.map((o) => ({ alert: o.alert, events: o.events })))).events;
    for (const s of stored) if (s.event.notify) events.push({ alert: s.alert, event: s.event });
    await uow.enqueue(
      planDeliveries(stored, {
        config,
        metric: { name: e.name, notify: e.notify },
        now,
        silences,
        muted,
        load,
        // Flapping is judged for metric alerts only; an experiment alert opens at most once per evaluation.
        opens: new Map(),
        flapNoticed: new Set(),
      }),
    );
  });
  return events;
}
