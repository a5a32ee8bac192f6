/**
 * The shape the scale benches share: metrics of 5-minute buckets, `PER_TABLE` of them reading one
 * table (each `sum(cK)` of its own column), every one split by `region` into `REGIONS` series.
 */
import type { DetectorConfig, MetricConfig, VigilConfig } from "../src/config/types.js";
// the resolved-config builders the tests use: every field a resolved metric has, overridable
import { metric, vigilConfig } from "../test/helpers/config.js";

export const MIN5 = 300_000;
export const DAY = 86_400_000;
export const PER_TABLE = 100;
export const REGIONS = 10;
/** moving_average median_mad: a real detector whose cost is small, so that the engine's own shows. */
export const CHEAP_DETECTOR: DetectorConfig[] = [{ type: "moving_average", method: "median_mad", window: 30, k: 6 }];
/** A threshold that never fires: no state, next to no work per point, so a tick costs what the engine and the driver cost. */
export const FLOOR_DETECTOR: DetectorConfig[] = [{ type: "threshold", max: 1e12 }];

/** Metrics for `series` series (series / REGIONS metrics) on tables `scale_t0`, `scale_t1`... */
export function scaleMetrics(series: number, detectors: DetectorConfig[], lookbackMs: number, notify: string[]): MetricConfig[] {
  return Array.from({ length: series / REGIONS }, (_, i) =>
    metric({
      name: `m${String(i).padStart(5, "0")}`,
      source: {
        table: `scale_t${Math.floor(i / PER_TABLE)}`,
        time_column: "ts",
        value: `sum(c${i % PER_TABLE})`,
        split_by: ["region"],
        dimensions: [],
      },
      granularityMs: MIN5,
      lookbackMs,
      detectors,
      notify,
    }),
  );
}

/** The config around them; `hook` = a webhook channel every metric notifies, or none. */
export function scaleConfig(metrics: MetricConfig[], hook: string | null): VigilConfig {
  return vigilConfig(metrics, {
    file: "scale-bench",
    channels: hook === null ? {} : { hook: { type: "webhook", url: hook, headers: {}, send_resolved: false } },
    defaults: { schedule: "*/5 * * * *", notify: hook === null ? [] : ["hook"], severity_channels: {}, storm_limit: 1000 },
  });
}
