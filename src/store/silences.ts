/** The statements on silences: operator-set mutes by metric and series glob, until they end or are removed. */
import type { Queryable, Row } from "../db/database.js";
import type { NewSilence, Silence } from "../model/silence.js";
import { toDate, toMs, toNum } from "./rows.js";

function rowToSilence(row: Row): Silence {
  return {
    id: toNum(row.id) ?? 0,
    metricGlob: String(row.metric_glob),
    seriesGlob: String(row.series_glob),
    reason: String(row.reason ?? ""),
    createdBy: String(row.created_by),
    createdAt: toMs(row.created_at) ?? 0,
    endsAt: toMs(row.ends_at) ?? 0,
    removedAt: toMs(row.removed_at),
  };
}

export class SilenceTable {
  constructor(
    private readonly db: Queryable,
    private readonly schema: string,
  ) {}

  async add(silence: NewSilence): Promise<Silence> {
    const { rows } = await this.db.query(
      `INSERT INTO ${this.schema}.silences (metric_glob, series_glob, reason, created_by, created_at, ends_at)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
      [silence.metricGlob, silence.seriesGlob, silence.reason, silence.createdBy, toDate(silence.at), toDate(silence.endsAt)],
    );
    return rowToSilence(rows[0]!);
  }

  async active(now: number): Promise<Silence[]> {
    const { rows } = await this.db.query(`SELECT * FROM ${this.schema}.silences WHERE removed_at IS NULL AND ends_at > $1 ORDER BY id`, [
      toDate(now),
    ]);
    return rows.map(rowToSilence);
  }

  async list(opts: { all?: boolean; now: number }): Promise<Silence[]> {
    const { rows } = opts.all
      ? await this.db.query(`SELECT * FROM ${this.schema}.silences ORDER BY id DESC LIMIT 200`)
      : await this.db.query(`SELECT * FROM ${this.schema}.silences WHERE removed_at IS NULL AND ends_at > $1 ORDER BY id`, [
          toDate(opts.now),
        ]);
    return rows.map(rowToSilence);
  }

  async remove(id: number, at: number): Promise<boolean> {
    const { rows } = await this.db.query(
      `UPDATE ${this.schema}.silences SET removed_at = $2 WHERE id = $1 AND removed_at IS NULL RETURNING id`,
      [id, toDate(at)],
    );
    return rows.length > 0;
  }
}
