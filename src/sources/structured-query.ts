/**
 * SQL for the structured `source:` form. vigil writes the query so that aggregation runs in the
 * database and only one row per (bucket, series) crosses the wire.
 *
 * Trust model: table and column names are identifiers and always quoted; `value` and `where` are
 * operator-written SQL (trusted, like the raw `query:` form) and are pasted in parentheses on their
 * own lines, so that a trailing `-- comment` cannot swallow the rest; every value (window bounds,
 * bucket size) is a bound parameter.
 *
 * The time filter is a plain range on the raw column (`col >= $1 AND col < $2`), never on the
 * date_bin output, so that an index on the time column serves the small incremental reads the
 * engine makes every tick.
 */
import type { MetricConfig } from "../config/types.js";
import { quoteIdent } from "../db/database.js";
import { NULL_LABEL } from "./series-key.js";
import type { SqlQuery, TimeWindow } from "./types.js";

/**
 * One pass over one table: bucket by time, group by the split columns, compute one or more
 * aggregates. Several metrics on the same table, granularity, filter and split can later share one
 * scan by listing several `aggregates`; that is why this is separate from buildStructuredQuery.
 */
export interface BucketScan {
  /** Possibly schema-qualified: "analytics.events". */
  table: string;
  timeColumn: string;
  granularityMs: number;
  /** Trusted SQL boolean expression, or undefined for no filter. */
  where?: string | undefined;
  /** Column names; in the output they are `k0`, `k1`, ... as text (NULL stays NULL). */
  splitBy: readonly string[];
  /** Output column alias -> trusted SQL aggregate expression; each is returned as double precision. */
  aggregates: readonly { alias: string; expr: string }[];
  /**
   * Only these series (their split values by column, NULL_LABEL for NULL), bound as parameters;
   * undefined = every series.
   */
  series?: ReadonlyArray<Readonly<Record<string, string>>> | undefined;
}

/** Output column names of a BucketScan: `bucket` (timestamptz), `k0..kN` (text) and the aggregate aliases. */
export const BUCKET_COLUMN = "bucket";
export const keyColumn = (i: number): string => `k${i}`;

/**
 * Windows are aligned up to a bucket boundary: a window starting mid-bucket would otherwise return
 * a partial first bucket (a spurious dip at the start of every history load). The last bucket may
 * be partial: it is the one still filling, and the engine re-reads it next tick.
 */
export function alignWindow(window: TimeWindow, granularityMs: number): TimeWindow {
  return { from: Math.ceil(window.from / granularityMs) * granularityMs, to: window.to };
}

export function buildBucketScan(scan: BucketScan, window: TimeWindow): SqlQuery {
  if (!Number.isInteger(scan.granularityMs) || scan.granularityMs <= 0) {
    throw new RangeError(`granularity must be a positive whole number of milliseconds, got ${scan.granularityMs}`);
  }
  if (scan.aggregates.length === 0) throw new RangeError("a bucket scan needs at least one aggregate");
  const time = quoteIdent(scan.timeColumn);
  const select = [
    // An explicit timestamptz origin makes timestamp and date columns bin the same way (as UTC).
    `date_bin($3::interval, ${time}, TIMESTAMPTZ 'epoch') AS ${quoteIdent(BUCKET_COLUMN)}`,
    ...scan.splitBy.map((col, i) => `(${quoteIdent(col)})::text AS ${quoteIdent(keyColumn(i))}`),
    ...scan.aggregates.map((a) => `(\n${a.expr}\n)::double precision AS ${quoteIdent(a.alias)}`),
  ];
  const where = [`${time} >= $1::timestamptz`, `${time} < $2::timestamptz`];
  if (scan.where?.trim()) where.push(`(\n${scan.where}\n)`);
  const values = bucketScanValues(window, scan.granularityMs);
  if (scan.series && scan.splitBy.length > 0) {
    const one = (labels: Readonly<Record<string, string>>) =>
      scan.splitBy
        .map((col) => {
          const v = labels[col] ?? NULL_LABEL;
          values.push(v);
          const eq = `(${quoteIdent(col)})::text = $${values.length}`;
          return v === NULL_LABEL ? `(${eq} OR ${quoteIdent(col)} IS NULL)` : eq;
        })
        .join(" AND ");
    where.push(scan.series.length === 0 ? "FALSE" : `(${scan.series.map((l) => `(${one(l)})`).join(" OR ")})`);
  }
  const groupBy = Array.from({ length: 1 + scan.splitBy.length }, (_, i) => String(i + 1));
  const text = [
    `SELECT ${select.join(",\n       ")}`,
    `FROM ${quoteIdent(scan.table)}`,
    `WHERE ${where.join("\n  AND ")}`,
    `GROUP BY ${groupBy.join(", ")}`,
    `ORDER BY ${groupBy.join(", ")}`,
  ].join("\n");
  return { text, values };
}

/** The bound values of a bucket scan's text: window bounds ($1, $2) and bucket size ($3). */
export function bucketScanValues(window: TimeWindow, granularityMs: number): unknown[] {
  return [new Date(window.from).toISOString(), new Date(window.to).toISOString(), `${granularityMs} milliseconds`];
}

export interface StructuredQuery extends SqlQuery {
  /** split_by column names, in order: the label names of key columns k0..kN. */
  labels: string[];
  /** The window actually queried (start aligned up to a bucket boundary). */
  window: TimeWindow;
}

export const VALUE_COLUMN = "value";
/** The rows behind a bucket, counted in the same scan for metrics whose value is a mean or a ratio. */
export const ROWS_COLUMN = "rows";
export const ROWS_AGGREGATE = "count(*)";

/** The query for a metric with a structured `source:`; output columns `bucket`, `k0..kN`, `value`. */
export function buildStructuredQuery(metric: MetricConfig, window: TimeWindow, series?: BucketScan["series"]): StructuredQuery {
  const source = metric.source;
  if (!source) throw new Error(`metric "${metric.name}" has no structured source`);
  const aligned = alignWindow(window, metric.granularityMs);
  const q = buildBucketScan(
    {
      table: source.table,
      timeColumn: source.time_column,
      granularityMs: metric.granularityMs,
      where: source.where,
      splitBy: source.split_by,
      aggregates: metric.rowCounts
        ? [
            { alias: VALUE_COLUMN, expr: source.value },
            { alias: ROWS_COLUMN, expr: ROWS_AGGREGATE },
          ]
        : [{ alias: VALUE_COLUMN, expr: source.value }],
      series,
    },
    aligned,
  );
  return { ...q, labels: [...source.split_by], window: aligned };
}
