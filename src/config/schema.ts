/**
 * The one schema of vigil.yaml as the operator writes it (before resolve-config.ts merges defaults);
 * every option has a `.describe()` because config/vigil.schema.json, what editors show, is generated from it.
 */
import { z } from "zod";
import { parseDuration } from "../model/duration.js";
import { muteWindow } from "./schema/calendar.js";
import { channel, digest } from "./schema/channels.js";
import { buildDetectorSchema } from "./schema/detector.js";
import { experiment } from "./schema/experiment.js";
import { duration, NAME_TEXT, quoted } from "./schema/fields.js";
import { defaultsSchema, metricSchema } from "./schema/metric.js";
import { serviceShape } from "./schema/service.js";

export function buildConfigSchema() {
  const detector = buildDetectorSchema();
  return z
    .strictObject({
      ...serviceShape(),
      channels: z
        .record(
          z
            .string()
            .regex(NAME_TEXT, { error: (iss) => `channel names may use letters, digits and _ . : - only, got ${quoted(iss.input)}` }),
          channel,
        )
        .describe("Channel name -> where alerts go.")
        .optional(),
      defaults: defaultsSchema(detector),
      metrics: z.array(metricSchema(detector)).describe("The metrics to watch.").optional(),
      experiments: z.array(experiment).describe("A/B experiments to guard.").optional(),
      digest: z.array(digest).describe("Periodic digests.").optional(),
      mute: z.array(muteWindow).describe("Recurring windows in which no alert of any metric is sent.").optional(),
      retention: duration(
        "Resolved alerts (with their history), the audit log, sent or dead notifications and expired silences older than this are deleted, hourly. Default 90d; at least 1d.",
      )
        .refine((v) => (parseDuration(v) ?? 0) >= 86_400_000, { error: "retention must be at least 1d" })
        .optional(),
    })
    .describe("vigil configuration: anomaly detection and alerting for product metrics and A/B experiment guardrails.");
}

export type ConfigSchema = ReturnType<typeof buildConfigSchema>;
/** The file as written (validated, not yet resolved). */
export type RawConfig = z.output<ConfigSchema>;

export const configSchema: ConfigSchema = buildConfigSchema();
