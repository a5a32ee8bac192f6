/** Draws a backtest's first series with its expected band and the buckets that were anomalous. */
import { writeFile } from "node:fs/promises";
import type { BacktestResult } from "../backtest.js";
import { renderAlertChart } from "../charts/alert-chart.js";
import type { MetricConfig } from "../config/types.js";
import type { ChartRow } from "../delivery/notification.js";

export async function writeBacktestChart(path: string, m: MetricConfig, r: BacktestResult): Promise<void> {
  const [key, trace] = [...r.traces.entries()][0] ?? ["", []];
  const rows: ChartRow[] = trace.map((x) => [x.p.t, x.p.v, x.expected, x.lower, x.upper, x.anomalous ? 1 : 0]);
  const title = key ? `${m.name} {${key}}` : m.name;
  await writeFile(path, renderAlertChart({ rows, granularityMs: m.granularityMs }, { title, subtitle: `backtest: ${r.alerts.length} alerts` }));
}
