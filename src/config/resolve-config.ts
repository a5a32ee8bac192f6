/**
 * Validated raw config -> the resolved VigilConfig: defaults merged into every metric, durations in
 * milliseconds, percentages as fractions. Cross-reference checks live in check-config.ts; the few
 * here need resolved values (a lookback shorter than a bucket, a bad URL coming from the environment).
 */
import { DEFAULT_DETECTORS, getDetector, withTimeDefaults } from "../../detectors/registry.js";
import { holidayCountryProblem } from "../holidays.js";
import type { Severity } from "../model/alert.js";
import { formatDuration, parseDuration } from "../model/duration.js";
import type { Finding } from "./check-config.js";
import type { Env } from "./interpolate.js";
import type { PathSegment } from "./problem.js";
import { DAY_NAMES } from "./schema/calendar.js";
import type { RawConfig } from "./schema.js";
import type {
  ChannelConfig,
  DetectorConfig,
  DigestConfig,
  ExperimentConfig,
  GuardrailConfig,
  MetricCalendar,
  MetricConfig,
  MinChange,
  MuteWindow,
  VigilConfig,
} from "./types.js";

export interface Resolution {
  config: VigilConfig;
  errors: Finding[];
  warnings: Finding[];
}

/** A metric without `lookback` keeps at least this many buckets of history (120 days of daily buckets). */
const DEFAULT_LOOKBACK_BUCKETS = 120;

/** What an option is when neither the metric nor `defaults` sets it (documented in schema.ts). */
export const BUILTIN_DEFAULTS = {
  schedule: "*/5 * * * *",
  granularityMs: 3_600_000,
  lookbackMs: 14 * 86_400_000,
  retentionMs: 90 * 86_400_000,
  delayMs: 0,
  direction: "both",
  for: 1,
  severity: "warning",
  resolveAfter: 2,
  stormLimit: 10,
  timezone: "UTC",
  httpPort: 9464,
  httpHost: "0.0.0.0",
  experimentSchedule: "0 * * * *",
  digestSchedule: "0 9 * * *",
  alpha: 0.05,
  srmAlpha: 0.001,
  minUnits: 1000,
} as const;

type RawMetric = NonNullable<RawConfig["metrics"]>[number];
type RawDefaults = NonNullable<RawConfig["defaults"]>;
type RawExperiment = NonNullable<RawConfig["experiments"]>[number];
type RawGuardrail = NonNullable<RawExperiment["guardrails"]>[number];
type RawMute = NonNullable<RawConfig["mute"]>[number];

const POSTGRES_URL = /^postgres(?:ql)?:\/\//;

export function resolveConfig(raw: RawConfig, absoluteFile: string, env: Env): Resolution {
  const errors: Finding[] = [];
  const warnings: Finding[] = [];
  const defaults: RawDefaults = raw.defaults ?? {};
  const severityChannels: Partial<Record<Severity, string[]>> = {};
  for (const sev of ["info", "warning", "critical"] as const) {
    const list = defaults.severity_channels?.[sev];
    if (list) severityChannels[sev] = [...list];
  }

  const metrics = (raw.metrics ?? []).map((m, i) => resolveMetric(m, i, defaults, errors));
  // every metric carries the zone its local days are in, so a change of `timezone` changes the metric
  if (raw.timezone !== undefined && raw.timezone !== "UTC") for (const m of metrics) m.timezone = raw.timezone;
  metrics.forEach((m, i) => {
    if (m.notify.length === 0 && (severityChannels[m.severity]?.length ?? 0) === 0) {
      warnings.push({ path: ["metrics", i], message: `metric '${m.name}' notifies no channel (set notify: here or in defaults)` });
    }
    const short = shortWarmup(m);
    if (short) warnings.push({ path: ["metrics", i], message: short });
  });
  const experiments = (raw.experiments ?? []).map((e) => resolveExperiment(e, defaults));
  experiments.forEach((e, i) => {
    if (e.notify.length === 0) {
      warnings.push({ path: ["experiments", i], message: `experiment '${e.name}' notifies no channel (set notify: here or in defaults)` });
    }
    if (e.guardrails.length === 0) {
      warnings.push({ path: ["experiments", i], message: `experiment '${e.name}' has no guardrails: only its sample ratio is watched` });
    }
  });
  const metricNames = metrics.map((m) => m.name);
  const digest: DigestConfig[] = (raw.digest ?? []).map((d, i) => {
    const notify = [...(d.notify ?? defaults.notify ?? [])];
    if (notify.length === 0) warnings.push({ path: ["digest", i], message: "this digest is sent to no channel (set notify:)" });
    return {
      schedule: d.schedule ?? BUILTIN_DEFAULTS.digestSchedule,
      notify,
      metrics: [...(d.metrics ?? metricNames)],
      experiments: d.experiments ?? true,
    };
  });
  if (metrics.length === 0 && experiments.length === 0) {
    warnings.push({ path: [], message: "nothing to watch: no metrics and no experiments" });
  }

  const config: VigilConfig = {
    file: absoluteFile,
    database: resolveDatabase(raw, env, errors),
    timezone: raw.timezone ?? BUILTIN_DEFAULTS.timezone,
    http: { port: raw.http?.port ?? BUILTIN_DEFAULTS.httpPort, host: raw.http?.host ?? BUILTIN_DEFAULTS.httpHost },
    channels: resolveChannels(raw),
    defaults: {
      schedule: defaults.schedule ?? BUILTIN_DEFAULTS.schedule,
      notify: [...(defaults.notify ?? [])],
      severity_channels: severityChannels,
      storm_limit: defaults.storm_limit ?? BUILTIN_DEFAULTS.stormLimit,
    },
    metrics,
    experiments,
    digest,
    mute: resolveMutes(raw.mute),
    retentionMs: raw.retention === undefined ? BUILTIN_DEFAULTS.retentionMs : ms(raw.retention),
  };
  const telegram = raw.telegram;
  if (telegram && nonEmpty(telegram.token)) {
    config.telegram = { token: telegram.token, allowed_users: [...(telegram.allowed_users ?? [])] };
    if (nonEmpty(telegram.api_url)) config.telegram.api_url = telegram.api_url;
    if (config.telegram.allowed_users.length === 0) {
      warnings.push({
        path: ["telegram"],
        at: "key",
        message: "no allowed_users: nobody can acknowledge, snooze or resolve from Telegram",
      });
    }
  }
  const slack = raw.slack;
  if (slack && nonEmpty(slack.token)) {
    config.slack = { token: slack.token, allowed_users: [...(slack.allowed_users ?? [])] };
    if (nonEmpty(slack.app_token)) config.slack.app_token = slack.app_token;
    if (nonEmpty(slack.api_url)) config.slack.api_url = slack.api_url;
    if (config.slack.allowed_users.length === 0) {
      warnings.push({ path: ["slack"], at: "key", message: "no allowed_users: nobody can acknowledge, snooze or resolve from Slack" });
    }
  }
  return { config, errors, warnings };
}

function nonEmpty(s: string | undefined): s is string {
  return s !== undefined && s.trim() !== "";
}

function ms(v: string | number): number {
  const parsed = parseDuration(v);
  // The schema only lets duration-shaped values through, so null here is a bug, not bad input.
  if (parsed === null) throw new Error(`unparsable duration passed validation: ${String(v)}`);
  return parsed;
}

function resolveMutes(list: readonly RawMute[] | undefined): MuteWindow[] {
  return (list ?? []).map((m) => ({ cron: m.cron, durationMs: ms(m.duration) }));
}

function percent(text: string): number {
  return Number(text.replace("%", "").trim()) / 100;
}

function resolveMinChange(v: string | number | null | undefined): MinChange | null {
  if (v === undefined || v === null || v === "none") return null;
  if (typeof v === "number") return { kind: "absolute", value: v };
  return { kind: "relative", value: percent(v) };
}

function resolveChannels(raw: RawConfig): Record<string, ChannelConfig> {
  const out: Record<string, ChannelConfig> = {};
  for (const [name, ch] of Object.entries(raw.channels ?? {})) {
    const sendResolved = ch.send_resolved ?? true;
    switch (ch.type) {
      case "console":
        out[name] = { type: "console", send_resolved: sendResolved };
        break;
      case "telegram":
        out[name] = { type: "telegram", chat_id: String(ch.chat_id), send_resolved: sendResolved };
        break;
      case "slack":
        out[name] = { type: "slack", channel: ch.channel, send_resolved: sendResolved };
        break;
      case "webhook":
        out[name] = { type: "webhook", url: ch.url, headers: { ...(ch.headers ?? {}) }, send_resolved: sendResolved };
        break;
    }
  }
  return out;
}

function resolveDatabase(raw: RawConfig, env: Env, errors: Finding[]): VigilConfig["database"] {
  const out: VigilConfig["database"] = {};
  const url = fromConfigOrEnv(raw.database?.url, env.DATABASE_URL);
  if (url.value !== undefined) {
    if (url.fromEnv && !POSTGRES_URL.test(url.value)) {
      errors.push({ path: ["database", "url"], message: "DATABASE_URL must be a postgres:// or postgresql:// URL" });
    }
    out.url = url.value;
  }
  const stateUrl = fromConfigOrEnv(raw.database?.state_url, env.VIGIL_STATE_URL);
  if (stateUrl.value !== undefined) {
    if (stateUrl.fromEnv && !POSTGRES_URL.test(stateUrl.value)) {
      errors.push({ path: ["database", "state_url"], message: "VIGIL_STATE_URL must be a postgres:// or postgresql:// URL" });
    }
    out.state_url = stateUrl.value;
  }
  return out;
}

/** An empty string means "not set" in the file (so `${DATABASE_URL:-}` works), and then the environment decides. */
function fromConfigOrEnv(fromFile: string | undefined, fromEnv: string | undefined): { value?: string; fromEnv: boolean } {
  if (nonEmpty(fromFile)) return { value: fromFile.trim(), fromEnv: false };
  if (nonEmpty(fromEnv)) return { value: fromEnv.trim(), fromEnv: true };
  return { fromEnv: false };
}

/** The metric's own value wins over `defaults`; `from` is the path that supplied it, for error positions. */
function inherit<T>(own: T | undefined, i: number, dflt: T | undefined, key: string): { value: T | undefined; from: PathSegment[] } {
  if (own !== undefined) return { value: own, from: ["metrics", i, key] };
  if (dflt !== undefined) return { value: dflt, from: ["defaults", key] };
  return { value: undefined, from: ["metrics", i] };
}

/**
 * The history load is all a restarted detector has: when the metric's lookback holds fewer buckets
 * than the ensemble needs to warm up, it says nothing for a while after every start. Null when fine.
 */
function shortWarmup(m: MetricConfig): string | null {
  const def = getDetector("ensemble");
  if (!def || !(m.granularityMs > 0)) return null;
  const held = Math.floor(m.lookbackMs / m.granularityMs);
  for (const dc of m.detectors.length > 0 ? m.detectors : DEFAULT_DETECTORS) {
    if (dc.type !== "ensemble") continue;
    // its parameters as the engine resolves them (the config's, then the bucket size's defaults)
    const { type: _type, ...raw } = dc;
    const parsed = def.params.safeParse(withTimeDefaults(def, { ...raw, granularity_ms: m.granularityMs }));
    if (!parsed.success) continue;
    const p = parsed.data as { warmup: number; history: number };
    // the detector is warm after min(warmup, history) rows of history
    const warmup = Math.min(p.warmup, p.history);
    if (held >= warmup) continue;
    return `metric '${m.name}': its lookback holds ${held} buckets and the ensemble needs ${warmup} to warm up, so after every start it alerts only once ${formatDuration((warmup - held) * m.granularityMs)} have passed (set lookback: ${formatDuration(warmup * m.granularityMs)} or more)`;
  }
  return null;
}

/** A single count(...) or sum(...) call: no rows means 0, not missing. */
const COUNT_OR_SUM = /^\s*(?:count|sum)\s*\((?:[^()]|\([^()]*\))*\)\s*$/i;

/** Whether a source's aggregate is a count or a sum (then a bucket without rows is 0). */
export function countLike(value: string): boolean {
  return COUNT_OR_SUM.test(value);
}

/**
 * The metric with `fill` set, and with it whether its source counts the rows behind each bucket:
 * means and ratios do (thin buckets), and so does an inferred zero fill (a table with the same rows
 * in every bucket is a metrics table, where a bucket without rows is missing data, not 0).
 */
export function withFill<M extends Pick<MetricConfig, "source" | "fill" | "rowCounts">>(
  m: M,
  fill: MetricConfig["fill"],
  inferred = false,
): M {
  return { ...m, fill, rowCounts: m.source !== undefined && (fill === "none" || inferred) };
}

function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.trim().split(":");
  return Number(h) * 60 + Number(m);
}

function resolveCalendar(cal: RawMetric["calendar"], hol: RawMetric["holidays"]): MetricCalendar | null {
  if (cal === undefined && hol === undefined) return null;
  let days = [0, 1, 2, 3, 4, 5, 6];
  let hours: MetricCalendar["hours"] = null;
  if (cal === "weekdays") days = [0, 1, 2, 3, 4];
  else if (cal === "weekends") days = [5, 6];
  else if (typeof cal === "object") {
    if (cal.days) days = [...new Set(cal.days.map((x) => DAY_NAMES.indexOf(x)))].sort();
    if (cal.hours) {
      const [a, b] = cal.hours.split("-");
      const from = minutesOf(a!) % 1440;
      const to = minutesOf(b!) % 1440;
      if (from !== to) hours = { from, to };
    }
  }
  let holidays: MetricCalendar["holidays"] = null;
  if (Array.isArray(hol)) holidays = { dates: [...hol] };
  else if (hol) {
    holidays = { dates: [...(hol.dates ?? [])] };
    if (hol.country !== undefined) holidays.country = hol.country.toUpperCase();
    if (hol.state !== undefined) holidays.state = hol.state.toUpperCase();
  }
  return { days, hours, holidays };
}

function resolveMetric(m: RawMetric, i: number, d: RawDefaults, errors: Finding[]): MetricConfig {
  const gran =
    m.source?.granularity !== undefined
      ? { value: m.source.granularity, from: ["metrics", i, "source", "granularity"] as PathSegment[] }
      : inherit(m.granularity, i, d.granularity, "granularity");
  const granularityMs = gran.value === undefined ? BUILTIN_DEFAULTS.granularityMs : ms(gran.value);
  if (granularityMs <= 0) errors.push({ path: gran.from, message: "granularity must be greater than 0" });
  const lookback = inherit(m.lookback, i, d.lookback, "lookback");
  // by default 14 days, or 120 buckets where that is longer: a daily metric's detectors warm up on four months, not two weeks
  const lookbackMs =
    lookback.value === undefined ? Math.max(BUILTIN_DEFAULTS.lookbackMs, DEFAULT_LOOKBACK_BUCKETS * granularityMs) : ms(lookback.value);
  if (granularityMs > 0 && lookbackMs < granularityMs) {
    errors.push({ path: lookback.from, message: `lookback must cover at least one bucket (granularity ${String(gran.value ?? "1h")})` });
  }
  const repeat = m.repeat_every !== undefined ? m.repeat_every : d.repeat_every;
  const repeatMs = repeat === undefined || repeat === null || repeat === "none" ? null : ms(repeat);

  const out: MetricConfig = {
    name: m.name,
    granularityMs,
    lookbackMs,
    delayMs: ms(m.delay ?? d.delay ?? 0),
    // Zod has checked each entry against its detector's schema (and filled parameter defaults).
    detectors: ((m.detectors ?? d.detectors ?? []) as DetectorConfig[]).map((x) => ({ ...x })),
    direction: m.direction ?? d.direction ?? BUILTIN_DEFAULTS.direction,
    minChange: resolveMinChange(m.min_change !== undefined ? m.min_change : d.min_change),
    for: m.for ?? d.for ?? BUILTIN_DEFAULTS.for,
    severity: m.severity ?? d.severity ?? BUILTIN_DEFAULTS.severity,
    repeatEveryMs: repeatMs === 0 ? null : repeatMs,
    resolveAfter: m.resolve_after ?? d.resolve_after ?? BUILTIN_DEFAULTS.resolveAfter,
    notify: [...(m.notify ?? d.notify ?? [])],
    schedule: m.schedule ?? d.schedule ?? BUILTIN_DEFAULTS.schedule,
    mute: resolveMutes(m.mute ?? d.mute),
    fill: "none",
    minRows: m.min_rows ?? null,
    rowCounts: false,
    calendar: resolveCalendar(m.calendar ?? d.calendar, m.holidays ?? d.holidays),
  };
  const queryTimeout = m.query_timeout ?? d.query_timeout;
  if (queryTimeout !== undefined) out.queryTimeoutMs = ms(queryTimeout);
  const hol = m.holidays ?? d.holidays;
  if (hol && !Array.isArray(hol) && hol.country !== undefined) {
    // checked here rather than in the schema: a check inside the holidays union would be reported as the union's error
    const problem = holidayCountryProblem(hol.country, hol.state);
    const key = problem?.startsWith("unknown state") ? "state" : "country";
    if (problem) errors.push({ path: m.holidays ? ["metrics", i, "holidays", key] : ["defaults", "holidays", key], message: problem });
  }
  if (m.description !== undefined) out.description = m.description;
  if (m.runbook !== undefined) out.runbook = m.runbook;
  if (m.query !== undefined) out.query = m.query;
  if (m.source !== undefined) {
    out.source = {
      table: m.source.table,
      time_column: m.source.time_column,
      value: m.source.value,
      split_by: [...(m.source.split_by ?? [])],
      dimensions: [...(m.source.dimensions ?? [])],
    };
    if (m.source.where !== undefined) out.source.where = m.source.where;
    if (m.source.timezone !== undefined) out.source.timezone = m.source.timezone;
  }
  return withFill(out, m.fill ?? (m.source && countLike(m.source.value) ? "zero" : "none"), m.fill === undefined);
}

function resolveExperiment(e: RawExperiment, d: RawDefaults): ExperimentConfig {
  const out: ExperimentConfig = {
    name: e.name,
    variants: { ...e.variants },
    control: e.control,
    assignments: {
      table: e.assignments.table,
      unit_column: e.assignments.unit_column,
      variant_column: e.assignments.variant_column,
      time_column: e.assignments.time_column,
    },
    guardrails: (e.guardrails ?? []).map(resolveGuardrail),
    goals: (e.goals ?? []).map(resolveGuardrail),
    alpha: e.alpha ?? BUILTIN_DEFAULTS.alpha,
    srm_alpha: e.srm_alpha ?? BUILTIN_DEFAULTS.srmAlpha,
    min_units: e.min_units ?? BUILTIN_DEFAULTS.minUnits,
    schedule: e.schedule ?? BUILTIN_DEFAULTS.experimentSchedule,
    notify: [...(e.notify ?? d.notify ?? [])],
  };
  if (e.assignments.where !== undefined) out.assignments.where = e.assignments.where;
  if (e.assignments.timezone !== undefined) out.assignments.timezone = e.assignments.timezone;
  if (e.start !== undefined) out.start = e.start;
  if (e.end !== undefined) out.end = e.end;
  return out;
}

function resolveGuardrail(g: RawGuardrail): GuardrailConfig {
  const aggregate = g.aggregate ?? "mean";
  const margin = g.margin === undefined ? 0 : typeof g.margin === "number" ? g.margin : percent(g.margin);
  const out: GuardrailConfig = {
    name: g.name,
    events: { table: g.events.table, unit_column: g.events.unit_column, time_column: g.events.time_column, value: g.events.value ?? "1" },
    aggregate,
    bad_direction: g.bad_direction,
    margin,
    winsorize: g.winsorize ?? null,
  };
  if (g.events.where !== undefined) out.events.where = g.events.where;
  if (g.events.timezone !== undefined) out.events.timezone = g.events.timezone;
  if (g.winsorize_over === "nonzero") out.winsorize_over = "nonzero";
  if (g.numerator !== undefined) out.numerator = g.numerator;
  if (g.denominator !== undefined) out.denominator = g.denominator;
  return out;
}
