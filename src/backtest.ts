/**
 * Replays a metric's detectors and alert policy over stored history, in streaming order, with the
 * same code the daemon runs (detector registry, policy, lifecycle) but nothing stored or sent.
 * `tune` repeats it over a range of sensitivities to find the most sensitive setting that keeps
 * the alert rate under a budget.
 */
import type { Point } from "../detectors/types.js";
import type { DetectorConfig, MetricConfig } from "./config/types.js";
import type { Database } from "./db/database.js";
import { type Alert, fingerprintOf } from "./engine/alert.js";
import { buildDetectors } from "./engine/engine.js";
import { lastClosedBucket } from "./engine/fetcher.js";
import { type Identity, observe } from "./engine/lifecycle.js";
import { passesPolicy } from "./engine/policy.js";
import { feedSeries } from "./engine/bucket-feed.js";
import { SeriesRuntime } from "./engine/series-runtime.js";
import { alignUp, bucketClock } from "./sources/bucket-clock.js";
import { fetchBuckets, type SeriesBatch } from "./sources/index.js";

export interface BacktestAlert {
  series: string;
  detector: string;
  /** `missing` when it fired on absent data, `value` otherwise. */
  kind: "value" | "missing";
  /** Bucket where it started firing. */
  firedAt: number;
  /** Bucket where it resolved, null if still open at the end. */
  resolvedAt: number | null;
  value: number | null;
  expected: number | null;
  lower: number | null;
  upper: number | null;
  peakDeviation: number | null;
  sigmas: number | null;
  reason: string;
}

export interface BacktestResult {
  metric: string;
  from: number;
  to: number;
  series: number;
  points: number;
  alerts: BacktestAlert[];
  /** Per series: points with verdicts, for charts. */
  traces: Map<string, Array<{ p: Point; expected: number | null; lower: number | null; upper: number | null; anomalous: boolean }>>;
}

export async function loadHistory(db: Database, m: MetricConfig, from: number, to: number): Promise<SeriesBatch[]> {
  return (await fetchBuckets(db, m, { from, to })).series;
}

/**
 * Replay over already-fetched series (pure: no I/O). The buckets before `judgeFrom` only warm the
 * detectors up, as a daemon's history load does; alerts are judged from there on. Buckets go
 * through the same calendar, fill and thin-bucket rules as in the daemon.
 */
export function replay(
  m: MetricConfig,
  series: readonly SeriesBatch[],
  from: number,
  to: number,
  keepTraces = false,
  judgeFrom = from,
): BacktestResult {
  const g = m.granularityMs;
  const detectors = buildDetectors(m);
  const result: BacktestResult = { metric: m.name, from: Math.max(from, judgeFrom), to, series: series.length, points: 0, alerts: [], traces: new Map() };
  const policy = { for: m.for, resolveAfter: m.resolveAfter, severity: m.severity, repeatEveryMs: null };
  const start = alignUp(from, g);
  const buckets = Math.max(0, Math.ceil((to - start) / g));
  for (const s of series) {
    const sr = new SeriesRuntime(s.key, s.labels, detectors);
    const open = new Map<string, { alert: Alert; record: BacktestAlert | null }>();
    const trace: BacktestResult["traces"] extends Map<string, infer T> ? T : never = [];
    feedSeries(m, sr, s.points, start, buckets, (t, fed, shown) => {
      if (t < judgeFrom) {
        sr.learn(t, fed);
        return;
      }
      const verdicts = sr.step({ t, v: Number.isNaN(fed) ? null : fed });
      // what the alert and chart show: the source's value
      const p: Point = { t, v: Number.isNaN(shown) ? null : shown };
      result.points++;
      verdicts.forEach((v, i) => {
        const d = detectors[i]!;
        const anomalous = passesPolicy(v, p.v, m);
        if (keepTraces && i === 0) trace.push({ p, expected: v.expected, lower: v.lower, upper: v.upper, anomalous });
        const fp = fingerprintOf(m.name, s.key, d.family);
        const id: Identity = { fingerprint: fp, kind: "metric", metric: m.name, series: s.key, detector: d.family, details: {} };
        const cur = open.get(fp);
        const obs = { bucket: t, anomalous, value: p.v, expected: v.expected, lower: v.lower, upper: v.upper, sigmas: v.sigmas, reason: v.reason };
        const out = observe(cur?.alert ?? null, id, obs, policy, t + g + m.delayMs);
        if (!out.alert) return;
        let record = cur && cur.alert.state !== "resolved" ? cur.record : null;
        for (const ev of out.events) {
          if (ev.notify === "firing") {
            record = {
              series: s.key,
              detector: d.family,
              kind: v.kind === "missing" ? "missing" : "value",
              firedAt: t,
              resolvedAt: null,
              value: p.v,
              expected: v.expected,
              lower: v.lower,
              upper: v.upper,
              peakDeviation: out.alert.peakDeviation,
              sigmas: v.sigmas,
              reason: v.reason,
            };
            result.alerts.push(record);
          }
          if (ev.to === "resolved" && record) record.resolvedAt = t;
        }
        if (record && out.alert.state !== "resolved") record.peakDeviation = out.alert.peakDeviation;
        open.set(fp, { alert: out.alert, record });
      });
    });
    if (keepTraces) result.traces.set(s.key, trace);
  }
  result.alerts.sort((a, b) => a.firedAt - b.firedAt || a.series.localeCompare(b.series));
  return result;
}

/** Default window: the metric's lookback up to the last closed bucket (in bucket time: floating for local days). */
export function defaultWindow(m: MetricConfig, now: number): { from: number; to: number } {
  const to = lastClosedBucket(bucketClock(m, now), m.granularityMs, m.delayMs) + m.granularityMs;
  return { from: to - m.lookbackMs, to };
}

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

function knobOf(shape: Record<string, unknown>): Knob | null {
  return SENSITIVITY_KNOBS.find((k) => k.keys.every((key) => key in shape)) ?? null;
}

/**
 * Try each sensitivity level on every tunable detector of the metric (each in its own unit) and
 * pick the most sensitive one whose alert rate fits the budget.
 */
export function tune(
  m: MetricConfig,
  series: readonly SeriesBatch[],
  from: number,
  to: number,
  maxPerWeek: number,
  judgeFrom = from,
): { choices: TuneChoice[]; best: TuneChoice | null; param: string | null } {
  const base = buildDetectors(m);
  const configured: DetectorConfig[] = m.detectors.length > 0 ? m.detectors : base.map((d) => ({ type: d.type }));
  const knobs = configured.map((_dc, i) => knobOf(base[i]!.def.params.shape));
  const first = knobs.find((k) => k !== null) ?? null;
  if (first === null) return { choices: [], best: null, param: null };
  const param = first.keys[0]!;
  const weeks = Math.max((to - Math.max(from, judgeFrom)) / (7 * 86_400_000), 1 / 7);
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
  const best = choices.find((c) => c.perWeek <= maxPerWeek) ?? null;
  return { choices, best, param };
}
