/** The demo's tables and bulk loading (unnest: one statement per few thousand rows). */
import type { Database } from "../db/database.js";
import type { EventRow } from "./synthetic.js";

export async function createDemoTables(db: Database): Promise<void> {
  await db.exec(`
    DROP TABLE IF EXISTS events;
    CREATE TABLE events (
      ts        timestamptz NOT NULL,
      user_id   integer NOT NULL,
      event     text NOT NULL,
      platform  text NOT NULL,
      country   text NOT NULL,
      revenue   numeric(10,2)
    );
    CREATE INDEX events_ts ON events (ts);
  `);
}

export async function insertEvents(db: Database, rows: readonly EventRow[]): Promise<void> {
  const CHUNK = 20_000;
  for (let i = 0; i < rows.length; i += CHUNK) {
    const part = rows.slice(i, i + CHUNK);
    await db.query(
      `INSERT INTO events (ts, user_id, event, platform, country, revenue)
       SELECT to_timestamp(t / 1000.0), u, e, p, c, r
       FROM unnest($1::float8[], $2::int[], $3::text[], $4::text[], $5::text[], $6::float8[]) AS x(t, u, e, p, c, r)`,
      [
        part.map((r) => r.ts),
        part.map((r) => r.userId),
        part.map((r) => r.event),
        part.map((r) => r.platform),
        part.map((r) => r.country),
        part.map((r) => r.revenue),
      ],
    );
  }
}

/**
 * The demo experiment: 4,000 users split 50/50 a week ago; their checkout attempts since, with the
 * treatment failing more often (6% vs 4%) — a harmed guardrail vigil should catch.
 */
export async function createDemoExperiment(db: Database, simStart: number): Promise<void> {
  await db.exec(`
    DROP TABLE IF EXISTS exp_assignments;
    DROP TABLE IF EXISTS checkout_attempts;
    CREATE TABLE exp_assignments (user_id integer NOT NULL, variant text NOT NULL, assigned_at timestamptz NOT NULL, experiment text NOT NULL);
    CREATE TABLE checkout_attempts (user_id integer NOT NULL, ts timestamptz NOT NULL, failed boolean NOT NULL);
  `);
  await db.query(
    `INSERT INTO exp_assignments
     SELECT u, CASE WHEN u % 2 = 0 THEN 'control' ELSE 'treatment' END,
            to_timestamp($1::float8 / 1000) - interval '7 days' + (u % 1000) * interval '1 minute', 'new_checkout'
     FROM generate_series(1, 4000) AS u`,
    [simStart],
  );
  await db.query(
    `INSERT INTO checkout_attempts
     SELECT a.user_id, a.assigned_at + (k * 13 + a.user_id % 97) * interval '1 hour',
            random() < CASE WHEN a.variant = 'control' THEN 0.04 ELSE 0.06 END
     FROM exp_assignments a, generate_series(1, 8) AS k`,
  );
}
