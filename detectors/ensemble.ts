/**
 * `ensemble`: the default detector (ensemble-core.ts: what it does and how), with its parameter
 * schema. The schema lives apart from the step code so that the detector thread of `vigil detect`
 * loads the step code without the schema library.
 */
import { z } from "zod";
import { type EnsembleParams, type EnsembleState, ensembleCore } from "./ensemble-core.js";
import { LAZY_WINDOW_MAX } from "./lazy-window.js";
import { durationParam, granularityParam } from "./time.js";
import type { DetectorDefinition, SameParams } from "./types.js";

const params = z.object({
  window: z.number().int().min(10).max(LAZY_WINDOW_MAX).default(1000).describe("Points in the robust rolling baseline (median and MAD)."),
  history: z
    .number()
    .int()
    .min(10)
    .default(1000)
    .describe("Points of score history each view is compared with: an alert needs something not seen in this long."),
  warmup: z.number().int().min(10).default(72).describe("Points of history needed before the first alert (72 = three days of hourly buckets, six hours of 5-minute ones)."),
  novelty: z
    .number()
    .min(1)
    .default(1.1)
    .describe("How much a view must exceed its largest recent value to alert (1.1 = 10% beyond anything in `history`)."),
  novelty_point: z
    .number()
    .min(1)
    .default(1.2)
    .describe("The same for single points (spikes), which are noisier than the averaged views."),
  refractory: z.number().int().min(0).default(150).describe("Points without a new alert after an alert."),
  seasonal: z.boolean().default(true).describe("Include the seasonal view (daily/weekly pattern detected from the data)."),
  missing_after: durationParam("Flag a run of empty buckets longer than this (and data resuming after a gap this long, when no earlier gap was as long).", "1h"),
  granularity_ms: granularityParam,
});

const schemaYields: SameParams<z.infer<typeof params>, EnsembleParams> = true;
void schemaYields;

export const ensemble: DetectorDefinition<EnsembleParams, EnsembleState> = { ...ensembleCore, params };
