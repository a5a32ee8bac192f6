/**
 * The state schema, as numbered, append-only migrations. Each runs once, in a transaction, under an
 * advisory lock so that replicas starting together do not race. Never edit a released migration:
 * add a new one.
 */
import { type Database, quoteIdent } from "../db/database.js";

export interface Migration {
  version: number;
  name: string;
  sql: (schema: string) => string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "alerts, history, deliveries, silences, audit, series state",
    sql: (s) => `
CREATE TABLE ${s}.alerts (
  id               bigserial PRIMARY KEY,
  fingerprint      text NOT NULL,
  kind             text NOT NULL DEFAULT 'metric',
  metric           text NOT NULL,
  series           text NOT NULL DEFAULT '',
  detector         text NOT NULL,
  state            text NOT NULL CHECK (state IN ('pending','firing','acknowledged','snoozed','resolved')),
  severity         text NOT NULL,
  value            double precision,
  expected         double precision,
  lower_bound      double precision,
  upper_bound      double precision,
  sigmas           double precision,
  reason           text NOT NULL DEFAULT '',
  peak_deviation   double precision,
  anomalous_count  integer NOT NULL DEFAULT 1,
  streak           integer NOT NULL DEFAULT 1,
  ok_streak        integer NOT NULL DEFAULT 0,
  bucket           timestamptz,
  first_bucket     timestamptz,
  started_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  fired_at         timestamptz,
  resolved_at      timestamptz,
  snoozed_until    timestamptz,
  last_notified_at timestamptz,
  acted_by         text,
  details          jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE UNIQUE INDEX alerts_open_fingerprint ON ${s}.alerts (fingerprint) WHERE state <> 'resolved';
CREATE INDEX alerts_state ON ${s}.alerts (state);
CREATE INDEX alerts_metric ON ${s}.alerts (metric, started_at DESC);

CREATE TABLE ${s}.alert_history (
  id          bigserial PRIMARY KEY,
  alert_id    bigint NOT NULL REFERENCES ${s}.alerts(id) ON DELETE CASCADE,
  at          timestamptz NOT NULL,
  from_state  text,
  to_state    text NOT NULL,
  actor       text NOT NULL,
  note        text NOT NULL DEFAULT ''
);
CREATE INDEX alert_history_alert ON ${s}.alert_history (alert_id, id);

CREATE TABLE ${s}.deliveries (
  id               bigserial PRIMARY KEY,
  channel          text NOT NULL,
  alert_id         bigint REFERENCES ${s}.alerts(id) ON DELETE SET NULL,
  kind             text NOT NULL,
  payload          jsonb NOT NULL,
  idempotency_key  text NOT NULL UNIQUE,
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','sent','dead')),
  attempts         integer NOT NULL DEFAULT 0,
  created_at       timestamptz NOT NULL,
  next_attempt_at  timestamptz NOT NULL,
  sent_at          timestamptz,
  last_error       text
);
CREATE INDEX deliveries_pending ON ${s}.deliveries (channel, id) WHERE status = 'pending';

CREATE TABLE ${s}.channel_messages (
  alert_id    bigint NOT NULL REFERENCES ${s}.alerts(id) ON DELETE CASCADE,
  channel     text NOT NULL,
  message_ref jsonb NOT NULL,
  PRIMARY KEY (alert_id, channel)
);

CREATE TABLE ${s}.silences (
  id           bigserial PRIMARY KEY,
  metric_glob  text NOT NULL,
  series_glob  text NOT NULL DEFAULT '*',
  reason       text NOT NULL DEFAULT '',
  created_by   text NOT NULL,
  created_at   timestamptz NOT NULL,
  ends_at      timestamptz NOT NULL,
  removed_at   timestamptz
);

CREATE TABLE ${s}.audit_log (
  id      bigserial PRIMARY KEY,
  at      timestamptz NOT NULL,
  actor   text NOT NULL,
  action  text NOT NULL,
  target  text NOT NULL DEFAULT '',
  allowed boolean NOT NULL,
  detail  jsonb NOT NULL DEFAULT '{}'::jsonb
);

CREATE TABLE ${s}.series_state (
  metric      text NOT NULL,
  series      text NOT NULL,
  watermark   timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  PRIMARY KEY (metric, series)
);
`,
  },
  {
    version: 2,
    name: "optimistic concurrency on alerts",
    // Chat actions and ticks both change alerts; a version column lets a writer detect that the
    // row changed under it instead of silently overwriting an acknowledgement.
    sql: (s) => `ALTER TABLE ${s}.alerts ADD COLUMN version integer NOT NULL DEFAULT 0;
CREATE INDEX silences_active ON ${s}.silences (ends_at) WHERE removed_at IS NULL;
CREATE INDEX deliveries_alert ON ${s}.deliveries (alert_id, channel)`,
  },
  {
    version: 3,
    name: "room for in-place watermark updates",
    // Every tick rewrites one watermark row per metric. With free space on each page PostgreSQL
    // updates them in place (HOT: no new index entry), which halves the cost of that write.
    sql: (s) => `ALTER TABLE ${s}.series_state SET (fillfactor = 50)`,
  },
  {
    version: 4,
    name: "indexes for the per-tick reads of the outbox and closed alerts, and for retention",
    // Flapping notices and channel load read the outbox by age, flap counts read alerts by
    // fingerprint and fire time, the state gauge reads recently resolved alerts; retention deletes by age.
    sql: (s) => `CREATE INDEX deliveries_created ON ${s}.deliveries (created_at);
CREATE INDEX alerts_fingerprint_fired ON ${s}.alerts (fingerprint, fired_at);
CREATE INDEX alerts_resolved_at ON ${s}.alerts (resolved_at) WHERE state = 'resolved';
CREATE INDEX audit_log_at ON ${s}.audit_log (at);
CREATE INDEX series_state_updated ON ${s}.series_state (updated_at)`,
  },
];

/** Lock key for migrations: a constant so every replica contends on the same lock. */
const MIGRATION_LOCK = 0x76696731; // "vig1"

/** Apply pending migrations; returns the versions applied now. Idempotent and safe to race. */
export async function migrate(db: Database, schema = "vigil"): Promise<number[]> {
  const s = quoteIdent(schema);
  return db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    await tx.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await tx.query(
      `CREATE TABLE IF NOT EXISTS ${s}.migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const { rows } = await tx.query<{ version: number }>(`SELECT version FROM ${s}.migrations`);
    const done = new Set(rows.map((r) => Number(r.version)));
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      // One statement per query: PGlite's extended protocol takes a single statement.
      for (const stmt of splitStatements(m.sql(s))) await tx.query(stmt);
      await tx.query(`INSERT INTO ${s}.migrations (version, name) VALUES ($1, $2)`, [m.version, m.name]);
      applied.push(m.version);
    }
    return applied;
  });
}

/** Split migration text on statement-ending semicolons (migrations hold no semicolons inside literals). */
export function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*(?:\n|$)/)
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
}
