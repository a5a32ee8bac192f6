/** Helpers for writing many rows in a few statements: unnest() over slices, with ids taken in advance. */
import type { Queryable } from "../db/database.js";
import { toNum } from "./rows.js";

/** Rows written or read per statement: the embedded database answers nothing else while one runs. */
export const WRITE_SLICE = 1000;

/** [start, end) index ranges of at most WRITE_SLICE rows covering `count` rows. */
export function slices(count: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let start = 0; start < count; start += WRITE_SLICE) out.push([start, Math.min(count, start + WRITE_SLICE)]);
  return out;
}

/** Timestamps go into unnest() arrays as ISO text, which PostgreSQL casts to timestamptz. */
export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** Ids taken from a table's sequence in advance, ascending, so that rows inserted together keep their order. */
export async function takeIds(tx: Queryable, schema: string, table: string, count: number): Promise<number[]> {
  if (count === 0) return [];
  const { rows } = await tx.query(`SELECT nextval(pg_get_serial_sequence($1, 'id')) AS id FROM generate_series(1, $2)`, [
    `${schema}.${table}`,
    count,
  ]);
  return rows.map((row) => toNum(row.id) ?? 0).sort((a, b) => a - b);
}
