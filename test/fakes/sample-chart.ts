/** A two-week hourly series with a daily cycle and a drop at the end: the chart every test draws. */
import type { ChartData, ChartRow } from "../../src/model/notification.js";

const HOUR = 3_600_000;

export function sampleChart(n = 14 * 24, opts: { gaps?: boolean; start?: number } = {}): ChartData {
  const t0 = opts.start ?? Date.UTC(2026, 0, 5);
  const rows: ChartRow[] = [];
  for (let i = 0; i < n; i++) {
    const e = 1000 + 300 * Math.sin((2 * Math.PI * i) / 24);
    const bad = i >= n - 4 ? 1 : 0;
    const v = opts.gaps && i % 50 === 7 ? null : bad ? e * 0.45 : e + 30 * Math.sin(i * 1.7);
    rows.push([t0 + i * HOUR, v, e, e - 120, e + 120, bad]);
  }
  return { rows, granularityMs: HOUR, thresholds: { min: 400 } };
}
