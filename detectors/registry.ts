/**
 * One registry maps a config `type` to its detector definition and parameter schema.
 * Adding a detector = one file in detectors/ + one line here.
 */
import { controlLimits } from "./control-limits.js";
import { ensemble } from "./ensemble.js";
import { missing } from "./missing.js";
import { movingAverage } from "./moving-average.js";
import { seasonal } from "./seasonal.js";
import { threshold } from "./threshold.js";
import type { DetectorDefinition } from "./types.js";
import { zscore } from "./zscore.js";

/** A detector of any parameter/state type (methods are bivariant, so each typed entry fits). */
export type AnyDetector = DetectorDefinition<unknown, unknown>;

const ALL: AnyDetector[] = [ensemble, controlLimits, movingAverage, seasonal, threshold, missing, zscore];

const BY_TYPE = new Map<string, AnyDetector>();
for (const d of ALL) {
  if (BY_TYPE.has(d.type)) throw new Error(`duplicate detector type ${d.type}`);
  BY_TYPE.set(d.type, d);
}

export function getDetector(type: string): AnyDetector | undefined {
  return BY_TYPE.get(type);
}

export function detectorTypes(): string[] {
  return [...BY_TYPE.keys()];
}

export function allDetectors(): readonly AnyDetector[] {
  return ALL;
}

/**
 * The detectors a metric gets when it names none: the default ensemble (detectors/ensemble.ts),
 * which is also what `vigil detect` runs. `zscore` stays registered for configs that name it.
 */
export const DEFAULT_DETECTORS: ReadonlyArray<{ type: string }> = [{ type: "ensemble" }];

/**
 * Fill the parameters `raw` leaves out whose default depends on the bucket size
 * (`def.timeDefaults`), when `raw.granularity_ms` gives it. Returns `raw`.
 */
export function withTimeDefaults(def: AnyDetector, raw: Record<string, unknown>): Record<string, unknown> {
  const g = raw.granularity_ms;
  if (!def.timeDefaults || typeof g !== "number" || !(g > 0)) return raw;
  for (const [key, value] of Object.entries(def.timeDefaults(g))) if (raw[key] === undefined) raw[key] = value;
  return raw;
}
