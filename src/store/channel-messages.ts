/** The statements on channel_messages: where an alert's message went in each channel, to edit or thread later changes under it. */
import type { Queryable } from "../db/database.js";
import { toJson } from "./rows.js";

export class ChannelMessageTable {
  constructor(
    private readonly db: Queryable,
    private readonly schema: string,
  ) {}

  async get(alertId: number, channel: string): Promise<unknown | null> {
    const { rows } = await this.db.query(`SELECT message_ref FROM ${this.schema}.channel_messages WHERE alert_id = $1 AND channel = $2`, [
      alertId,
      channel,
    ]);
    return rows[0] ? toJson<unknown>(rows[0].message_ref, null) : null;
  }

  async save(alertId: number, channel: string, ref: unknown): Promise<void> {
    await this.db.query(
      `INSERT INTO ${this.schema}.channel_messages (alert_id, channel, message_ref) VALUES ($1, $2, $3)
       ON CONFLICT (alert_id, channel) DO UPDATE SET message_ref = EXCLUDED.message_ref`,
      [alertId, channel, JSON.stringify(ref)],
    );
  }
}
