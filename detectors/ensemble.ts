/**
 * `ensemble`: the default detector (ensemble-core.ts: what it does and how), with its parameter
 * schema. The schema lives apart from the step code so that the detector thread of `vigil detect`
 * loads the step code without the schema library.
 */
import { z } from "zod";
import { ensembleCore } from "./ensemble-core.js";
import type { EnsembleParams, EnsembleState } from "./ensemble-layout.js";
import { LAZY_WINDOW_MAX } from "./lazy-window.js";
import { durationParam, granularityParam, timezoneParam } from "./time.js";
import type { DetectorDefinition, SameParams } from "./types.js";

const params = z.object({
  window: z
    .number()
    .int()
    .min(10)
    .max(LAZY_WINDOW_MAX)
    .default(1000)
    .describe(
      "Points in the robust rolling baseline (median and MAD). Default 1000, at most 180 days of buckets when the bucket size is known.",
    ),
  history: z
    .number()
    .int()
    .min(10)
    .default(1000)
    .describe(
      "Points of score history each view is compared with: an alert needs something not seen in this long. Default 1000, at most 180 days of buckets when the bucket size is known.",
    ),
  warmup: z
    .number()
    .int()
    .min(10)
    .default(72)
    .describe(
      "Points of history needed before the first alert (72 = three days of hourly buckets, six hours of 5-minute ones; 28 at daily buckets).",
    ),
  novelty: z
    .number()
    .min(1)
    .default(1.1)
    .describe("How much a view must exceed its largest recent value to alert (1.1 = 10% beyond anything in `history`)."),
  novelty_point: z.number().min(1).default(1.2).describe("The same for single points (spikes), which are noisier than the averaged views."),
  refractory: z
    .number()
    .int()
    .min(0)
    .default(150)
    .describe(
      "Points without a new alert after an alert. Default 150; when the bucket size is known, a day of buckets (at least 7, at most four weeks), 150 at most.",
    ),
  seasonal: z.boolean().default(true).describe("Include the seasonal view (daily/weekly pattern detected from the data)."),
  missing_after: durationParam(
    "Flag a run of empty buckets longer than this, counting only times at which the series normally has data (and data resuming after a gap this long, when no earlier gap was as long). Default 1h, or one bucket when buckets are longer.",
    "1h",
  ),
  granularity_ms: granularityParam,
  timezone: timezoneParam,
});

const schemaYields: SameParams<z.infer<typeof params>, EnsembleParams> = true;
void schemaYields;

const DAY_MS = 86_400_000;

/**
 * The point-count defaults (window and history 1,000, warm-up 72, refractory 150) were made for
 * 5-minute to hourly buckets, where they span 3.5 to 42 days, 6 hours to 3 days, and 12.5 hours to
 * 6 days. At coarser buckets each is capped at a span of time: a daily metric is compared with its
 * last 180 days (not three years), warms up in four weeks (not ten), and after an alert is quiet
 * for a week, not five months (a second incident in that time would also raise the bar for the
 * next one). The quiet time after an alert is a day from hourly buckets on (at least 7 buckets, at
 * most four weeks): an incident that goes on keeps its alert open anyway (`ongoing`), so the quiet
 * time only spaces out new ones, and six days of it at hourly buckets hid the next day's incident.
 * Window, history and warm-up are the plain defaults up to hourly buckets, the quiet time up to
 * 5-minute ones (NAB's series are scored without a bucket size, on the plain defaults).
 */
export function ensembleTimeDefaults(
  granularityMs: number,
): Record<"window" | "history" | "warmup" | "refractory" | "missing_after", number> {
  const span = (days: number) => Math.floor((days * DAY_MS) / granularityMs);
  return {
    // seconds: a silence alerts once it outlasts an hour and one bucket (one missing day of daily data is a late load or a holiday)
    missing_after: Math.max(3600, granularityMs / 1000),
    window: Math.max(10, Math.min(1000, span(180))),
    history: Math.max(10, Math.min(1000, span(180))),
    warmup: Math.max(10, Math.min(72, Math.max(14, span(28)))),
    refractory: Math.min(150, Math.max(span(1), Math.min(7, span(28)))),
  };
}

export const ensemble: DetectorDefinition<EnsembleParams, EnsembleState> = { ...ensembleCore, params, timeDefaults: ensembleTimeDefaults };
