/** A metric's detectors as configured (or the defaults), their parameters resolved against the metric. */
import { DEFAULT_DETECTORS, getDetector, withTimeDefaults } from "../../detectors/registry.js";
import type { MetricConfig } from "../config/types.js";
import { detectorZone } from "../sources/bucket-clock.js";
import type { DetectorInstance } from "./series-runtime.js";

export function buildDetectors(m: MetricConfig): DetectorInstance[] {
  const configured = m.detectors.length > 0 ? m.detectors : DEFAULT_DETECTORS;
  const seen = new Map<string, number>();
  return configured.map((dc) => {
    const def = getDetector(dc.type);
    if (!def) throw new Error(`metric ${m.name}: unknown detector type '${dc.type}'`);
    const { type: _type, ...rest } = dc;
    const raw: Record<string, unknown> = rest;
    // Detectors that reason about time get the metric's bucket size unless the config says otherwise.
    if ("granularity_ms" in def.params.shape && raw.granularity_ms === undefined) raw.granularity_ms = m.granularityMs;
    // ... and the zone of the wall clock their daily and weekly slots follow
    if ("timezone" in def.params.shape && raw.timezone === undefined) raw.timezone = detectorZone(m);
    const params = def.params.parse(withTimeDefaults(def, raw));
    const n = (seen.get(dc.type) ?? 0) + 1;
    seen.set(dc.type, n);
    const family = def.family ?? dc.type;
    return { family: n === 1 ? family : `${family}#${n}`, type: dc.type, def, params };
  });
}
