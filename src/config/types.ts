/**
 * The resolved configuration the rest of vigil works with: defaults merged into every metric,
 * durations in milliseconds, env vars interpolated. Produced by `loadConfig` (src/config/load.ts)
 * from the zod schema in src/config/schema.ts.
 */
import type { Severity } from "../model/alert.js";

export type Direction = "up" | "down" | "both";

/** A detector entry as written: `type` plus its own parameters (validated by the detector's schema). */
export interface DetectorConfig {
  type: string;
  [param: string]: unknown;
}

export interface StructuredSource {
  table: string;
  time_column: string;
  /** SQL aggregate expression, trusted operator SQL, e.g. "count(DISTINCT user_id)". */
  value: string;
  where?: string;
  split_by: string[];
  dimensions: string[];
  /** Zone of a `timestamp without time zone` (or date) time column; absent = UTC. */
  timezone?: string;
}

/** Ignore deviations smaller than this: relative (5% -> 0.05 of expected) or absolute. */
export type MinChange = { kind: "relative"; value: number } | { kind: "absolute"; value: number };

export interface MuteWindow {
  cron: string;
  durationMs: number;
}

/** When a metric is expected to have data (resolved `calendar` and `holidays`), in the metric's `timezone`. */
export interface MetricCalendar {
  /** Judged days, 0 = Monday. */
  days: readonly number[];
  /** Judged local minutes of the day [from, to), wrapping when to <= from; null = all day. */
  hours: { from: number; to: number } | null;
  holidays: { country?: string; state?: string; dates: readonly string[] } | null;
}

export interface MetricConfig {
  name: string;
  description?: string;
  /** Exactly one of source / query is set. */
  source?: StructuredSource;
  /** Raw SQL: `$1`, `$2` = window [from, to) as timestamptz; columns: a time column, `value`, extra text columns = series keys. */
  query?: string;
  granularityMs: number;
  lookbackMs: number;
  /** `query_timeout` when set; DEFAULT_QUERY_TIMEOUT_MS otherwise. */
  queryTimeoutMs?: number;
  delayMs: number;
  /** Empty = the default ensemble. */
  detectors: DetectorConfig[];
  direction: Direction;
  minChange: MinChange | null;
  for: number;
  severity: Severity;
  repeatEveryMs: number | null;
  resolveAfter: number;
  notify: string[];
  runbook?: string;
  schedule: string;
  mute: MuteWindow[];
  /** What a bucket with no rows is: zero (counts, sums) or none (missing). */
  fill: "zero" | "none";
  /** Rows below which a bucket is thin; null = a fifth of the series' usual rows (when row counts are read). */
  minRows: number | null;
  /** Whether the source reports the rows behind each bucket (structured sources, unless `fill: zero` is set). */
  rowCounts: boolean;
  /** null = every bucket is judged. */
  calendar: MetricCalendar | null;
  /** The config's top-level `timezone` (absent = UTC): buckets of whole days are its local days. */
  timezone?: string;
}

export type ChannelConfig =
  | { type: "console"; send_resolved: boolean }
  | { type: "telegram"; chat_id: string; send_resolved: boolean }
  | { type: "slack"; channel: string; send_resolved: boolean }
  | { type: "webhook"; url: string; headers: Record<string, string>; send_resolved: boolean };

export interface GuardrailConfig {
  name: string;
  /** `timezone`: zone of a naive time column (absent = UTC). */
  events: { table: string; unit_column: string; time_column: string; value: string; where?: string; timezone?: string };
  aggregate: "sum" | "count" | "mean" | "any" | "ratio";
  numerator?: string;
  denominator?: string;
  bad_direction: "increase" | "decrease";
  margin: number;
  winsorize: number | null;
  /** Which per-unit values the winsorize quantile is taken over; absent = all that have a value. */
  winsorize_over?: "nonzero";
}

export interface ExperimentConfig {
  name: string;
  variants: Record<string, number>;
  control: string;
  /** `timezone`: zone of a naive time column (absent = UTC). */
  assignments: { table: string; unit_column: string; variant_column: string; time_column: string; where?: string; timezone?: string };
  guardrails: GuardrailConfig[];
  goals: GuardrailConfig[];
  alpha: number;
  srm_alpha: number;
  min_units: number;
  schedule: string;
  notify: string[];
  start?: string;
  end?: string;
}

export interface DigestConfig {
  schedule: string;
  notify: string[];
  metrics: string[];
  experiments: boolean;
}

export interface VigilConfig {
  /** Absolute path of the file it came from. */
  file: string;
  database: { url?: string; state_url?: string };
  timezone: string;
  http: { port: number; host: string };
  telegram?: { token: string; api_url?: string; allowed_users: number[] };
  slack?: { token: string; app_token?: string; api_url?: string; allowed_users: string[] };
  channels: Record<string, ChannelConfig>;
  defaults: {
    schedule: string;
    notify: string[];
    severity_channels: Partial<Record<Severity, string[]>>;
    storm_limit: number;
  };
  metrics: MetricConfig[];
  experiments: ExperimentConfig[];
  digest: DigestConfig[];
  mute: MuteWindow[];
  /** Closed alerts, history, audit and sent notifications older than this are deleted. */
  retentionMs: number;
}
