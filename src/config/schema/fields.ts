/** The field types every section of vigil.yaml shares: durations, percentages, cron, names, zones. */
import { validate as validateCron } from "node-cron";
import { z } from "zod";
import { zoneProblem } from "../../../detectors/local-time.js";

const DURATION_TEXT = /^\s*(?:(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+|\d+(?:\.\d+)?)\s*$/;
const PERCENT_TEXT = /^\s*\d+(?:\.\d+)?\s*%\s*$/;
/** Names travel through chat commands (`silence METRIC/SERIES`) and URLs: no spaces, no slashes. */
export const NAME_TEXT = /^[A-Za-z0-9_][A-Za-z0-9_.:-]*$/;

export function quoted(v: unknown): string {
  return typeof v === "string" ? `'${v}'` : (JSON.stringify(v) ?? String(v));
}

export function duration(description?: string) {
  const error = (iss: { input?: unknown }) => `expected a duration like 90s, 5m, 1h30m, 14d, got ${quoted(iss.input)}`;
  const schema = z.union([z.number().min(0), z.string().regex(DURATION_TEXT, { error })], { error });
  const what = "A duration: 90s, 5m, 1h30m, 14d, 2w (a bare number is seconds).";
  return schema.describe(description ? `${description} ${what}` : what);
}

/** `"5%"` (relative) or a bare number (meaning depends on the field). */
export function percentOrNumber(description?: string) {
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

export function cron(description: string) {
  return z
    .string()
    .check((ctx) => {
      const msg = cronProblem(ctx.value);
      if (msg) ctx.issues.push({ code: "custom", message: msg, input: ctx.value });
    })
    .describe(`${description} node-cron syntax, 5 fields or 6 with seconds first, evaluated in \`timezone\`.`);
}

/** A time column's zone, for `timestamp without time zone` columns. */
export const columnZone = () =>
  z
    .string()
    .check((ctx) => {
      const msg = zoneProblem(ctx.value);
      if (msg) ctx.issues.push({ code: "custom", message: msg, input: ctx.value });
    })
    .describe(
      "IANA zone the time column's values are in when it is a `timestamp without time zone` (or date) column. Default UTC. Not needed for timestamptz.",
    );

export const channelList = (description: string) => z.array(z.string().min(1)).describe(`${description} Names of entries in \`channels\`.`);

export const name = (what: string) =>
  z
    .string()
    .regex(NAME_TEXT, { error: (iss) => `${what} names may use letters, digits and _ . : - only, got ${quoted(iss.input)}` })
    .describe(`Unique ${what} name (letters, digits, _ . : -); used in alerts, commands and metrics labels.`);

export const severity = z.enum(["info", "warning", "critical"]);

export const isoTime = (description: string) =>
  z
    .string()
    .refine((s) => !Number.isNaN(Date.parse(s)), { error: (iss) => `expected an ISO-8601 time, got ${quoted(iss.input)}` })
    .describe(`${description} ISO-8601, e.g. 2025-03-01 or 2025-03-01T12:00:00Z.`);
