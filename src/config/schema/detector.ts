import { z } from "zod";
import { type AnyDetector, allDetectors } from "../../../detectors/registry.js";

/**
 * A detector's parameters as the config checks them. Those whose default depends on the bucket size
 * (`timeDefaults`) are checked but left out when not given: the engine fills them once it knows the
 * metric's granularity, so `{type: ensemble}` and no `detectors:` at all mean the same.
 */
function configShape(d: AnyDetector): z.ZodRawShape {
  if (!d.timeDefaults) return d.params.shape;
  const shape: Record<string, z.core.$ZodType> = { ...d.params.shape };
  for (const key of Object.keys(d.timeDefaults(3_600_000))) {
    const field = shape[key];
    if (field instanceof z.ZodDefault) shape[key] = (field.unwrap() as z.ZodType).optional().describe(field.description ?? key);
  }
  return shape;
}

/** One detector entry: `type` picks the detector, the other keys are its parameters, checked by its own schema. */
export function buildDetectorSchema() {
  const options = allDetectors().map((d) =>
    // `type` first so editors list it first; strict so a misspelt parameter is an error, not ignored.
    z
      .strictObject({ type: z.literal(d.type).describe(d.params.description ?? `The ${d.type} detector.`), ...configShape(d) })
      .describe(d.params.description ?? `The ${d.type} detector and its parameters.`),
  );
  const [first, ...rest] = options;
  if (!first) throw new Error("the detector registry is empty");
  return z.discriminatedUnion("type", [first, ...rest]).describe("A detector: `type` plus that detector's parameters.");
}

export type DetectorSchema = ReturnType<typeof buildDetectorSchema>;
