/**
 * The raw `query:` form: the operator's SQL, run with `$1`, `$2` = the window [from, to) as
 * timestamptz. The result's shape is read from its column types: the first timestamp-like column is
 * the bucket, the column named `value` the value, and further text-like columns the series key.
 */
import type { FieldInfo, Row } from "../db/database.js";
import type { SqlQuery, TimeWindow } from "./types.js";

const TIME_TYPES = new Set([1184 /* timestamptz */, 1114 /* timestamp */, 1082 /* date */]);
/** text, varchar, char(n), name, "char", uuid; plus user-defined types (enums, citext) below. */
const TEXT_TYPES = new Set([25, 1043, 1042, 19, 18, 2950]);
/** OIDs from here on are created by users or extensions: in practice enums and citext, i.e. labels. */
const FIRST_USER_OID = 16384;

/** Thrown when the query's text or result shape cannot work; the message says what to change. */
export class QueryShapeError extends Error {
  override readonly name = "QueryShapeError";
}

/**
 * The highest `$n` placeholder in the SQL, ignoring strings, quoted identifiers, comments and
 * dollar-quoted bodies. Needed because PostgreSQL refuses a bind with more values than the
 * statement uses ("bind message supplies 2 parameters, but prepared statement requires 1").
 */
export function highestPlaceholder(sql: string): number {
  const re = /--[^\n]*|\/\*[\s\S]*?\*\/|'(?:[^']|'')*'|"(?:[^"]|"")*"|\$([A-Za-z_][A-Za-z_0-9]*)?\$[\s\S]*?\$\1\$|\$(\d+)/g;
  let max = 0;
  for (const m of sql.matchAll(re)) {
    if (m[2] !== undefined) max = Math.max(max, Number(m[2]));
  }
  return max;
}

export function buildRawQuery(sql: string, window: TimeWindow): SqlQuery {
  const n = highestPlaceholder(sql);
  if (n > 2) {
    throw new QueryShapeError(`the query uses $${n}, but only $1 (window start) and $2 (window end) are provided`);
  }
  // ISO strings rather than Dates: pg would render a Date in the process's local zone.
  const bounds = [new Date(window.from).toISOString(), new Date(window.to).toISOString()];
  return { text: sql, values: bounds.slice(0, n) };
}

export interface RawShape {
  bucket: string;
  value: string;
  keys: string[];
}

/**
 * Which column is what, or null when there is no timestamp-like column or no `value` column. Uses
 * the column types when the driver reports them (both adapters do), else the first row's values.
 * Extra columns of other types (numbers, booleans) are ignored rather than turned into labels.
 */
export function classifyColumns(fields: readonly FieldInfo[] | undefined, firstRow: Row | undefined): RawShape | null {
  const cols: { name: string; isTime: boolean; isText: boolean }[] = fields
    ? fields.map((f) => ({
        name: f.name,
        isTime: TIME_TYPES.has(f.dataTypeID),
        isText: TEXT_TYPES.has(f.dataTypeID) || f.dataTypeID >= FIRST_USER_OID,
      }))
    : Object.entries(firstRow ?? {}).map(([name, v]) => ({
        name,
        isTime: v instanceof Date,
        isText: typeof v === "string",
      }));
  const bucket = cols.find((c) => c.isTime)?.name;
  const hasValue = cols.some((c) => c.name === "value");
  if (bucket === undefined || !hasValue) return null;
  const keys = cols.filter((c) => c.name !== bucket && c.name !== "value" && c.isText).map((c) => c.name);
  return { bucket, value: "value", keys };
}

/** "t (timestamptz), v (int8)" for error messages. */
export function describeColumns(fields: readonly FieldInfo[] | undefined): string {
  if (!fields || fields.length === 0) return "none";
  return fields.map((f) => `${f.name} (${TYPE_NAMES[f.dataTypeID] ?? `type ${f.dataTypeID}`})`).join(", ");
}

const TYPE_NAMES: Record<number, string> = {
  16: "boolean",
  20: "bigint",
  21: "smallint",
  23: "integer",
  25: "text",
  700: "real",
  701: "double precision",
  1043: "varchar",
  1082: "date",
  1114: "timestamp",
  1184: "timestamptz",
  1700: "numeric",
  2950: "uuid",
  3802: "jsonb",
};
