/** The statements on deliveries, the outbox: notifications written with the change that causes them, sent later in order. */
import type { Queryable, Row } from "../db/database.js";
import type { DeliveryDraft, Notification } from "../model/notification.js";
import { iso, slices, takeIds } from "./bulk-write.js";
import { toDate, toJson, toMs, toNum } from "./rows.js";
import type { Delivery } from "./state-store.js";

/** A draft on its way into the outbox, with the alert it belongs to and its creation time. */
export interface QueuedDelivery {
  draft: DeliveryDraft;
  alertId: number | null;
  at: number;
}

function rowToDelivery(row: Row): Delivery {
  return {
    id: toNum(row.id) ?? 0,
    channel: String(row.channel),
    alertId: toNum(row.alert_id),
    kind: String(row.kind),
    payload: toJson<Notification>(row.payload, { type: "text", title: "", text: "", at: 0 }),
    key: String(row.idempotency_key),
    status: String(row.status) as Delivery["status"],
    attempts: toNum(row.attempts) ?? 0,
    createdAt: toMs(row.created_at) ?? 0,
    nextAttemptAt: toMs(row.next_attempt_at) ?? 0,
    lastError: row.last_error === null || row.last_error === undefined ? null : String(row.last_error),
  };
}

export class Outbox {
  constructor(
    private readonly db: Queryable,
    private readonly schema: string,
  ) {}

  /** Deliveries in the order given (a channel sends by id); one already queued under its key is skipped. */
  async enqueueAll(tx: Queryable, queued: readonly QueuedDelivery[]): Promise<void> {
    const ids = await takeIds(tx, this.schema, "deliveries", queued.length);
    for (const [start, end] of slices(queued.length)) {
      const part = queued.slice(start, end);
      await tx.query(
        `INSERT INTO ${this.schema}.deliveries (id, channel, alert_id, kind, payload, idempotency_key, created_at, next_attempt_at)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::jsonb[], $6::text[], $7::timestamptz[], $7::timestamptz[])
         ON CONFLICT (idempotency_key) DO NOTHING`,
        [
          ids.slice(start, end),
          part.map((queuedDelivery) => queuedDelivery.draft.channel),
          part.map((queuedDelivery) => queuedDelivery.alertId),
          part.map((queuedDelivery) => queuedDelivery.draft.kind),
          part.map(({ draft }) => JSON.stringify(draft.fingerprint ? { ...draft.payload, fingerprint: draft.fingerprint } : draft.payload)),
          part.map((queuedDelivery) => queuedDelivery.draft.key),
          part.map((queuedDelivery) => iso(queuedDelivery.at)),
        ],
      );
    }
  }

  /** Channels that were told about the alert, alone or in a group, so that they hear of its later changes. */
  async notifiedChannels(tx: Queryable, alertId: number): Promise<string[]> {
    const { rows } = await tx.query(
      `SELECT DISTINCT channel FROM ${this.schema}.deliveries
           WHERE (alert_id = $1 AND kind IN ('firing', 'reminder'))
              OR (kind = 'group' AND payload->'alerts' @> $2::jsonb)`,
      [alertId, JSON.stringify([{ alert: { id: alertId } }])],
    );
    return rows.map((row) => String(row.channel));
  }

  /** Each channel's run is one walk of the pending index, so a long backlog is read in batches instead of scanned whole per delivery. */
  async heads(perChannel: number): Promise<Delivery[]> {
    const { rows } = await this.db.query(
      `SELECT d.* FROM (SELECT DISTINCT channel FROM ${this.schema}.deliveries WHERE status = 'pending') c
       CROSS JOIN LATERAL (
         SELECT id, channel, alert_id, kind, payload, idempotency_key, status, attempts, created_at, next_attempt_at, last_error
         FROM ${this.schema}.deliveries WHERE status = 'pending' AND channel = c.channel ORDER BY id LIMIT $1) d
       ORDER BY d.channel, d.id`,
      [perChannel],
    );
    return rows.map(rowToDelivery);
  }

  async markSent(id: number, at: number): Promise<void> {
    await this.db.query(
      `UPDATE ${this.schema}.deliveries SET status = 'sent', sent_at = $2, attempts = attempts + 1, last_error = NULL WHERE id = $1`,
      [id, toDate(at)],
    );
  }

  async markRetry(id: number, nextAt: number, error: string): Promise<void> {
    await this.db.query(
      `UPDATE ${this.schema}.deliveries SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3 WHERE id = $1`,
      [id, toDate(nextAt), error.slice(0, 2000)],
    );
  }

  async markDead(id: number, error: string): Promise<void> {
    await this.db.query(`UPDATE ${this.schema}.deliveries SET status = 'dead', attempts = attempts + 1, last_error = $2 WHERE id = $1`, [
      id,
      error.slice(0, 2000),
    ]);
  }

  async channelLoad(now: number): Promise<Map<string, { alerts: number; stormSent: boolean }>> {
    const { rows } = await this.db.query(
      `SELECT channel,
              sum(CASE kind WHEN 'group' THEN jsonb_array_length(payload->'alerts') WHEN 'storm' THEN 0 ELSE 1 END)::int AS alerts,
              bool_or(kind = 'storm') AS storm
       FROM ${this.schema}.deliveries
       WHERE created_at > $1 AND kind IN ('firing', 'group', 'storm')
       GROUP BY channel`,
      [toDate(now - 60_000)],
    );
    return new Map(rows.map((row) => [String(row.channel), { alerts: toNum(row.alerts) ?? 0, stormSent: row.storm === true }]));
  }

  async flapNoticesSince(fingerprints: readonly string[], since: number): Promise<Set<string>> {
    if (fingerprints.length === 0) return new Set();
    const { rows } = await this.db.query(
      `SELECT DISTINCT payload->>'fingerprint' AS fp FROM ${this.schema}.deliveries
       WHERE kind = 'flapping' AND created_at > $1 AND payload->>'fingerprint' = ANY($2::text[])`,
      [toDate(since), fingerprints],
    );
    return new Set(rows.map((row) => String(row.fp)));
  }

  async about(alertId: number, limit: number): Promise<Delivery[]> {
    const { rows } = await this.db.query(
      `SELECT * FROM ${this.schema}.deliveries
       WHERE alert_id = $1 OR (kind = 'group' AND payload->'alerts' @> $2::jsonb)
       ORDER BY id DESC LIMIT $3`,
      [alertId, JSON.stringify([{ alert: { id: alertId } }]), limit],
    );
    return rows.map(rowToDelivery);
  }

  async depth(): Promise<number> {
    const { rows } = await this.db.query(`SELECT count(*)::int AS n FROM ${this.schema}.deliveries WHERE status = 'pending'`);
    return toNum(rows[0]?.n) ?? 0;
  }

  async list(opts: { status?: Delivery["status"] }): Promise<Delivery[]> {
    const { rows } = opts.status
      ? await this.db.query(`SELECT * FROM ${this.schema}.deliveries WHERE status = $1 ORDER BY id`, [opts.status])
      : await this.db.query(`SELECT * FROM ${this.schema}.deliveries ORDER BY id`);
    return rows.map(rowToDelivery);
  }
}
