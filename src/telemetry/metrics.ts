/** The Prometheus metrics of the contract, on a registry of their own (tests create many daemons). */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export class VigilMetrics {
  readonly registry = new Registry();
  readonly ticks = new Counter({
    name: "vigil_ticks_total",
    help: "Scheduler ticks run, by schedule and outcome.",
    labelNames: ["schedule", "outcome"] as const,
    registers: [this.registry],
  });
  readonly tickDuration = new Histogram({
    name: "vigil_tick_duration_seconds",
    help: "Wall time of one tick (fetch, detect, store, enqueue).",
    labelNames: ["schedule"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly ticksSkipped = new Counter({
    name: "vigil_ticks_skipped_total",
    help: "Runs skipped because the previous run of the same schedule was still going.",
    labelNames: ["schedule"] as const,
    registers: [this.registry],
  });
  readonly seriesEvaluated = new Counter({
    name: "vigil_series_evaluated_total",
    help: "Series evaluated (one per series per tick with new closed buckets).",
    registers: [this.registry],
  });
  readonly pointsEvaluated = new Counter({
    name: "vigil_points_evaluated_total",
    help: "Closed buckets judged by the detectors.",
    registers: [this.registry],
  });
  readonly anomalies = new Counter({
    name: "vigil_anomalies_total",
    help: "Anomalous buckets after the alert policy (direction, min_change).",
    labelNames: ["metric"] as const,
    registers: [this.registry],
  });
  readonly alerts = new Gauge({
    name: "vigil_alerts",
    help: "Alerts by state (resolved = resolved in the last day).",
    labelNames: ["state"] as const,
    registers: [this.registry],
  });
  readonly deliveries = new Counter({
    name: "vigil_deliveries_total",
    help: "Delivery attempts by channel and outcome (sent | retried | failed).",
    labelNames: ["channel", "outcome"] as const,
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: "vigil_delivery_queue_depth",
    help: "Deliveries waiting in the outbox.",
    registers: [this.registry],
  });
  readonly sourceErrors = new Counter({
    name: "vigil_source_errors_total",
    help: "Failed metric queries, by metric.",
    labelNames: ["metric"] as const,
    registers: [this.registry],
  });
  readonly configReloads = new Counter({
    name: "vigil_config_reloads_total",
    help: "Config reloads by outcome (success | invalid).",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });
  readonly isLeader = new Gauge({
    name: "vigil_is_leader",
    help: "1 when this replica holds the leader lock and runs ticks and deliveries.",
    registers: [this.registry],
  });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    // Make the labelled series visible from the start, so dashboards see zeros rather than gaps.
    for (const outcome of ["success", "invalid"]) this.configReloads.inc({ outcome }, 0);
    for (const state of ["pending", "firing", "acknowledged", "snoozed", "resolved"]) this.alerts.set({ state }, 0);
    this.isLeader.set(0);
    this.queueDepth.set(0);
  }
}
