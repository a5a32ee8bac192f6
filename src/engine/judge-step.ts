/**
 * The judge step: one judged bucket of one series, each detector's verdict through the metric's
 * alert policy (`direction`, `min_change`) and the alert lifecycle. Pure (no I/O, no clock), so the
 * daemon and a backtest's replay judge alike; the caller keeps the alerts it changes.
 */
import type { Verdict } from "../../detectors/types.js";
import type { MetricConfig } from "../config/types.js";
import { type Alert, fingerprintOf } from "../model/alert.js";
import { type Identity, type LifecyclePolicy, type Observation, type Outcome, observe, supersede, supersedes } from "../model/lifecycle.js";
import { atFloor } from "./band-floor.js";
import { passesPolicy } from "./policy.js";
import type { DetectorInstance, SeriesRuntime } from "./series-runtime.js";

/** What a metric is judged by. */
export interface JudgeRules {
  config: MetricConfig;
  detectors: readonly DetectorInstance[];
  policy: LifecyclePolicy;
}

/** The alerts a judge step reads and changes: the engine's TickOutcomes, a replay's open alerts. */
export interface AlertBook {
  /** No alert is open or changed, so a normal verdict needs no lifecycle step. */
  readonly empty: boolean;
  current(fingerprint: string): Alert | null;
  record(fingerprint: string, outcome: Outcome, verdict: Verdict, observation: Observation): void;
}

function identityOf(rules: JudgeRules, series: SeriesRuntime, detector: number, fingerprint: string): Identity {
  const m = rules.config;
  return {
    fingerprint,
    kind: "metric",
    metric: m.name,
    series: series.key,
    detector: rules.detectors[detector]!.family,
    details: { description: m.description, runbook: m.runbook, granularityMs: m.granularityMs, labels: series.labels },
  };
}

function observationOf(v: Verdict, t: number, anomalous: boolean, shown: number | null, floor: number): Observation {
  return {
    bucket: t,
    anomalous,
    value: shown,
    expected: atFloor(v.expected, floor),
    lower: atFloor(v.lower, floor),
    upper: atFloor(v.upper, floor),
    sigmas: v.sigmas,
    reason: v.reason,
  };
}

/**
 * Judge bucket `t` of `series` from its detectors' `verdicts` (in the order of `rules.detectors`):
 * `shown` is the value an alert shows, `now` the time the lifecycle stamps. Alert changes go to
 * `book`; each verdict's policy result is pushed to `flags` when given. `holiday`: the bucket is
 * on a public holiday its metric's `timezone` implies (calendar.ts). Returns how many verdicts
 * were anomalous.
 */
export function judgeVerdicts(
  rules: JudgeRules,
  series: SeriesRuntime,
  t: number,
  shown: number | null,
  verdicts: readonly Verdict[],
  book: AlertBook,
  now: number,
  flags: boolean[] | null = null,
  holiday = false,
): number {
  const m = rules.config;
  let anomalies = 0;
  for (let i = 0; i < verdicts.length; i++) {
    const v = verdicts[i]!;
    // a public holiday is not the usual day of its weekday: its seasonal residual is no incident
    const anomalous = passesPolicy(v, shown, m) && !(holiday && v.seasonal === true);
    flags?.push(anomalous);
    if (anomalous) anomalies++;
    // The common case, a normal point and no open alert, changes nothing: skip the lifecycle.
    if (!anomalous && book.empty) continue;
    // Made on first need: most series never alert.
    series.fingerprints ??= rules.detectors.map((d) => fingerprintOf(m.name, series.key, d.family));
    const fp = series.fingerprints[i]!;
    let current = book.current(fp);
    // an incident going on keeps its alert open but opens none: one the operator resolved stays resolved
    if ((current === null || current.state === "resolved") && !(anomalous && v.anomaly)) continue;
    const observation = observationOf(v, t, anomalous, shown, series.floor);
    if (anomalous && v.anomaly && supersedes(current, observation)) {
      book.record(fp, supersede(current!, observation, now), v, observation);
      current = book.current(fp);
    }
    book.record(fp, observe(current, identityOf(rules, series, i, fp), observation, rules.policy, now), v, observation);
  }
  return anomalies;
}
