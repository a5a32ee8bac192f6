/**
 * The one entry point the engine uses to read a metric: run its query for a window and return clean
 * per-series buckets plus the data issues met on the way.
 */
import type { MetricConfig } from "../config/types.js";
import { DatabaseError, type Queryable } from "../db/database.js";
import { collectSeries, type SourceRow } from "./collect-series.js";
import { buildRawQuery, classifyColumns, describeColumns, QueryShapeError } from "./raw-query.js";
import { BUCKET_COLUMN, buildStructuredQuery, keyColumn, VALUE_COLUMN } from "./structured-query.js";
import type { FetchResult, SqlQuery, TimeWindow } from "./types.js";

/**
 * This metric's SQL is at fault: "query" = the database rejected it, "shape" = it ran but its result
 * cannot be a metric (no time or `value` column, a placeholder beyond $2). Retrying will not help.
 * An unreachable database is not the metric's fault and surfaces as the DatabaseError itself
 * (kind "connection"), so that callers can retry it the same way for every metric.
 */
export class SourceError extends Error {
  override readonly name = "SourceError";
  constructor(
    readonly metric: string,
    message: string,
    readonly kind: "query" | "shape",
    options?: { cause?: unknown },
  ) {
    super(`metric "${metric}": ${message}`, options);
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, metric: this.metric, kind: this.kind, message: this.message };
  }
}

const EMPTY: FetchResult = { series: [], issues: [] };

/**
 * Buckets whose start lies in [window.from, window.to). For the structured form the start is aligned
 * up to a bucket boundary so the first bucket is complete; the last one is partial when `to` falls
 * inside it (the engine re-reads it next time). Incremental use: from = the watermark bucket start,
 * to = now; history load: from = now - lookback.
 *
 * Throws SourceError when the metric's SQL is wrong, DatabaseError (kind "connection") when the
 * database cannot be reached.
 */
export async function fetchBuckets(db: Queryable, metric: MetricConfig, window: TimeWindow): Promise<FetchResult> {
  if (!Number.isFinite(window.from) || !Number.isFinite(window.to)) {
    throw new RangeError(`metric "${metric.name}": window bounds must be finite epoch milliseconds`);
  }
  if (metric.source) return fetchStructured(db, metric, window);
  if (metric.query !== undefined) return fetchRaw(db, metric, metric.query, window);
  throw new SourceError(metric.name, "has neither `source` nor `query`", "shape");
}

async function fetchStructured(db: Queryable, metric: MetricConfig, window: TimeWindow): Promise<FetchResult> {
  const q = buildStructuredQuery(metric, window);
  if (q.window.from >= q.window.to) return EMPTY;
  const { rows } = await run(db, metric, q, "generated");
  return collectSeries(
    q.labels,
    rows.map(
      (r): SourceRow => ({
        t: timeOf(r[BUCKET_COLUMN]),
        keyValues: q.labels.map((_, i) => r[keyColumn(i)]),
        value: r[VALUE_COLUMN],
      }),
    ),
  );
}

async function fetchRaw(db: Queryable, metric: MetricConfig, sql: string, window: TimeWindow): Promise<FetchResult> {
  if (window.from >= window.to) return EMPTY;
  let q: SqlQuery;
  try {
    q = buildRawQuery(sql, window);
  } catch (err) {
    if (err instanceof QueryShapeError) throw new SourceError(metric.name, err.message, "shape", { cause: err });
    throw err;
  }
  const { rows, fields } = await run(db, metric, q, "operator");
  if (rows.length === 0 && !fields) return EMPTY;
  const shape = classifyColumns(fields, rows[0]);
  if (!shape) {
    throw new SourceError(
      metric.name,
      `the query must return a timestamp column (timestamptz, timestamp or date) for the bucket and a column named "value"; it returned: ${describeColumns(fields)}`,
      "shape",
    );
  }
  const sourceRows: SourceRow[] = [];
  for (const r of rows) {
    const t = timeOf(r[shape.bucket]);
    // The operator's SQL may bucket more widely than the window (e.g. a partial bucket before $1): keep the contract [from, to).
    if (Number.isFinite(t) && (t < window.from || t >= window.to)) continue;
    sourceRows.push({ t, keyValues: shape.keys.map((k) => r[k]), value: r[shape.value] });
  }
  return collectSeries(shape.keys, sourceRows);
}

function timeOf(v: unknown): number {
  if (v instanceof Date) return v.getTime();
  // pg hands back ±Infinity for 'infinity' timestamps; anything else unparseable becomes NaN.
  return typeof v === "number" ? v : Number.NaN;
}

/** `sql` says whose text it is: line numbers help in the operator's own query, not in one vigil generated. */
async function run(db: Queryable, metric: MetricConfig, q: SqlQuery, sql: "operator" | "generated") {
  try {
    return await db.query(q.text, q.values);
  } catch (err) {
    if (!(err instanceof DatabaseError) || err.kind === "connection") throw err;
    const where = near(q.text, err.details.position, sql === "operator");
    throw new SourceError(metric.name, err.message + where, err.kind, { cause: err });
  }
}

/** Where in the SQL the server pointed, so an operator can find the typo in a long query. */
function near(text: string, position: number | undefined, lineAndColumn: boolean): string {
  if (position === undefined || position < 1 || position > text.length + 1) return "";
  const before = text.slice(0, position - 1);
  const excerpt = text.slice(position - 1).split("\n")[0]!.slice(0, 40);
  if (!lineAndColumn) return excerpt ? ` (near: ${excerpt})` : "";
  const line = before.split("\n").length;
  const column = position - before.lastIndexOf("\n") - 1;
  return ` (at line ${line}, column ${column}${excerpt ? `: ${excerpt}` : ""})`;
}
