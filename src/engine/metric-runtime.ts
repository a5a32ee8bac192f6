/** Per-metric memory between ticks: the detectors and series, how far the metric is judged, and what is derived from its config once. */
import type { MetricConfig } from "../config/types.js";
import { fingerprintOf } from "../model/alert.js";
import type { LifecyclePolicy } from "../model/lifecycle.js";
import { nameBucket } from "../name-hash.js";
import { scanKey } from "../sources/fetch-buckets.js";
import { sharedDiscriminator } from "../sources/long-format.js";
import { buildDetectors } from "./build-detectors.js";
import type { JudgeRules } from "./judge-step.js";
import { MetricPresence } from "./metric-presence.js";
import type { SeriesRuntime } from "./series-runtime.js";
import { quietBuckets } from "./watermarks.js";

export interface MetricRuntime extends JudgeRules {
  signature: string;
  series: Map<string, SeriesRuntime>;
  /** Start of the last judged bucket; null until the first evaluation. */
  watermark: number | null;
  /** The latest watermark known to be stored (−∞: none). */
  stored: number;
  /** The bucket phase at which a quiet watermark is written, so that a tick writes a slice of them. */
  quietPhase: number;
  /** Buckets up to here warm the detectors up and are not judged (set on first sight). */
  warmUntil: number | null;
  /** Still loading history (first sight), possibly over several passes. */
  loading: boolean;
  /** `scanKey` of the config: metrics with equal keys share a scan. */
  scanKey: string | null;
  /** In a long-format scan, its rows are its own (one per series); other metrics of a scan share theirs. */
  ownRows: boolean;
  /** The first bucket its detectors learned (the history load's): where an alert's chart replays them from. */
  stateFrom: number;
  /** The metric's meta-alert fingerprints. */
  fingerprints: { source: string; noData: string };
  /** When any of its series normally has data: `no_data` speaks only of those times. */
  presence: MetricPresence;
}

export function policyOf(m: MetricConfig): LifecyclePolicy {
  return { for: m.for, resolveAfter: m.resolveAfter, severity: m.severity, repeatEveryMs: m.repeatEveryMs };
}

function newRuntime(m: MetricConfig): MetricRuntime {
  return {
    config: m,
    signature: JSON.stringify(m),
    detectors: buildDetectors(m),
    series: new Map(),
    watermark: null,
    stored: Number.NEGATIVE_INFINITY,
    quietPhase: nameBucket(m.name, quietBuckets(m.granularityMs)),
    warmUntil: null,
    loading: false,
    scanKey: scanKey(m),
    ownRows: sharedDiscriminator(m) !== null,
    policy: policyOf(m),
    stateFrom: Number.NEGATIVE_INFINITY,
    fingerprints: { source: fingerprintOf(m.name, "", "source"), noData: fingerprintOf(m.name, "", "no_data") },
    presence: new MetricPresence(m.granularityMs),
  };
}

/** The runtimes by metric name; a metric whose runtime is dropped rebuilds it from stored history at its next tick. */
export class MetricRuntimes {
  private readonly byName = new Map<string, MetricRuntime>();

  get(name: string): MetricRuntime | undefined {
    return this.byName.get(name);
  }

  /** The metric's runtime, made on first sight. */
  of(m: MetricConfig): MetricRuntime {
    let rt = this.byName.get(m.name);
    if (!rt) {
      rt = newRuntime(m);
      this.byName.set(m.name, rt);
    }
    return rt;
  }

  drop(name: string): void {
    this.byName.delete(name);
  }

  /** Keep the runtimes of these metrics whose config is unchanged, drop the others. */
  keepOnly(metrics: readonly MetricConfig[]): void {
    const names = new Set(metrics.map((m) => m.name));
    for (const name of [...this.byName.keys()]) if (!names.has(name)) this.byName.delete(name);
    for (const m of metrics) {
      const rt = this.byName.get(m.name);
      if (rt && rt.signature !== JSON.stringify(m)) this.byName.delete(m.name);
      else if (rt) rt.config = m;
    }
  }
}
