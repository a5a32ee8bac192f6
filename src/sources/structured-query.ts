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
 * engine makes every tick. Bounds and bucketing hold for timestamptz, timestamp and date columns
 * whatever the session's TimeZone (time-sql.ts). Buckets of whole days are local days of `zone`,
 * returned as floating times (bucket-clock.ts).
 */

import { utcMs } from "../../detectors/local-time.js";
import type { MetricConfig } from "../config/types.js";
import { quoteIdent } from "../db/database.js";
import { alignUp, isCalendarGranularity } from "./bucket-clock.js";
import { NULL_LABEL, NULL_TEXT_LABEL } from "./series-key.js";
import { boundText, instantSql, widerBoundText } from "./time-sql.js";
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
  /** Zone of a naive (timestamp or date) time column; undefined = UTC. */
  naiveZone?: string | undefined;
  /** For buckets of whole days: the zone whose local days they are; undefined = UTC. */
  zone?: string | undefined;
}

/** The zones a bucket scan's values depend on. */
export type ScanZones = Pick<BucketScan, "naiveZone" | "zone">;

/** Output column names of a BucketScan: `bucket` (timestamptz), `k0..kN` (text) and the aggregate aliases. */
export const BUCKET_COLUMN = "bucket";
export const keyColumn = (i: number): string => `k${i}`;

/**
 * Windows are aligned up to a bucket boundary: a window starting mid-bucket would otherwise return
 * a partial first bucket (a spurious dip at the start of every history load). The last bucket may
 * be partial: it is the one still filling, and the engine re-reads it next tick.
 */
export function alignWindow(window: TimeWindow, granularityMs: number): TimeWindow {
  return { from: alignUp(window.from, granularityMs), to: window.to };
}

export function buildBucketScan(scan: BucketScan, window: TimeWindow): SqlQuery {
  if (!Number.isInteger(scan.granularityMs) || scan.granularityMs <= 0) {
    throw new RangeError(`granularity must be a positive whole number of milliseconds, got ${scan.granularityMs}`);
  }
  if (scan.aggregates.length === 0) throw new RangeError("a bucket scan needs at least one aggregate");
  const time = quoteIdent(scan.timeColumn);
  const bucket = bucketSql(time, scan.granularityMs);
  const select = [
    // epoch milliseconds, not a timestamp: the driver would parse a Date per row (a third of a tick's allocations)
    `(extract(epoch FROM ${bucket}) * 1000)::double precision AS ${quoteIdent(BUCKET_COLUMN)}`,
    ...scan.splitBy.map((col, i) => `(${quoteIdent(col)})::text AS ${quoteIdent(keyColumn(i))}`),
    ...scan.aggregates.map((a) => `(\n${a.expr}\n)::double precision AS ${quoteIdent(a.alias)}`),
  ];
  // untyped bounds: PostgreSQL reads them as the column's own type (time-sql.ts)
  const where = [`${time} >= $1`, `${time} < $2`];
  if (scan.where?.trim()) where.push(`(\n${scan.where}\n)`);
  const values = bucketScanValues(window, scan.granularityMs, scan);
  if (scan.series && scan.splitBy.length > 0) {
    const splitBy = scan.splitBy;
    where.push(scan.series.length === 0 ? "FALSE" : `(${scan.series.map((l) => `(${seriesMatchSql(splitBy, l, values)})`).join(" OR ")})`);
  }
  const groupBy = [bucket, ...scan.splitBy.map((_, i) => String(i + 2))];
  const text = [
    `SELECT ${select.join(",\n       ")}`,
    `FROM ${quoteIdent(scan.table)}`,
    `WHERE ${where.join("\n  AND ")}`,
    `GROUP BY ${groupBy.join(", ")}`,
    isCalendarGranularity(scan.granularityMs) ? `HAVING ${calendarWindowSql(bucket)}` : "",
    `ORDER BY ${groupBy.join(", ")}`,
  ]
    .filter(Boolean)
    .join("\n");
  return { text, values };
}

/**
 * SQL for the start of the bucket a row of time column `time` (quoted) falls in, on the values of
 * bucketScanValues: instants on the epoch grid, or local days of $5 binned from a Monday and
 * returned as floating UTC.
 */
export function bucketSql(time: string, granularityMs: number): string {
  return isCalendarGranularity(granularityMs)
    ? `(date_bin($3::interval, ${instantSql(time, "$4", "$5")} AT TIME ZONE $5::text, TIMESTAMP '1970-01-05') AT TIME ZONE 'UTC')`
    : `date_bin($3::interval, ${instantSql(time, "$4")}, TIMESTAMPTZ 'epoch')`;
}

/**
 * For local days: the buckets inside the window ($6, $7 of bucketScanValues), so that should the
 * zone rules of PostgreSQL and of Node differ, a day the window cut is left out, not misplaced.
 */
export function calendarWindowSql(bucket: string): string {
  return `${bucket} >= $6::timestamptz AND ${bucket} < $7::timestamptz`;
}

/**
 * SQL that keeps the rows of one series (its split value per column, pushed onto `values` as bound
 * parameters); NULL_LABEL matches a NULL and NULL_TEXT_LABEL the text "(null)", as series keys name them.
 */
export function seriesMatchSql(splitBy: readonly string[], labels: Readonly<Record<string, string>>, values: unknown[]): string {
  return splitBy
    .map((col) => {
      const v = labels[col] ?? NULL_LABEL;
      if (v === NULL_LABEL) return `${quoteIdent(col)} IS NULL`;
      values.push(v === NULL_TEXT_LABEL ? NULL_LABEL : v);
      return `(${quoteIdent(col)})::text = $${values.length}`;
    })
    .join(" AND ");
}

/**
 * The bound values of a bucket scan's text: window bounds as instants in the column's terms ($1, $2),
 * bucket size ($3), the naive column's zone ($4) and, for local days, their zone ($5) and the
 * window in floating time ($6, $7). The window is in bucket time (floating for local days).
 */
export function bucketScanValues(window: TimeWindow, granularityMs: number, zones: ScanZones = {}): unknown[] {
  const naive = zones.naiveZone ?? "UTC";
  const values: unknown[] = [];
  if (isCalendarGranularity(granularityMs)) {
    const zone = zones.zone ?? "UTC";
    values.push(
      widerBoundText(utcMs(window.from, zone), "from", naive, zone),
      widerBoundText(utcMs(window.to, zone), "to", naive, zone),
      `${granularityMs / 86_400_000} days`,
      naive,
      zone,
    );
    values.push(new Date(window.from).toISOString(), new Date(window.to).toISOString());
  } else values.push(boundText(window.from, naive), boundText(window.to, naive), `${granularityMs} milliseconds`, naive);
  return values;
}

/** The zones of a metric's bucket scan. */
export function scanZones(metric: MetricConfig): ScanZones {
  return { naiveZone: metric.source?.timezone, zone: metric.timezone };
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
      ...scanZones(metric),
    },
    aligned,
  );
  return { ...q, labels: [...source.split_by], window: aligned };
}
