/** Deterministic test series and the table they live in. */
import type { Database } from "../../src/db/database.js";

export function noise(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
}

export interface Row {
  ts: number;
  v: number | null;
  series?: string;
}

export async function createMetricTable(db: Database, table = "metric_data"): Promise<void> {
  await db.exec(`CREATE TABLE ${table} (ts timestamptz NOT NULL, series text NOT NULL DEFAULT 'a', v double precision)`);
}

export async function insertRows(db: Database, table: string, rows: readonly Row[]): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `INSERT INTO ${table} (ts, series, v) SELECT to_timestamp(t / 1000.0), s, v FROM unnest($1::float8[], $2::text[], $3::float8[]) AS x(t, s, v)`,
    [rows.map((r) => r.ts), rows.map((r) => r.series ?? "a"), rows.map((r) => r.v)],
  );
}
