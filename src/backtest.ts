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
import { SeriesRuntime } from "./engine/series-runtime.js";
import { fetchBuckets, type SeriesBatch } from "./sources/index.js";

export interface BacktestAlert {
  series: string;
  detector: string;
  /** Bucket where it started firing. */
  firedAt: number;
  /** Bucket where it resolved, null if still open at the end. */
  resolvedAt: number | null;
  value: number | null;
  expected: number | null;
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

/** Replay over already-fetched series (pure: no I/O), judging from the first point on. */
export function replay(m: MetricConfig, series: readonly SeriesBatch[], from: number, to: number, keepTraces = false): BacktestResult {
  const g = m.granularityMs;
  const detectors = buildDetectors(m);
  const result: BacktestResult = { metric: m.name, from, to, series: series.length, points: 0, alerts: [], traces: new Map() };
  const policy = { for: m.for, resolveAfter: m.resolveAfter, severity: m.severity, repeatEveryMs: null };
  const start = Math.ceil(from / g) * g;
  for (const s of series) {
    const values = new Map(s.points.map((p) => [Math.floor(p.t / g) * g, p.v]));
    const sr = new SeriesRuntime(s.key, s.labels, detectors);
    const open = new Map<string, { alert: Alert; record: BacktestAlert | null }>();
    const trace: BacktestResult["traces"] extends Map<string, infer T> ? T : never = [];
    for (let t = start; t < to; t += g) {
      const p: Point = { t, v: values.get(t) ?? null };
      const verdicts = sr.step(p);
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
              firedAt: t,
              resolvedAt: null,
              value: p.v,
              expected: v.expected,
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
    }
    if (keepTraces) result.traces.set(s.key, trace);
  }
  result.alerts.sort((a, b) => a.firedAt - b.firedAt || a.series.localeCompare(b.series));
  return result;
}

/** Default window: the metric's lookback up to the last closed bucket. */
export function defaultWindow(m: MetricConfig, now: number): { from: number; to: number } {
  const to = lastClosedBucket(now, m.granularityMs, m.delayMs) + m.granularityMs;
  return { from: to - m.lookbackMs, to };
}

/** The parameter that sets a detector's sensitivity, if it has one. */
export const SENSITIVITY_KEYS = ["k", "sigma"] as const;

export interface TuneChoice {
  param: string;
  value: number;
  alerts: BacktestAlert[];
  perWeek: number;
}

function sensitivityParam(shape: Record<string, unknown>): string | null {
  for (const k of SENSITIVITY_KEYS) if (k in shape) return k;
  return null;
}

/**
 * Try each sensitivity on every tunable detector of the metric (same value for all, in each
 * detector's own unit) and pick the most sensitive one whose alert rate fits the budget.
 */
export function tune(
  m: MetricConfig,
  series: readonly SeriesBatch[],
  from: number,
  to: number,
  maxPerWeek: number,
  candidates: readonly number[] = [2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 8],
): { choices: TuneChoice[]; best: TuneChoice | null; param: string | null } {
  const base = buildDetectors(m);
  const configured: DetectorConfig[] = m.detectors.length > 0 ? m.detectors : base.map((d) => ({ type: d.type }));
  const params = configured.map((_dc, i) => sensitivityParam(base[i]!.def.params.shape));
  const param = params.find((p) => p !== null) ?? null;
  if (param === null) return { choices: [], best: null, param: null };
  const weeks = Math.max((to - from) / (7 * 86_400_000), 1 / 7);
  const choices: TuneChoice[] = [];
  for (const value of candidates) {
    const detectors = configured.map((dc, i) => (params[i] ? { ...dc, [params[i]!]: value } : dc));
    const r = replay({ ...m, detectors }, series, from, to);
    choices.push({ param, value, alerts: r.alerts, perWeek: r.alerts.length / weeks });
  }
  const best = choices.find((c) => c.perWeek <= maxPerWeek) ?? null;
  return { choices, best, param };
}
