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
