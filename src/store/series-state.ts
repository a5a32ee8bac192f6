/** The statements on series_state: how far each series has been judged (its watermark). */
import type { Queryable } from "../db/database.js";
import { toMs } from "./rows.js";

/** The newest bucket judged for one series, as epoch milliseconds. */
export interface Watermark {
  metric: string;
  series: string;
  watermark: number;
}

export class SeriesStateTable {
  constructor(
    private readonly db: Queryable,
    private readonly schema: string,
  ) {}

  async watermarks(metric: string): Promise<Map<string, number>> {
    const { rows } = await this.db.query(`SELECT series, watermark FROM ${this.schema}.series_state WHERE metric = $1`, [metric]);
    const out = new Map<string, number>();
    for (const row of rows) {
      const watermark = toMs(row.watermark);
      if (watermark !== null) out.set(String(row.series), watermark);
    }
    return out;
  }

  /** One statement for all series of a tick: unnest keeps the round trips flat as series grow; a watermark never moves back. */
  async save(tx: Queryable, marks: readonly Watermark[]): Promise<void> {
    await tx.query(
      `INSERT INTO ${this.schema}.series_state (metric, series, watermark, updated_at)
       SELECT m, s, to_timestamp(w / 1000.0), now()
       FROM unnest($1::text[], $2::text[], $3::double precision[]) AS x(m, s, w)
       ON CONFLICT (metric, series) DO UPDATE SET watermark = GREATEST(${this.schema}.series_state.watermark, EXCLUDED.watermark), updated_at = EXCLUDED.updated_at`,
      [marks.map((mark) => mark.metric), marks.map((mark) => mark.series), marks.map((mark) => mark.watermark)],
    );
  }
}
