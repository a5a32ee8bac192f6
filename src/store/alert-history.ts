/** The statements on alert_history: every state change of an alert, in order. */
import type { Queryable } from "../db/database.js";
import type { Alert, AlertEvent, AlertState } from "../model/alert.js";
import { iso, slices, takeIds } from "./bulk-write.js";
import { toMs, toNum } from "./rows.js";
import type { HistoryEntry } from "./state-store.js";

export class AlertHistoryTable {
  constructor(
    private readonly db: Queryable,
    private readonly schema: string,
  ) {}

  async list(alertId: number): Promise<HistoryEntry[]> {
    const { rows } = await this.db.query(
      `SELECT alert_id, at, from_state, to_state, actor, note FROM ${this.schema}.alert_history WHERE alert_id = $1 ORDER BY id`,
      [alertId],
    );
    return rows.map((row) => ({
      alertId: toNum(row.alert_id) ?? 0,
      at: toMs(row.at) ?? 0,
      from: (row.from_state ?? null) as AlertState | null,
      to: String(row.to_state) as AlertState,
      actor: String(row.actor),
      note: String(row.note),
    }));
  }

  /** Each stored alert's event, at the alert's update time, in the order given: their history ids. */
  async insertAll(tx: Queryable, events: ReadonlyArray<{ saved: Alert & { id: number }; ev: AlertEvent }>): Promise<number[]> {
    const ids = await takeIds(tx, this.schema, "alert_history", events.length);
    for (const [start, end] of slices(events.length)) {
      const part = events.slice(start, end);
      await tx.query(
        `INSERT INTO ${this.schema}.alert_history (id, alert_id, at, from_state, to_state, actor, note)
         SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[])`,
        [
          ids.slice(start, end),
          part.map((entry) => entry.saved.id),
          part.map((entry) => iso(entry.saved.updatedAt)),
          part.map((entry) => entry.ev.from),
          part.map((entry) => entry.ev.to),
          part.map((entry) => entry.ev.actor),
          part.map((entry) => entry.ev.note),
        ],
      );
    }
    return ids;
  }
}
