/**
 * Drill-down for root cause: one query per dimension that returns the metric's value per dimension
 * value in several windows at once (the alert's bucket and the same slot in earlier periods), so the
 * slices that moved can be compared with their own baseline. Each window is its own range on the
 * time column, so PostgreSQL can use the time index once per window. Windows are instants.
 */
import type { StructuredSource } from "../config/types.js";
import { type Queryable, quoteIdent } from "../db/database.js";
import { windowsSql } from "./time-sql.js";
import type { SqlQuery, TimeWindow } from "./types.js";

export interface DimensionScan {
  source: StructuredSource;
  dimension: string;
  windows: readonly TimeWindow[];
  /** Only rows of this series (split_by column -> value). */
  filter: Record<string, string>;
  /** At most this many rows back (a safety cap on very wide dimensions). */
  limit?: number;
}

export function buildDimensionQuery(scan: DimensionScan): SqlQuery {
  const s = scan.source;
  const time = quoteIdent(s.time_column);
  const values: unknown[] = [];
  // each window its own index range, on bounds of the column's own type (time-sql.ts)
  const w = windowsSql(time, scan.windows, values, s.timezone);
  const where: string[] = [w.where];
  if (s.where?.trim()) where.push(`(\n${s.where}\n)`);
  for (const [col, v] of Object.entries(scan.filter)) {
    values.push(v);
    where.push(`(${quoteIdent(col)})::text = $${values.length}`);
  }
  values.push(scan.limit ?? 5000);
  const text = [
    `SELECT (${quoteIdent(scan.dimension)})::text AS dim, ${w.win} AS win, (\n${s.value}\n)::double precision AS value`,
    `FROM ${quoteIdent(s.table)}`,
    `WHERE ${where.join("\n  AND ")}`,
    "GROUP BY 1, 2",
    `LIMIT $${values.length}`,
  ]
    .filter(Boolean)
    .join("\n");
  return { text, values };
}

/** value per dimension value per window (window index 0-based, in the order given). */
export async function fetchDimension(db: Queryable, scan: DimensionScan): Promise<Map<string, Array<number | null>>> {
  const q = buildDimensionQuery(scan);
  const { rows } = await db.query(q.text, q.values);
  const out = new Map<string, Array<number | null>>();
  for (const r of rows) {
    const key = r.dim === null || r.dim === undefined ? "(null)" : String(r.dim);
    const w = Number(r.win) - 1;
    const v = r.value === null || r.value === undefined ? null : Number(r.value);
    let arr = out.get(key);
    if (!arr) {
      arr = new Array<number | null>(scan.windows.length).fill(null);
      out.set(key, arr);
    }
    arr[w] = v !== null && Number.isFinite(v) ? v : null;
  }
  return out;
}
