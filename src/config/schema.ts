/**
 * The one schema of vigil.yaml, as written by the operator (before defaults are merged and
 * durations converted; see resolve-config.ts). Every option is documented with `.describe()`:
 * config/vigil.schema.json is generated from this file, so the descriptions are what editors show.
 * Detector entries are a discriminated union built from the detector registry, so a new detector
 * type is known here (and in the JSON Schema) as soon as it is registered.
 */
import { validate as validateCron } from "node-cron";
import { z } from "zod";
import { zoneProblem } from "../../detectors/local-time.js";
import { type AnyDetector, allDetectors } from "../../detectors/registry.js";
import { parseDuration } from "../model/duration.js";

const DURATION_TEXT = /^\s*(?:(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+|\d+(?:\.\d+)?)\s*$/;
const PERCENT_TEXT = /^\s*\d+(?:\.\d+)?\s*%\s*$/;
/** Names travel through chat commands (`silence METRIC/SERIES`) and URLs: no spaces, no slashes. */
const NAME_TEXT = /^[A-Za-z0-9_][A-Za-z0-9_.:-]*$/;

function quoted(v: unknown): string {
  return typeof v === "string" ? `'${v}'` : (JSON.stringify(v) ?? String(v));
}

function duration(description?: string) {
  const error = (iss: { input?: unknown }) => `expected a duration like 90s, 5m, 1h30m, 14d, got ${quoted(iss.input)}`;
  const schema = z.union([z.number().min(0), z.string().regex(DURATION_TEXT, { error })], { error });
  const what = "A duration: 90s, 5m, 1h30m, 14d, 2w (a bare number is seconds).";
  return schema.describe(description ? `${description} ${what}` : what);
}

/** `"5%"` (relative) or a bare number (meaning depends on the field). */
function percentOrNumber(description?: string) {
  const error = (iss: { input?: unknown }) => `expected a percentage like 5% or a number, got ${quoted(iss.input)}`;
  const schema = z.union([z.number().min(0), z.string().regex(PERCENT_TEXT, { error })], { error });
  return description ? schema.describe(description) : schema;
}

/** Field-local cron check so the error sits on the expression itself. */
export function cronProblem(expr: string): string | undefined {
  const fields = expr.trim().split(/\s+/).filter(Boolean).length;
  if (fields !== 5 && fields !== 6) {
    return `invalid cron expression '${expr}': expected 5 fields (minute hour day month weekday) or 6 (with seconds first), got ${fields}`;
  }
  if (!validateCron(expr)) return `invalid cron expression '${expr}'`;
  return undefined;
}

function cron(description: string) {
  return z
    .string()
    .check((ctx) => {
      const msg = cronProblem(ctx.value);
      if (msg) ctx.issues.push({ code: "custom", message: msg, input: ctx.value });
    })
    .describe(`${description} node-cron syntax, 5 fields or 6 with seconds first, evaluated in \`timezone\`.`);
}

/** A time column's zone, for `timestamp without time zone` columns. */
const columnZone = () =>
  z
    .string()
    .check((ctx) => {
      const msg = zoneProblem(ctx.value);
      if (msg) ctx.issues.push({ code: "custom", message: msg, input: ctx.value });
    })
    .describe(
      "IANA zone the time column's values are in when it is a `timestamp without time zone` (or date) column. Default UTC. Not needed for timestamptz.",
    );

const channelList = (description: string) => z.array(z.string().min(1)).describe(`${description} Names of entries in \`channels\`.`);

const name = (what: string) =>
  z
    .string()
    .regex(NAME_TEXT, { error: (iss) => `${what} names may use letters, digits and _ . : - only, got ${quoted(iss.input)}` })
    .describe(`Unique ${what} name (letters, digits, _ . : -); used in alerts, commands and metrics labels.`);

const severity = z.enum(["info", "warning", "critical"]);

const HOURS_TEXT = /^\s*([01]?\d|2[0-4]):([0-5]\d)\s*-\s*([01]?\d|2[0-4]):([0-5]\d)\s*$/;
const DATE_TEXT = /^\d{4}-\d{2}-\d{2}$/;
export const DAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;

const calendar = z
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

const holidays = z
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

const muteWindow = z
  .strictObject({
    cron: cron("When the mute window starts."),
    duration: duration("How long the window lasts."),
  })
  .describe("A recurring maintenance window: no notifications are sent for anomalies inside it (alerts still open).");

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

/** The alerting policy keys a metric may set, and that `defaults` may set for every metric. */
function policyShape(detector: ReturnType<typeof buildDetectorSchema>) {
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

function metricSchema(detector: ReturnType<typeof buildDetectorSchema>) {
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

const eventsSource = z
  .strictObject({
    table: z.string().min(1).describe("Table of per-unit events."),
    unit_column: z.string().min(1).describe("Column joining events to assignments (e.g. user_id)."),
    time_column: z.string().min(1).describe("Event time; only events at or after the unit's assignment count."),
    timezone: columnZone().optional(),
    value: z
      .string()
      .min(1)
      .describe('SQL expression per event, aggregated per unit, e.g. "skipped::int". Default "1" for count and ratio.')
      .optional(),
    where: z.string().describe("SQL filter on the events.").optional(),
  })
  .describe("Where the per-unit values of this guardrail come from.");

const guardrail = z
  .strictObject({
    name: name("guardrail"),
    description: z.string().describe("Human description.").optional(),
    events: eventsSource,
    aggregate: z
      .enum(["sum", "count", "mean", "any", "ratio"])
      .describe("How events roll up per unit: sum | count | mean | any (0/1) | ratio (numerator / denominator). Default mean.")
      .optional(),
    numerator: z.string().min(1).describe("For aggregate: ratio — SQL expression summed per unit on top.").optional(),
    denominator: z.string().min(1).describe("For aggregate: ratio — SQL expression summed per unit below.").optional(),
    bad_direction: z.enum(["increase", "decrease"]).describe("Which change of this metric is harm."),
    margin: percentOrNumber(
      'Non-inferiority margin relative to control: "2%" or 0.02. A change smaller than this is not harm. Default 0.',
    ).optional(),
    winsorize: z
      .union([z.number().gt(0).max(1), z.null()], {
        error: (iss) => `expected a quantile in (0, 1] such as 0.999, or null, got ${quoted(iss.input)}`,
      })
      .describe(
        "Cap per-unit values at this quantile before testing (e.g. 0.999); null = no capping. The quantile is taken over the units that have a value (for mean, units without events have none and stay out), and only values above it change. Not applied to the `any` aggregate (0/1 per unit). Default null.",
      )
      .optional(),
    winsorize_over: z
      .enum(["all", "nonzero"])
      .describe(
        "Which per-unit values the winsorize quantile is taken over: all (every unit with a value) or nonzero (as Statsig does: the quantile of the non-zero values, zeros stay zero). Use nonzero when most units have 0 (sum or count of a rare event), where the quantile over all would cap at or near 0. Only with winsorize. Default all.",
      )
      .optional(),
  })
  .describe("An experiment metric compared between variants.");

const isoTime = (description: string) =>
  z
    .string()
    .refine((s) => !Number.isNaN(Date.parse(s)), { error: (iss) => `expected an ISO-8601 time, got ${quoted(iss.input)}` })
    .describe(`${description} ISO-8601, e.g. 2025-03-01 or 2025-03-01T12:00:00Z.`);

const experiment = z
  .strictObject({
    name: name("experiment"),
    description: z.string().describe("Human description.").optional(),
    variants: z
      .record(z.string().min(1), z.number().min(0).max(1))
      .describe("Variant name -> expected share of units (summing to 1); checked for sample ratio mismatch."),
    control: z.string().min(1).describe("The variant the others are compared with; one of `variants`."),
    assignments: z
      .strictObject({
        table: z.string().min(1).describe("Table of unit -> variant assignments."),
        unit_column: z.string().min(1).describe("Unit id column (e.g. user_id)."),
        variant_column: z.string().min(1).describe("Column holding the variant name."),
        time_column: z.string().min(1).describe("When the unit was assigned."),
        timezone: columnZone().optional(),
        where: z.string().describe("SQL filter selecting this experiment's rows.").optional(),
      })
      .describe("Where assignments are read from."),
    guardrails: z.array(guardrail).describe("Metrics that must not get worse; harm raises an alert.").optional(),
    goals: z.array(guardrail).describe("Metrics the experiment hopes to move; reported, never alerted on.").optional(),
    alpha: z.number().gt(0).lt(1).describe("Significance level of the guardrail tests. Default 0.05.").optional(),
    srm_alpha: z.number().gt(0).lt(1).describe("Significance level of the sample ratio mismatch check. Default 0.001.").optional(),
    min_units: z.int().min(1).describe("Units per variant before anything is tested. Default 1000.").optional(),
    start: isoTime("Analyse only assignments from this time.").optional(),
    end: isoTime("Analyse only assignments before this time.").optional(),
    schedule: cron('When the experiment is analysed. Default "0 * * * *".').optional(),
    notify: channelList("Channels for this experiment's alerts. Default `defaults.notify`.").optional(),
  })
  .describe("An A/B experiment whose guardrails (and sample ratio) are watched.");

const digest = z
  .strictObject({
    schedule: cron('When the digest is sent. Default "0 9 * * *".').optional(),
    notify: channelList("Channels that receive the digest. Default `defaults.notify`.").optional(),
    metrics: z.array(z.string().min(1)).describe("Metrics summarised. Default: all metrics.").optional(),
    experiments: z.boolean().describe("Include the experiments' status. Default true.").optional(),
  })
  .describe("A periodic summary of yesterday's metrics, open alerts and experiments.");

const sendResolved = z.boolean().describe("Also send a message when an alert resolves. Default true.").optional();

const channel = z
  .discriminatedUnion("type", [
    z
      .strictObject({ type: z.literal("console").describe("Print alerts to standard output."), send_resolved: sendResolved })
      .describe("Standard output."),
    z
      .strictObject({
        type: z.literal("telegram").describe("A Telegram chat (needs the top-level `telegram` section)."),
        chat_id: z
          .union([z.string().min(1), z.int()], { error: (iss) => `expected a chat id, got ${quoted(iss.input)}` })
          .describe('Chat id, e.g. "-1001234567890" for a group.'),
        send_resolved: sendResolved,
      })
      .describe("A Telegram chat."),
    z
      .strictObject({
        type: z.literal("slack").describe("A Slack channel (needs the top-level `slack` section)."),
        channel: z.string().min(1).describe('Channel id, e.g. "C0123ABC".'),
        send_resolved: sendResolved,
      })
      .describe("A Slack channel."),
    z
      .strictObject({
        type: z.literal("webhook").describe("HTTP POST of one JSON object per alert state change."),
        url: z
          .url({ protocol: /^https?$/, error: (iss) => `expected an http(s) URL, got ${quoted(iss.input)}` })
          .describe("Where to POST."),
        headers: z.record(z.string(), z.string()).describe("Extra request headers (e.g. Authorization).").optional(),
        send_resolved: sendResolved,
      })
      .describe("A generic webhook."),
  ])
  .describe("Where alerts go.");

export function buildConfigSchema() {
  const detector = buildDetectorSchema();
  return z
    .strictObject({
      database: z
        .strictObject({
          url: z
            .string()
            .refine((s) => s.trim() === "" || /^postgres(?:ql)?:\/\//.test(s.trim()), {
              error: "must be a postgres:// or postgresql:// URL (or empty for the embedded PGlite)",
            })
            .describe(
              "PostgreSQL holding the metric tables. Empty = $DATABASE_URL, and when that is unset too, embedded PGlite under .vigil/.",
            )
            .optional(),
          state_url: z
            .string()
            .refine((s) => s.trim() === "" || /^postgres(?:ql)?:\/\//.test(s.trim()), {
              error: "must be a postgres:// or postgresql:// URL (or empty)",
            })
            .describe("Where alert state lives (schema `vigil`) if not in `url`. Empty = $VIGIL_STATE_URL, else `url`.")
            .optional(),
        })
        .describe("Database connections.")
        .optional(),
      timezone: z
        .string()
        .check((ctx) => {
          const msg = zoneProblem(ctx.value);
          if (msg) ctx.issues.push({ code: "custom", message: msg, input: ctx.value });
        })
        .describe('IANA time zone for schedules, digests and "yesterday". Default UTC.')
        .optional(),
      http: z
        .strictObject({
          port: z.int().min(0).max(65535).describe("Port of /healthz, /readyz and /metrics. Default 9464; 0 = any free port.").optional(),
          host: z.string().min(1).describe("Interface to listen on. Default 0.0.0.0.").optional(),
        })
        .describe("The HTTP endpoint for health checks and Prometheus metrics.")
        .optional(),
      telegram: z
        .strictObject({
          token: z.string().describe(`Bot token; use "\${TELEGRAM_BOT_TOKEN}". Empty = Telegram disabled.`),
          api_url: z.string().describe("A self-hosted Bot API server or a test server; empty = Telegram's.").optional(),
          allowed_users: z.array(z.int()).describe("Telegram user ids allowed to press buttons and run commands.").optional(),
        })
        .describe("The Telegram bot used by telegram channels.")
        .optional(),
      slack: z
        .strictObject({
          token: z.string().describe(`Bot token (xoxb-...); use "\${SLACK_BOT_TOKEN}". Empty = Slack disabled.`),
          app_token: z.string().describe("App-level token (xapp-...) for Socket Mode: buttons and /vigil.").optional(),
          api_url: z.string().describe("Empty = Slack's.").optional(),
          allowed_users: z.array(z.string().min(1)).describe("Slack user ids allowed to press buttons and run commands.").optional(),
        })
        .describe("The Slack app used by slack channels.")
        .optional(),
      channels: z
        .record(
          z
            .string()
            .regex(NAME_TEXT, { error: (iss) => `channel names may use letters, digits and _ . : - only, got ${quoted(iss.input)}` }),
          channel,
        )
        .describe("Channel name -> where alerts go.")
        .optional(),
      defaults: z
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
        .optional(),
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
