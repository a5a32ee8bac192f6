/**
 * `tune` reads the alerts a replay raises (missing data vs value), tries the config key that would
 * fix them on a copy of the metric (calendar, holidays, fill, missing_after, min_rows) and keeps
 * what cuts them, then repeats the replay over a range of sensitivities to find the most sensitive
 * setting that keeps the alert rate under a budget.
 */

import { countLike, withFill } from "../../config/resolve-config.js";
import type { DetectorConfig, MetricConfig } from "../../config/types.js";
import { buildDetectors } from "../../engine/build-detectors.js";
import type { SeriesBatch } from "../../sources/index.js";
import { type BacktestAlert, replay } from "./replay.js";
import { calendarFix, detectorsLine, gapsOf, holidayAlertsFix, holidaysFix, minRowsFix, missingAfterFix } from "./tune-fixes.js";

/**
 * A detector's sensitivity: the parameters that set it and their values at each level, most
 * sensitive first. Every knob has the same number of levels; choice i sets each tunable detector
 * of the metric to its knob's level i. Control limits and bands use their width in sigmas (`k`,
 * `sigma`); the ensemble, whose bar is "bigger than anything recent", the novelty factors
 * (`novelty_point` moves with `novelty`, as in the defaults 1.1 and 1.2).
 */
interface Knob {
  keys: readonly string[];
  levels: ReadonlyArray<Readonly<Record<string, number>>>;
}
const WIDTHS = [2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 8] as const;
const NOVELTY = [
  [1, 1.1],
  [1.05, 1.15],
  [1.1, 1.2],
  [1.2, 1.3],
  [1.35, 1.5],
  [1.5, 1.65],
  [2, 2.2],
  [3, 3.3],
  [5, 5.5],
] as const;
const SENSITIVITY_KNOBS: readonly Knob[] = [
  { keys: ["k"], levels: WIDTHS.map((k) => ({ k })) },
  { keys: ["sigma"], levels: WIDTHS.map((sigma) => ({ sigma })) },
  { keys: ["novelty", "novelty_point"], levels: NOVELTY.map(([novelty, novelty_point]) => ({ novelty, novelty_point })) },
];

export interface TuneChoice {
  /** Every parameter this choice sets, across the metric's detectors. */
  settings: Readonly<Record<string, number>>;
  /** The metric's detectors with this choice applied (what to put in its config). */
  detectors: DetectorConfig[];
  alerts: BacktestAlert[];
  perWeek: number;
}

/** Alerts of one replay, by kind. */
export interface AlertCounts {
  alerts: number;
  missing: number;
  value: number;
  perWeek: number;
}

/** A config change that tune tried, with the replay before and after it. */
export interface TuneFix {
  key: "calendar" | "holidays" | "fill" | "missing_after" | "min_rows";
  /** What in the alerts suggested it, in words. */
  why: string;
  /** The lines to add to the metric's config, as an operator writes them. */
  yaml: string[];
  before: AlertCounts;
  after: AlertCounts;
  /** Kept when it cut the alerts (or turned missing-data alerts into fewer or as many value ones). */
  accepted: boolean;
}

export interface TuneResult {
  /** The sensitivity levels, tried on the metric with the accepted fixes. */
  choices: TuneChoice[];
  best: TuneChoice | null;
  /** The first sensitivity parameter (k, sigma, novelty), null when no detector has one. */
  param: string | null;
  /** Weeks judged (at least a day's worth). */
  weeks: number;
  before: AlertCounts;
  fixes: TuneFix[];
  /** The accepted fixes and the chosen sensitivity together. */
  proposal: { yaml: string[]; alerts: BacktestAlert[]; after: AlertCounts; fits: boolean };
}

function knobOf(shape: Record<string, unknown>): Knob | null {
  return SENSITIVITY_KNOBS.find((k) => k.keys.every((key) => key in shape)) ?? null;
}

const WEEK = 7 * 86_400_000;

export function countAlerts(alerts: readonly BacktestAlert[], weeks: number): AlertCounts {
  const missing = alerts.filter((a) => a.kind === "missing").length;
  return { alerts: alerts.length, missing, value: alerts.length - missing, perWeek: alerts.length / weeks };
}

/** Every sensitivity level on every tunable detector of the metric (each in its own unit). */
function sweep(
  m: MetricConfig,
  series: readonly SeriesBatch[],
  from: number,
  to: number,
  judgeFrom: number,
  weeks: number,
): { choices: TuneChoice[]; param: string | null } {
  const base = buildDetectors(m);
  const configured: DetectorConfig[] = m.detectors.length > 0 ? m.detectors : base.map((d) => ({ type: d.type }));
  const knobs = configured.map((_dc, i) => knobOf(base[i]!.def.params.shape));
  const first = knobs.find((k) => k !== null) ?? null;
  if (first === null) return { choices: [], param: null };
  const choices: TuneChoice[] = [];
  for (let level = 0; level < first.levels.length; level++) {
    const settings: Record<string, number> = {};
    const detectors = configured.map((dc, i) => {
      const set = knobs[i]?.levels[level];
      if (!set) return dc;
      Object.assign(settings, set);
      return { ...dc, ...set };
    });
    const r = replay({ ...m, detectors }, series, from, to, false, judgeFrom);
    choices.push({ settings, detectors, alerts: r.alerts, perWeek: r.alerts.length / weeks });
  }
  return { choices, param: first.keys[0]! };
}

/**
 * Read the metric's alerts and propose what fixes them: missing-data alerts on routine days and
 * hours (`calendar`), on public holidays (`holidays`), on a count without `fill: zero`, or on short
 * gaps (`missing_after`); value alerts on public holidays (`holidays`) or thin buckets
 * (`min_rows`). Each fix is tried on a copy of the metric, replayed over the same series, and kept
 * when it cuts the alerts. Then each sensitivity level is tried on the fixed metric, and the most
 * sensitive one within the budget is proposed with the fixes.
 */
export function tune(
  m: MetricConfig,
  series: readonly SeriesBatch[],
  from: number,
  to: number,
  maxPerWeek: number,
  judgeFrom = from,
): TuneResult {
  const weeks = Math.max((to - Math.max(from, judgeFrom)) / WEEK, 1 / 7);
  const run = (x: MetricConfig) => replay(x, series, from, to, false, judgeFrom).alerts;
  let cur = m;
  let alerts = run(m);
  const before = countAlerts(alerts, weeks);
  const fixes: TuneFix[] = [];
  let fixedDetectors = false;
  const attempt = (key: TuneFix["key"], found: { why: string; yaml: string } | null, apply: (x: MetricConfig) => MetricConfig) => {
    if (found === null) return;
    const next = apply(cur);
    const after = run(next);
    const b = countAlerts(alerts, weeks);
    const a = countAlerts(after, weeks);
    const accepted = a.alerts < b.alerts || (a.alerts === b.alerts && a.missing < b.missing);
    fixes.push({ key, why: found.why, yaml: [found.yaml], before: b, after: a, accepted });
    if (accepted) {
      cur = next;
      alerts = after;
    }
  };
  const gaps = () => gapsOf(cur, series, alerts, judgeFrom, to);
  if (before.missing > 0) {
    const cal = calendarFix(cur, gaps());
    attempt("calendar", cal, (x) => ({ ...x, calendar: cal!.calendar }));
  }
  if (countAlerts(alerts, weeks).missing > 0) {
    const hol = holidaysFix(cur, gaps());
    attempt("holidays", hol, (x) => ({ ...x, calendar: hol!.calendar }));
  }
  if (countAlerts(alerts, weeks).missing > 0 && cur.fill === "none" && cur.source && countLike(cur.source.value)) {
    attempt(
      "fill",
      { why: `${cur.name} is a ${cur.source.value.trim()}: a bucket without rows is 0, not missing data`, yaml: "fill: zero" },
      (x) => withFill(x, "zero"),
    );
  }
  if (countAlerts(alerts, weeks).missing > 0) {
    const ma = missingAfterFix(cur, gaps());
    attempt("missing_after", ma, (x) => ({ ...x, detectors: ma!.detectors }));
    fixedDetectors = fixes.at(-1)?.key === "missing_after" && fixes.at(-1)!.accepted;
  }
  if (countAlerts(alerts, weeks).value > 0) {
    const hol = holidayAlertsFix(cur, alerts);
    attempt("holidays", hol, (x) => ({ ...x, calendar: hol!.calendar }));
  }
  if (countAlerts(alerts, weeks).value > 0) {
    const mr = minRowsFix(cur, series, alerts, judgeFrom);
    attempt("min_rows", mr, (x) => ({ ...x, minRows: mr!.minRows }));
  }
  const { choices, param } = sweep(cur, series, from, to, judgeFrom, weeks);
  const best = choices.find((c) => c.perWeek <= maxPerWeek) ?? null;
  // nothing fits: propose the fixes alone, or with the least sensitive level if that raises fewer alerts
  const quietest = choices.reduce<TuneChoice | null>((q, c) => (q === null || c.alerts.length < q.alerts.length ? c : q), null);
  const chosen = best ?? (quietest && quietest.alerts.length < alerts.length ? quietest : null);
  const yaml = fixes.filter((f) => f.accepted && f.key !== "missing_after").flatMap((f) => f.yaml);
  if (chosen) yaml.push(detectorsLine(chosen.detectors, chosen.settings));
  else if (fixedDetectors) yaml.push(detectorsLine(cur.detectors));
  const finalAlerts = chosen ? chosen.alerts : alerts;
  const after = countAlerts(finalAlerts, weeks);
  return { choices, best, param, weeks, before, fixes, proposal: { yaml, alerts: finalAlerts, after, fits: after.perWeek <= maxPerWeek } };
}
