/**
 * `vigil backtest --chart`: one series (the first that alerted) with the band of the detector that
 * alerted most on it, and the buckets of that detector's alerts marked (not every bucket its verdict
 * called anomalous: `for` and the ensemble's incidents decide what alerts), from the same replay as
 * the alerts printed.
 */
import { writeFile } from "node:fs/promises";
import { renderAlertChart } from "../charts/alert-chart.js";
import type { MetricConfig } from "../config/types.js";
import { buildDetectors } from "../engine/build-detectors.js";
import { type AlertMarks, type BandPoint, chartModel, thresholdsOf } from "../engine/chart-data.js";
import type { ChartData } from "../model/notification.js";
import type { BacktestAlert, BacktestResult } from "./backtest/replay.js";

/** What the chart of a backtest draws, and a line saying so. */
export function backtestChart(m: MetricConfig, r: BacktestResult): { key: string; chart: ChartData; subtitle: string } {
  const key = r.alerts[0]?.series ?? [...r.traces.keys()][0] ?? "";
  const detectors = buildDetectors(m);
  const onSeries = r.alerts.filter((a) => a.series === key);
  const count = (family: string) => onSeries.filter((a) => a.detector === family).length;
  // most alerts; on a tie, the one that alerted first
  const families = [...new Set(onSeries.map((a) => a.detector))];
  const family = families.reduce((best, f) => (count(f) > count(best) ? f : best), families[0] ?? detectors[0]!.family);
  const i = Math.max(
    0,
    detectors.findIndex((d) => d.family === family),
  );
  const d = detectors[i]!;
  const points: BandPoint[] = (r.traces.get(key) ?? []).map((x) => ({ t: x.p.t, value: x.p.v, ...x.bands[i]!, floor: x.floor }));
  const alerts = onSeries.filter((a) => a.detector === d.family);
  const chart = chartModel(points, alerts.map(marksOf), m.granularityMs, thresholdsOf(d));
  const others = r.alerts.length - alerts.length;
  const subtitle = `backtest · ${d.family}: ${alerts.length} alert${alerts.length === 1 ? "" : "s"} marked${others > 0 ? ` (${others} more on other series or detectors)` : ""}`;
  return { key, chart, subtitle };
}

/** The alert as its line in the backtest's output reports it: the bucket it fired on. */
function marksOf(a: BacktestAlert): AlertMarks {
  return { bucket: a.firedAt, value: a.value, expected: a.expected, lower: a.lower, upper: a.upper, runs: a.anomalous };
}

export async function writeBacktestChart(path: string, m: MetricConfig, r: BacktestResult): Promise<void> {
  const { key, chart, subtitle } = backtestChart(m, r);
  await writeFile(path, renderAlertChart(chart, { title: key ? `${m.name} {${key}}` : m.name, subtitle }));
}
