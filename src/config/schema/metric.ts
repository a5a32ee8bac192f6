/** A metric: where its data comes from and the alerting policy it (or `defaults`) sets. */
import { z } from "zod";
import { parseDuration } from "../../model/duration.js";
import { calendar, holidays, muteWindow } from "./calendar.js";
import type { DetectorSchema } from "./detector.js";
import { channelList, columnZone, cron, duration, name, percentOrNumber, quoted, severity } from "./fields.js";

/** The alerting policy keys a metric may set, and that `defaults` may set for every metric. */
export function policyShape(detector: DetectorSchema) {
  return {
    schedule: cron('When the metric is evaluated. Default "*/5 * * * *".').optional(),
    notify: channelList("Channels that receive this metric's alerts. Default [] (none).").optional(),
    granularity: duration("Bucket size for a raw `query:` metric (structured sources set `source.granularity`). Default 1h.").optional(),
    lookback: duration(
      "History kept as the baseline. Default 14d, or 120 buckets where that is longer (120 days of daily buckets).",
    ).optional(),
    delay: duration("A bucket is judged once now >= its end + delay, giving late data time to land. Default 0.").optional(),
    query_timeout: duration(
      "The longest the metric's query may run on PostgreSQL before it is cancelled and the metric marked failing for this tick, so a slow metric delays no other for longer. Default 30s; at least 1s.",
    )
      .refine((v) => (parseDuration(v) ?? 0) >= 1000, { error: "query_timeout must be at least 1s" })
      .optional(),
    detectors: z
      .array(detector)
      .describe("Detectors run on every series; an alert needs one of them to fire. Omitted or [] = the default ensemble.")
      .optional(),
    direction: z
      .enum(["up", "down", "both"])
      .describe("Which deviations matter: up (spikes), down (drops) or both. Default both.")
      .optional(),
    min_change: z
      .union([percentOrNumber(), z.null(), z.literal("none")], {
        error: (iss) => `expected a percentage like 5%, a number, or none, got ${quoted(iss.input)}`,
      })
      .describe(
        'Ignore deviations smaller than this, however significant: "5%" = 5% of the expected value, a bare number = absolute units, none = off. Default none.',
      )
      .optional(),
    for: z.int().min(1).describe("Consecutive anomalous buckets before an alert fires (pending until then). Default 1.").optional(),
    severity: severity.describe("Severity of the alerts: info | warning | critical. Default warning.").optional(),
    repeat_every: z
      .union([duration(), z.null(), z.literal("none")], {
        error: (iss) => `expected a duration like 4h, or none, got ${quoted(iss.input)}`,
      })
      .describe("Remind while an alert is firing and not acknowledged; none = never. Default none.")
      .optional(),
    resolve_after: z.int().min(1).describe("Consecutive normal buckets before a firing alert resolves by itself. Default 2.").optional(),
    mute: z.array(muteWindow).describe("Recurring windows in which this metric's alerts are not sent.").optional(),
    calendar: calendar.optional(),
    holidays: holidays.optional(),
  };
}

const source = z
  .strictObject({
    table: z.string().min(1).describe("Table (or schema.table / view) holding the events."),
    time_column: z.string().min(1).describe("Time column the buckets are cut on (timestamptz, or timestamp/date with `timezone`)."),
    timezone: columnZone().optional(),
    value: z.string().min(1).describe('SQL aggregate per bucket, e.g. "count(DISTINCT user_id)" or "sum(revenue)".'),
    where: z.string().describe("SQL filter applied before aggregating, e.g. \"event = 'view'\".").optional(),
    granularity: duration(
      "Bucket size. Default 1h. Buckets of whole days (1d, 7d) are local days of the top-level `timezone` (23 or 25 hours at DST changes); weeks start on Monday.",
    ).optional(),
    split_by: z.array(z.string().min(1)).describe("Columns whose values split the metric into series, each alerted separately.").optional(),
    dimensions: z
      .array(z.string().min(1))
      .describe("Columns used for drill-down in the alert: the values that contribute most to a deviation.")
      .optional(),
  })
  .describe("Structured source: vigil writes the SQL and pushes the aggregation down to PostgreSQL.");

export function metricSchema(detector: DetectorSchema) {
  return z
    .strictObject({
      name: name("metric"),
      description: z.string().describe("Human description, shown in alerts and digests.").optional(),
      source: source.optional(),
      query: z
        .string()
        .min(1)
        .describe(
          "Raw SQL instead of `source`: $1, $2 = the window [from, to) as timestamptz; returns a time column, `value`, and optional text columns that become series keys.",
        )
        .optional(),
      runbook: z.string().describe("Link shown in every alert of this metric.").optional(),
      fill: z
        .enum(["zero", "none"])
        .describe(
          "What a bucket with no rows is: zero (counts and sums: no rows = 0) or none (missing data). Default zero when the source's `value` is a count(...) or sum(...), else none.",
        )
        .optional(),
      min_rows: z
        .int()
        .min(1)
        .describe(
          "A bucket backed by fewer rows is thin: neither judged nor learned from (means and ratios over a handful of rows are noise). Default: a fifth of the series' usual rows per bucket, for aggregates that are not counts or sums.",
        )
        .optional(),
      ...policyShape(detector),
    })
    .describe("A metric watched for anomalies. Exactly one of `source` or `query`.");
}

/** Policy inherited by every metric, plus the keys only `defaults` has. */
export function defaultsSchema(detector: DetectorSchema) {
  return z
    .strictObject({
      ...policyShape(detector),
      severity_channels: z
        .strictObject({
          info: channelList("Extra channels for info alerts.").optional(),
          warning: channelList("Extra channels for warning alerts.").optional(),
          critical: channelList("Extra channels for critical alerts.").optional(),
        })
        .describe("Channels added to every alert of a severity, on top of the metric's `notify`.")
        .optional(),
      storm_limit: z
        .int()
        .min(1)
        .describe("At most this many alert messages per channel per evaluation; the rest are grouped into one. Default 10.")
        .optional(),
    })
    .describe("Policy inherited by every metric (a metric's own value wins).")
    .optional();
}
