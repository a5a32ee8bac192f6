/**
 * Drill-down for root cause: one query per dimension that returns the metric's buckets per dimension
 * value (slice) over the metric's own history, bucketed, filtered and zoned exactly as the metric's
 * scan (structured-query.ts), so each slice can be judged the way its metric is. A NULL dimension
 * value is its own slice, apart from the text "(null)". Only the slices with the largest values
 * (in any bucket, the alert's included) come back, so a very wide dimension stays cheap.
 */
import type { MetricConfig } from "../config/types.js";
import { type Queryable, quoteIdent } from "../db/database.js";
import type { Point } from "../model/point.js";
import { isCalendarGranularity } from "./bucket-clock.js";
import { timeOf } from "./fetch-buckets.js";
import { bucketScanValues, bucketSql, calendarWindowSql, ROWS_AGGREGATE, scanZones, seriesMatchSql } from "./structured-query.js";
import type { SqlQuery, TimeWindow } from "./types.js";

export interface DimensionScan {
  metric: MetricConfig;
  dimension: string;
  /** Bucket times (floating for local days), start on the grid. */
  window: TimeWindow;
  /** Only rows of this series (split_by column -> value, NULL_LABEL for NULL). */
  filter: Readonly<Record<string, string>>;
  /** At most this many slices (a safety cap on very wide dimensions). */
  maxSlices?: number;
  /** Server-side statement timeout of the query (PostgreSQL). */
  timeoutMs?: number;
}

/** One slice's buckets; `value` null = the rows whose dimension is NULL. */
export interface Slice {
  value: string | null;
  points: Point[];
}

export function buildDimensionQuery(scan: DimensionScan): SqlQuery {
  const m = scan.metric;
  const s = m.source;
  if (!s) throw new Error(`metric "${m.name}" has no structured source`);
  const time = quoteIdent(s.time_column);
  const dim = quoteIdent(scan.dimension);
  const bucket = bucketSql(time, m.granularityMs);
  const values = bucketScanValues(scan.window, m.granularityMs, scanZones(m));
  // untyped bounds: PostgreSQL reads them as the column's own type (time-sql.ts)
  const where = [`${time} >= $1`, `${time} < $2`];
  if (s.where?.trim()) where.push(`(\n${s.where}\n)`);
  if (s.split_by.length > 0) where.push(seriesMatchSql(s.split_by, scan.filter, values));
  values.push(scan.maxSlices ?? 20);
  const select = [
    `${bucket} AS bucket`,
    `(${dim}) IS NULL AS dim_null`,
    `(${dim})::text AS dim`,
    `(\n${s.value}\n)::double precision AS value`,
    ...(m.rowCounts ? [`(${ROWS_AGGREGATE})::double precision AS rows`] : []),
  ];
  const text = [
    "WITH b AS (",
    `SELECT ${select.join(",\n       ")}`,
    `FROM ${quoteIdent(s.table)}`,
    `WHERE ${where.join("\n  AND ")}`,
    "GROUP BY 1, 2, 3",
    isCalendarGranularity(m.granularityMs) ? `HAVING ${calendarWindowSql(bucket)}` : "",
    "), peaks AS (SELECT *, max(abs(value)) OVER (PARTITION BY dim_null, dim) AS peak FROM b),",
    "ranked AS (SELECT *, dense_rank() OVER (ORDER BY peak DESC NULLS LAST, dim_null, dim) AS r FROM peaks)",
    `SELECT * FROM ranked WHERE r <= $${values.length} ORDER BY dim_null, dim, bucket`,
  ]
    .filter(Boolean)
    .join("\n");
  return { text, values };
}

/** The slices of one dimension with their buckets, in time order. */
export async function fetchDimension(db: Queryable, scan: DimensionScan): Promise<Slice[]> {
  const q = buildDimensionQuery(scan);
  const { rows } = await db.query(q.text, q.values, scan.timeoutMs === undefined ? undefined : { timeoutMs: scan.timeoutMs });
  const out: Slice[] = [];
  let cur: Slice | null = null;
  for (const r of rows) {
    const value = r.dim_null === true || r.dim === null || r.dim === undefined ? null : String(r.dim);
    if (cur === null || cur.value !== value) {
      cur = { value, points: [] };
      out.push(cur);
    }
    const v = r.value === null || r.value === undefined ? null : Number(r.value);
    const p: Point = { t: timeOf(r.bucket), v: v !== null && Number.isFinite(v) ? v : null };
    if (scan.metric.rowCounts) p.n = Number(r.rows);
    cur.points.push(p);
  }
  return out;
}
