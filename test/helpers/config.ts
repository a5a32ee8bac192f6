/** Resolved-config builders for tests that drive the engine without YAML. */
import type { MetricConfig, VigilConfig } from "../../src/config/types.js";

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

export function metric(overrides: Partial<MetricConfig> & { name: string }): MetricConfig {
  return {
    source: {
      table: "metric_data",
      time_column: "ts",
      value: "sum(v)",
      split_by: [],
      dimensions: [],
    },
    granularityMs: HOUR,
    lookbackMs: 7 * DAY,
    delayMs: 0,
    detectors: [{ type: "zscore", window: 48, k: 4, min_points: 24 }],
    direction: "both",
    minChange: null,
    for: 1,
    severity: "warning",
    repeatEveryMs: null,
    resolveAfter: 2,
    notify: ["out"],
    schedule: "*/5 * * * *",
    mute: [],
    fill: "none",
    minRows: null,
    rowCounts: false,
    calendar: null,
    ...overrides,
  };
}

export function vigilConfig(metrics: MetricConfig[], overrides: Partial<VigilConfig> = {}): VigilConfig {
  return {
    file: "test.yaml",
    database: {},
    timezone: "UTC",
    http: { port: 0, host: "127.0.0.1" },
    channels: { out: { type: "console", send_resolved: true } },
    defaults: { schedule: "*/5 * * * *", notify: ["out"], severity_channels: {}, storm_limit: 10 },
    metrics,
    experiments: [],
    digest: [],
    mute: [],
    retentionMs: 90 * 86_400_000,
    ...overrides,
  };
}

/** Metrics that share one scan of `table` (split by `series`), one per value expression, judged by a z-score: m0, m1... */
export function zscoreMetricsOn(table: string, values: string[]): MetricConfig[] {
  return values.map((value, i) =>
    metric({
      name: `m${i}`,
      source: { table, time_column: "ts", value, split_by: ["series"], dimensions: [] },
      detectors: [{ type: "zscore", window: 24, k: 3, min_points: 12 }],
      // 72 hourly buckets: the history load is one pass (one chunk), so a tick is one query per table
      lookbackMs: 3 * 24 * HOUR,
    }),
  );
}
