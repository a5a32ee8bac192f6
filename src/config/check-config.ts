/**
 * Checks that span several places in the file: references to channels and metrics, duplicate
 * names, experiment arithmetic, bot tokens for chat channels. They read the data defensively
 * (it may have failed schema validation elsewhere) so that one run reports every problem at once.
 */
import { suggestion } from "./did-you-mean.js";
import type { PathSegment } from "./problem.js";

/** A problem found on data; load.ts turns the path into FILE:LINE:COL. */
export interface Finding {
  path: PathSegment[];
  message: string;
  /** Point at the key rather than the value. */
  at?: "key" | "value";
}

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function asArray(v: unknown): readonly unknown[] {
  return Array.isArray(v) ? v : [];
}

function nonEmptyString(v: unknown): v is string {
  return typeof v === "string" && v.trim() !== "";
}

const TOKEN_VARIABLE = { telegram: "TELEGRAM_BOT_TOKEN", slack: "SLACK_BOT_TOKEN" } as const;

/** The chat channels of the config and the bot section each needs. */
function chatChannels(
  root: Record<string, unknown>,
): Array<{ name: string; type: "telegram" | "slack"; section: Record<string, unknown> | undefined }> {
  return Object.entries(asRecord(root.channels) ?? {}).flatMap(([name, ch]) => {
    const type = asRecord(ch)?.type;
    return type === "telegram" || type === "slack" ? [{ name, type, section: asRecord(root[type]) }] : [];
  });
}

/**
 * Chat channels whose bot section has an empty token. Apart from checkConfig: commands that never
 * talk to a chat (load.ts `chatSecrets: "optional"`) take these as warnings.
 */
export function checkChatTokens(data: unknown): Finding[] {
  return chatChannels(asRecord(data) ?? {})
    .filter((c) => c.section && !nonEmptyString(c.section.token))
    .map((c) => ({
      path: ["channels", c.name, "type"],
      message: `channel '${c.name}' is a ${c.type} channel but ${c.type}.token is empty (is ${TOKEN_VARIABLE[c.type]} set?)`,
    }));
}

export function checkConfig(data: unknown): Finding[] {
  const root = asRecord(data) ?? {};
  const errors: Finding[] = [];
  const channels = asRecord(root.channels) ?? {};
  const channelNames = Object.keys(channels);
  for (const c of chatChannels(root)) {
    if (c.section) continue;
    errors.push({
      path: ["channels", c.name, "type"],
      message: `channel '${c.name}' is a ${c.type} channel but there is no top-level ${c.type}: section with a token (token: "\${${TOKEN_VARIABLE[c.type]}}")`,
    });
  }

  const checkNotify = (list: unknown, path: PathSegment[]): void => {
    asArray(list).forEach((name, i) => {
      if (typeof name === "string" && name !== "" && !Object.hasOwn(channels, name)) {
        const known = channelNames.length > 0 ? channelNames.join(", ") : "none defined";
        errors.push({ path: [...path, i], message: `unknown channel '${name}' (channels: ${known})${suggestion(name, channelNames)}` });
      }
    });
  };

  const defaults = asRecord(root.defaults);
  checkNotify(defaults?.notify, ["defaults", "notify"]);
  const sevChannels = asRecord(defaults?.severity_channels);
  for (const sev of ["info", "warning", "critical"]) checkNotify(sevChannels?.[sev], ["defaults", "severity_channels", sev]);

  const metrics = asArray(root.metrics);
  const metricNames: string[] = [];
  const unique = (names: string[]): string => [...new Set(names)].join(", ");
  const firstMetric = new Map<string, number>();
  metrics.forEach((raw, i) => {
    const m = asRecord(raw);
    if (!m) return;
    const name = m.name;
    if (typeof name === "string") {
      metricNames.push(name);
      const first = firstMetric.get(name);
      if (first === undefined) firstMetric.set(name, i);
      else errors.push({ path: ["metrics", i, "name"], message: `duplicate metric name '${name}' (already used by metrics[${first}])` });
    }
    const hasSource = m.source !== undefined && m.source !== null;
    const hasQuery = m.query !== undefined && m.query !== null;
    if (hasSource && hasQuery) {
      errors.push({ path: ["metrics", i, "query"], at: "key", message: "set either source: or query:, not both" });
    } else if (!hasSource && !hasQuery) {
      const label = typeof name === "string" ? `metric '${name}'` : "a metric";
      errors.push({ path: ["metrics", i], message: `${label} needs a source: (table, time_column, value) or a query:` });
    }
    const source = asRecord(m.source);
    if (source?.granularity !== undefined && m.granularity !== undefined) {
      errors.push({
        path: ["metrics", i, "granularity"],
        at: "key",
        message: "granularity is set twice: keep source.granularity or this one",
      });
    }
    checkNotify(m.notify, ["metrics", i, "notify"]);
  });

  const firstExperiment = new Map<string, number>();
  asArray(root.experiments).forEach((raw, i) => {
    const e = asRecord(raw);
    if (!e) return;
    const base: PathSegment[] = ["experiments", i];
    if (typeof e.name === "string") {
      const first = firstExperiment.get(e.name);
      if (first === undefined) firstExperiment.set(e.name, i);
      else
        errors.push({ path: [...base, "name"], message: `duplicate experiment name '${e.name}' (already used by experiments[${first}])` });
    }
    checkNotify(e.notify, [...base, "notify"]);
    checkExperiment(e, base, errors);
  });

  asArray(root.digest).forEach((raw, i) => {
    const d = asRecord(raw);
    if (!d) return;
    checkNotify(d.notify, ["digest", i, "notify"]);
    asArray(d.metrics).forEach((name, j) => {
      if (typeof name === "string" && !metricNames.includes(name)) {
        const known = metricNames.length > 0 ? unique(metricNames) : "none defined";
        errors.push({
          path: ["digest", i, "metrics", j],
          message: `unknown metric '${name}' (metrics: ${known})${suggestion(name, metricNames)}`,
        });
      }
    });
  });
  return errors;
}

function checkExperiment(e: Record<string, unknown>, base: PathSegment[], errors: Finding[]): void {
  const variants = asRecord(e.variants);
  if (variants) {
    const names = Object.keys(variants);
    const weights = Object.values(variants);
    if (names.length < 2) {
      errors.push({ path: [...base, "variants"], message: `an experiment needs at least two variants, got ${names.length}` });
    }
    if (names.length > 0 && weights.every((w) => typeof w === "number")) {
      const sum = (weights as number[]).reduce((a, b) => a + b, 0);
      if (Math.abs(sum - 1) > 1e-6) {
        errors.push({ path: [...base, "variants"], message: `variant weights must sum to 1, they sum to ${Number(sum.toFixed(6))}` });
      }
    }
    if (typeof e.control === "string" && !names.includes(e.control)) {
      errors.push({
        path: [...base, "control"],
        message: `control '${e.control}' is not one of the variants (${names.join(", ")})${suggestion(e.control, names)}`,
      });
    }
  }
  if (typeof e.start === "string" && typeof e.end === "string" && Date.parse(e.start) >= Date.parse(e.end)) {
    errors.push({ path: [...base, "end"], message: `end must be after start (${e.start})` });
  }
  for (const key of ["guardrails", "goals"] as const) {
    const seen = new Map<string, number>();
    asArray(e[key]).forEach((raw, j) => {
      const g = asRecord(raw);
      if (!g) return;
      const path: PathSegment[] = [...base, key, j];
      if (typeof g.name === "string") {
        const first = seen.get(g.name);
        if (first === undefined) seen.set(g.name, j);
        else errors.push({ path: [...path, "name"], message: `duplicate name '${g.name}' (already used by ${key}[${first}])` });
      }
      checkGuardrail(g, path, errors);
    });
  }
}

function checkGuardrail(g: Record<string, unknown>, path: PathSegment[], errors: Finding[]): void {
  const aggregate = g.aggregate ?? "mean";
  if (g.winsorize_over !== undefined && (g.winsorize === undefined || g.winsorize === null)) {
    errors.push({ path: [...path, "winsorize_over"], at: "key", message: "winsorize_over is only used with winsorize" });
  }
  if (aggregate === "ratio") {
    for (const key of ["numerator", "denominator"]) {
      if (g[key] === undefined) errors.push({ path, message: `missing required key '${key}' (needed for aggregate: ratio)` });
    }
    return;
  }
  for (const key of ["numerator", "denominator"]) {
    if (g[key] !== undefined) errors.push({ path: [...path, key], at: "key", message: `${key} is only used with aggregate: ratio` });
  }
  const events = asRecord(g.events);
  if (events && aggregate !== "count" && events.value === undefined && typeof aggregate === "string") {
    errors.push({ path: [...path, "events"], message: `missing required key 'value' (needed for aggregate: ${aggregate})` });
  }
}
