/** When a metric is judged: its calendar, holidays and mute windows. */
import { z } from "zod";
import { cron, duration, quoted } from "./fields.js";

const HOURS_TEXT = /^\s*([01]?\d|2[0-4]):([0-5]\d)\s*-\s*([01]?\d|2[0-4]):([0-5]\d)\s*$/;
const DATE_TEXT = /^\d{4}-\d{2}-\d{2}$/;
export const DAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;

export const calendar = z
  .union(
    [
      z.enum(["weekdays", "weekends", "always"]),
      z.strictObject({
        days: z
          .array(z.enum(DAY_NAMES, { error: (iss) => `expected a day name (${DAY_NAMES.join(", ")}), got ${quoted(iss.input)}` }))
          .min(1)
          .describe("Days on which buckets are judged. Default every day.")
          .optional(),
        hours: z
          .string()
          .regex(HOURS_TEXT, { error: (iss) => `expected local hours like "08:00-20:00", got ${quoted(iss.input)}` })
          .describe(
            'Local hours in which buckets are judged, e.g. "08:00-20:00" ("22:00-06:00" wraps midnight); buckets of a day or longer ignore it. Default all day.',
          )
          .optional(),
      }),
    ],
    { error: (iss) => `expected weekdays, weekends, always or {days: [...], hours: "HH:MM-HH:MM"}, got ${quoted(iss.input)}` },
  )
  .describe(
    "When the metric is expected to have data, in the top-level `timezone`: buckets outside are neither judged nor counted as missing. weekdays | weekends | always | {days, hours}. Default always.",
  );

const isoDate = z.string().regex(DATE_TEXT, { error: (iss) => `expected a date like 2026-12-25, got ${quoted(iss.input)}` });

export const holidays = z
  .union(
    [
      z.array(isoDate),
      z.strictObject({
        country: z
          .string()
          .min(2)
          .describe("ISO 3166 country code whose public holidays are left out (date-holidays library), e.g. US, DE.")
          .optional(),
        state: z.string().min(1).describe("State or province code within `country`, e.g. BY for Bavaria.").optional(),
        dates: z.array(isoDate).describe("Extra dates left out, YYYY-MM-DD in the top-level `timezone`.").optional(),
      }),
    ],
    { error: (iss) => `expected a list of dates or {country: XX, state?: YY, dates?: [...]}, got ${quoted(iss.input)}` },
  )
  .describe("Days whose buckets are neither judged nor counted as missing: a list of dates (YYYY-MM-DD) or {country, state, dates}.");

export const muteWindow = z
  .strictObject({
    cron: cron("When the mute window starts."),
    duration: duration("How long the window lasts."),
  })
  .describe("A recurring maintenance window: no notifications are sent for anomalies inside it (alerts still open).");
