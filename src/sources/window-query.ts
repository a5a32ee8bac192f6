/**
 * A metric's value over arbitrary windows (calendar days in the config's timezone, for the digest),
 * in one query: each row is labelled with the window it falls in (windows do not overlap), so the
 * aggregate is exact for any expression (count(DISTINCT ...) included), not a sum of bucket values.
 * Windows are instants.
 */
import type { MetricConfig } from "../config/types.js";
import { type Queryable, quoteIdent } from "../db/database.js";
import { fetchBuckets } from "./fetch-buckets.js";
import { windowsSql } from "./time-sql.js";
import type { SqlQuery, TimeWindow } from "./types.js";

export function buildWindowQuery(m: MetricConfig, windows: readonly TimeWindow[]): SqlQuery {
  const s = m.source;
  if (!s) throw new Error(`metric "${m.name}" has no structured source`);
  const time = quoteIdent(s.time_column);
  const values: unknown[] = [];
  const w = windowsSql(time, windows, values, s.timezone, m.timezone);
  const where = s.where?.trim() ? [w.where, `(\n${s.where}\n)`] : [w.where];
  return {
    text: [
      `SELECT ${w.win} AS win, (\n${s.value}\n)::double precision AS value`,
      `FROM ${quoteIdent(s.table)}`,
      `WHERE ${where.join("\n  AND ")}`,
      "GROUP BY 1",
    ].join("\n"),
    values,
  };
}

/** The metric's value in each window (null where it had no rows). Raw-query metrics sum their buckets. */
export async function fetchWindowValues(db: Queryable, m: MetricConfig, windows: readonly TimeWindow[]): Promise<Array<number | null>> {
  const out = new Array<number | null>(windows.length).fill(null);
  if (windows.length === 0) return out;
  if (m.source) {
    const q = buildWindowQuery(m, windows);
    const { rows } = await db.query(q.text, q.values);
    for (const r of rows) {
      const v = r.value === null || r.value === undefined ? null : Number(r.value);
      out[Number(r.win) - 1] = v !== null && Number.isFinite(v) ? v : null;
    }
    return out;
  }
  // Raw SQL gives buckets only: a window's value is the sum of its buckets (documented approximation).
  const from = Math.min(...windows.map((w) => w.from));
  const to = Math.max(...windows.map((w) => w.to));
  const res = await fetchBuckets(db, m, { from, to });
  windows.forEach((w, i) => {
    let sum: number | null = null;
    for (const s of res.series) for (const p of s.points) if (p.t >= w.from && p.t < w.to && p.v !== null) sum = (sum ?? 0) + p.v;
    out[i] = sum;
  });
  return out;
}
