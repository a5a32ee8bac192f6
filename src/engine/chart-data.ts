/**
 * What an alert's chart is drawn from, built from what its message says: the band of the detector
 * that fired, fed the series as the daemon fed it (from where the daemon's detectors started,
 * through the same calendar, fill and thin rules), the alert's own verdict at the bucket the
 * message reports, and the alert's own anomalous buckets as the only marked points, so that the
 * chart never says other than the message: a detector replayed cold over the chart's week draws a
 * band the daemon never had, and the replay's own anomalies are points no alert reported.
 */
import type { MetricConfig } from "../config/types.js";
import type { AlertDetails } from "../model/alert.js";
import type { ChartData, ChartRow } from "../model/notification.js";
import type { Point } from "../model/point.js";
import { type Band, bandAtFloor, NO_FLOOR } from "./band-floor.js";
import { feedSeries } from "./bucket-feed.js";
import { type DetectorInstance, SeriesRuntime } from "./series-runtime.js";

/** Buckets an alert's chart draws. */
export const CHART_POINTS = 336;

/** One drawn bucket: the value shown, the detector's band then, and the floor of the band then. */
export interface BandPoint extends Band {
  t: number;
  value: number | null;
  floor: number;
}

/** What an alert's message says, which its chart says too. */
export interface AlertMarks extends Band {
  /** The bucket the message reports, with its value, expected value and band. */
  bucket: number | null;
  value: number | null;
  /** Runs of the alert's anomalous buckets (AlertDetails.anomalous). */
  runs: ReadonlyArray<readonly [number, number]>;
}

/** An alert's marks: its reported bucket and its anomalous buckets (only the reported one when the runs were not kept). */
export function marksOf(a: { bucket: number | null; value: number | null; details: AlertDetails } & Band): AlertMarks {
  const runs = a.details.anomalous ?? (a.bucket === null ? [] : [[a.bucket, a.bucket] as const]);
  return { bucket: a.bucket, value: a.value, expected: a.expected, lower: a.lower, upper: a.upper, runs };
}

/** The buckets an alert chart reads: `warmFrom` on (the detector's warm-up), drawn from `drawFrom`, up to `to` (exclusive). */
export interface ChartWindow {
  warmFrom: number;
  drawFrom: number;
  to: number;
}

/**
 * The window of the chart of alerts judged up to bucket `end`, for detectors that have seen the
 * series since `stateFrom`: replayed from there they are in the daemon's state exactly; a daemon
 * running for longer is approached by a lookback of warm-up, as much as it had itself at its start.
 */
export function chartWindow(m: Pick<MetricConfig, "granularityMs" | "lookbackMs">, end: number, stateFrom: number): ChartWindow {
  const g = m.granularityMs;
  const drawFrom = end - (CHART_POINTS - 1) * g;
  const warmFrom = Math.max(stateFrom, drawFrom - Math.ceil(m.lookbackMs / g) * g);
  return { warmFrom, drawFrom: Math.max(drawFrom, warmFrom), to: end + g };
}

/**
 * One detector over a series' buckets in `w` as the daemon feeds it: learned before `w.drawFrom`,
 * judged from there. `liveFloor`: the daemon's floor for the series now (a negative value before
 * the window means its bands had no floor in any of these buckets).
 */
export function replayBands(
  m: MetricConfig,
  d: DetectorInstance,
  points: readonly Point[],
  w: ChartWindow,
  liveFloor: number,
): BandPoint[] {
  const g = m.granularityMs;
  const sr = new SeriesRuntime("", {}, [d]);
  const out: BandPoint[] = [];
  feedSeries(m, sr, points, w.warmFrom, Math.max(0, Math.round((w.to - w.warmFrom) / g)), (t, fed, shown) => {
    if (t < w.drawFrom) {
      sr.learn(t, fed);
      return;
    }
    const v = sr.step({ t, v: Number.isNaN(fed) ? null : fed })[0]!;
    out.push({ t, value: Number.isNaN(shown) ? null : shown, expected: v.expected, lower: v.lower, upper: v.upper, floor: sr.floor });
  });
  if (liveFloor === NO_FLOOR && sr.floor !== NO_FLOOR) for (const p of out) p.floor = NO_FLOOR;
  return out;
}

/** Static limits to draw: a threshold detector's `min` and `max`. */
export function thresholdsOf(d: Pick<DetectorInstance, "type" | "params">): ChartData["thresholds"] {
  if (d.type !== "threshold") return undefined;
  const { min, max } = d.params as { min?: number; max?: number };
  return { ...(min === undefined ? {} : { min }), ...(max === undefined ? {} : { max }) };
}

function inRuns(runs: AlertMarks["runs"], t: number, g: number): boolean {
  return runs.some(([a, b]) => t >= a && t <= b && (g <= 0 || (t - a) % g === 0));
}

/**
 * The chart's rows: each bucket's value and band (floored), the band the message shows at each
 * alert's reported bucket, and marked exactly where an alert was anomalous.
 */
export function chartModel(
  points: readonly BandPoint[],
  alerts: readonly AlertMarks[],
  granularityMs: number,
  thresholds?: ChartData["thresholds"],
): ChartData {
  const reported = new Map<number, AlertMarks>();
  for (const a of alerts) if (a.bucket !== null) reported.set(a.bucket, a);
  const rows = points.map((p): ChartRow => {
    const a = reported.get(p.t);
    const b = a ?? bandAtFloor(p, p.floor);
    const marked = alerts.some((x) => inRuns(x.runs, p.t, granularityMs));
    return [p.t, a ? a.value : p.value, b.expected, b.lower, b.upper, marked ? 1 : 0];
  });
  const chart: ChartData = { rows, granularityMs };
  if (thresholds) chart.thresholds = thresholds;
  return chart;
}

/** The chart of an alert of detector `d` from the series' buckets read over `w`. */
export function alertChart(
  m: MetricConfig,
  d: DetectorInstance,
  points: readonly Point[],
  w: ChartWindow,
  alert: Parameters<typeof marksOf>[0],
  liveFloor: number,
): ChartData {
  return chartModel(replayBands(m, d, points, w, liveFloor), [marksOf(alert)], m.granularityMs, thresholdsOf(d));
}
