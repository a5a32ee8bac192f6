/** The statements on the alerts table: reads, and writes at a row version (the caller decides what a lost version means). */
import type { Queryable } from "../db/database.js";
import type { Alert, AlertState } from "../model/alert.js";
import { ALERT_COLUMNS, ALERT_WRITE, alertColumns, OPEN_STATES, rowToAlert } from "./alert-columns.js";
import { slices, takeIds, WRITE_SLICE } from "./bulk-write.js";
import { toDate, toNum } from "./rows.js";

export class AlertTable {
  constructor(
    private readonly db: Queryable,
    private readonly schema: string,
  ) {}

  /** Read in pages: the embedded database answers nothing else (not even /healthz) while one query runs. */
  async open(): Promise<Alert[]> {
    const out: Alert[] = [];
    for (let after = 0; ; ) {
      const { rows } = await this.db.query(
        `SELECT ${ALERT_COLUMNS} FROM ${this.schema}.alerts WHERE state IN (${OPEN_STATES}) AND id > $1 ORDER BY id LIMIT $2`,
        [after, WRITE_SLICE],
      );
      for (const row of rows) out.push(rowToAlert(row));
      if (rows.length < WRITE_SLICE) return out;
      after = out.at(-1)!.id!;
    }
  }

  async get(id: number): Promise<Alert | null> {
    const { rows } = await this.db.query(`SELECT ${ALERT_COLUMNS} FROM ${this.schema}.alerts WHERE id = $1`, [id]);
    return rows[0] ? rowToAlert(rows[0]) : null;
  }

  async list(opts: { state?: AlertState; limit?: number }): Promise<Alert[]> {
    const limit = opts.limit ?? 200;
    const { rows } = opts.state
      ? await this.db.query(`SELECT ${ALERT_COLUMNS} FROM ${this.schema}.alerts WHERE state = $1 ORDER BY id DESC LIMIT $2`, [
          opts.state,
          limit,
        ])
      : await this.db.query(`SELECT ${ALERT_COLUMNS} FROM ${this.schema}.alerts ORDER BY id DESC LIMIT $1`, [limit]);
    return rows.map(rowToAlert);
  }

  async firedSince(since: number, limit: number): Promise<Alert[]> {
    const { rows } = await this.db.query(
      `SELECT ${ALERT_COLUMNS} FROM ${this.schema}.alerts WHERE fired_at >= $1 ORDER BY fired_at DESC LIMIT $2`,
      [toDate(since), limit],
    );
    return rows.map(rowToAlert);
  }

  async opensSince(fingerprints: readonly string[], since: number): Promise<Map<string, number>> {
    if (fingerprints.length === 0) return new Map();
    const { rows } = await this.db.query(
      `SELECT fingerprint, count(*)::int AS n FROM ${this.schema}.alerts
       WHERE fingerprint = ANY($1::text[]) AND fired_at > $2 GROUP BY fingerprint`,
      [fingerprints, toDate(since)],
    );
    return new Map(rows.map((row) => [String(row.fingerprint), toNum(row.n) ?? 0]));
  }

  async countsByState(): Promise<Record<AlertState, number>> {
    const { rows } = await this.db.query(
      `SELECT state, count(*)::int AS n FROM ${this.schema}.alerts
       WHERE state IN (${OPEN_STATES}) OR (state = 'resolved' AND resolved_at > now() - interval '1 day') GROUP BY state`,
    );
    const out: Record<AlertState, number> = { pending: 0, firing: 0, acknowledged: 0, snoozed: 0, resolved: 0 };
    for (const row of rows) out[String(row.state) as AlertState] = toNum(row.n) ?? 0;
    return out;
  }

  /** The alert, its row locked until the transaction ends. */
  async lock(tx: Queryable, id: number): Promise<(Alert & { id: number }) | null> {
    const { rows } = await tx.query(`SELECT ${ALERT_COLUMNS} FROM ${this.schema}.alerts WHERE id = $1 FOR UPDATE`, [id]);
    return rows[0] ? (rowToAlert(rows[0]) as Alert & { id: number }) : null;
  }

  /** Stored alerts (with their `ids`) updated where their versions still match: the new version of each id that did. */
  async updateAtVersions(tx: Queryable, alerts: readonly Alert[], ids: readonly number[]): Promise<Map<number, number>> {
    const { rows } = await tx.query(
      `UPDATE ${this.schema}.alerts a SET ${ALERT_WRITE.map((column) => `${column.name} = x.${column.name}`).join(", ")}, version = a.version + 1
         FROM unnest($1::bigint[], $2::integer[], ${ALERT_WRITE.map((column, k) => `$${k + 3}::${column.type}[]`).join(", ")})
           AS x(id, version, ${ALERT_WRITE.map((column) => column.name).join(", ")})
         WHERE a.id = x.id AND a.version = x.version RETURNING a.id, a.version`,
      [ids, alerts.map((alert) => alert.version), ...alertColumns(alerts)],
    );
    return new Map(rows.map((row) => [toNum(row.id) ?? 0, toNum(row.version) ?? 0]));
  }

  /** New alerts inserted in the order given, with ids taken in advance: their ids. */
  async insertNew(tx: Queryable, alerts: readonly Alert[]): Promise<number[]> {
    const ids = await takeIds(tx, this.schema, "alerts", alerts.length);
    for (const [start, end] of slices(alerts.length)) {
      await tx.query(
        `INSERT INTO ${this.schema}.alerts (id, ${ALERT_WRITE.map((column) => column.name).join(", ")})
           SELECT * FROM unnest($1::bigint[], ${ALERT_WRITE.map((column, k) => `$${k + 2}::${column.type}[]`).join(", ")})`,
        [ids.slice(start, end), ...alertColumns(alerts.slice(start, end))],
      );
    }
    return ids;
  }
}
