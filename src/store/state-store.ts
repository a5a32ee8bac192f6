/**
 * All SQL against vigil's own state schema. Returns domain types, never driver rows.
 * A tick's alert changes, their history, the deliveries they cause and the new watermarks are
 * written in ONE transaction: the outbox guarantee that nothing is lost or sent twice.
 */
import { type Database, type Queryable, quoteIdent, type Row } from "../db/database.js";
import type { Alert, AlertEvent, AlertState } from "../model/alert.js";
import type { Notification } from "../model/notification.js";
import type { Silence } from "../model/silence.js";
import { toDate, toJson, toMs, toNum } from "./rows.js";

export interface DeliveryDraft {
  channel: string;
  kind: string;
  payload: Notification;
  /** Unique per (change, channel); repeated enqueues with the same key are dropped. */
  key: string;
  /** The fingerprint a notice is about (flapping), for later look-ups. */
  fingerprint?: string;
}

export interface OutcomeToStore {
  alert: Alert;
  events: AlertEvent[];
}

export interface TickWrite {
  outcomes: OutcomeToStore[];
  watermarks: Array<{ metric: string; series: string; watermark: number }>;
  /**
   * Deliveries for a stored alert's event (called inside the transaction, after ids are known),
   * given the alert as of that event (its `snapshot`, else the stored row).
   */
  deliveriesFor?: (alert: Alert & { id: number }, event: AlertEvent, historyId: number) => DeliveryDraft[];
  /** Extra deliveries not tied to an alert change (digests, notices). */
  extraDeliveries?: DeliveryDraft[];
  /**
   * Plan all deliveries of the tick at once (grouping needs to see every event), inside the
   * transaction after the alerts and their history rows are written; each event comes with the
   * alert as of that event, in the order of each alert's events.
   */
  plan?: (events: Array<{ alert: Alert & { id: number }; event: AlertEvent; historyId: number }>) => DeliveryDraft[];
}

export interface Delivery {
  id: number;
  channel: string;
  alertId: number | null;
  kind: string;
  payload: Notification;
  key: string;
  status: "pending" | "sent" | "dead";
  attempts: number;
  createdAt: number;
  nextAttemptAt: number;
  lastError: string | null;
}

export interface HistoryEntry {
  alertId: number;
  at: number;
  from: AlertState | null;
  to: AlertState;
  actor: string;
  note: string;
}

const ALERT_COLUMNS = `id, fingerprint, kind, metric, series, detector, state, severity, value, expected,
  lower_bound, upper_bound, sigmas, reason, peak_deviation, anomalous_count, streak, ok_streak, bucket,
  first_bucket, started_at, updated_at, fired_at, resolved_at, snoozed_until, last_notified_at, acted_by, details, version`;

function rowToAlert(r: Row): Alert {
  return {
    id: toNum(r.id),
    fingerprint: String(r.fingerprint),
    kind: String(r.kind) as Alert["kind"],
    metric: String(r.metric),
    series: String(r.series),
    detector: String(r.detector),
    state: String(r.state) as AlertState,
    severity: String(r.severity) as Alert["severity"],
    value: toNum(r.value),
    expected: toNum(r.expected),
    lower: toNum(r.lower_bound),
    upper: toNum(r.upper_bound),
    sigmas: toNum(r.sigmas),
    reason: String(r.reason ?? ""),
    peakDeviation: toNum(r.peak_deviation),
    anomalousCount: toNum(r.anomalous_count) ?? 0,
    streak: toNum(r.streak) ?? 0,
    okStreak: toNum(r.ok_streak) ?? 0,
    bucket: toMs(r.bucket),
    firstBucket: toMs(r.first_bucket),
    startedAt: toMs(r.started_at) ?? 0,
    updatedAt: toMs(r.updated_at) ?? 0,
    firedAt: toMs(r.fired_at),
    resolvedAt: toMs(r.resolved_at),
    snoozedUntil: toMs(r.snoozed_until),
    lastNotifiedAt: toMs(r.last_notified_at),
    actedBy: r.acted_by === null || r.acted_by === undefined ? null : String(r.acted_by),
    details: toJson(r.details, {}),
    version: toNum(r.version) ?? 0,
  };
}

/** The alert changed in the database since it was read (a chat action raced a tick, or another replica). */
export class AlertConflictError extends Error {
  override readonly name = "AlertConflictError";
  constructor(readonly alertId: number) {
    super(`alert #${alertId} changed while it was being updated`);
  }
}

function rowToSilence(r: Row): Silence {
  return {
    id: toNum(r.id) ?? 0,
    metricGlob: String(r.metric_glob),
    seriesGlob: String(r.series_glob),
    reason: String(r.reason ?? ""),
    createdBy: String(r.created_by),
    createdAt: toMs(r.created_at) ?? 0,
    endsAt: toMs(r.ends_at) ?? 0,
    removedAt: toMs(r.removed_at),
  };
}

function rowToDelivery(r: Row): Delivery {
  return {
    id: toNum(r.id) ?? 0,
    channel: String(r.channel),
    alertId: toNum(r.alert_id),
    kind: String(r.kind),
    payload: toJson<Notification>(r.payload, { type: "text", title: "", text: "", at: 0 }),
    key: String(r.idempotency_key),
    status: String(r.status) as Delivery["status"],
    attempts: toNum(r.attempts) ?? 0,
    createdAt: toMs(r.created_at) ?? 0,
    nextAttemptAt: toMs(r.next_attempt_at) ?? 0,
    lastError: r.last_error === null || r.last_error === undefined ? null : String(r.last_error),
  };
}

/** Finite numbers only reach the database (NaN/Infinity would poison JSON and comparisons). */
function fin(v: number | null): number | null {
  return v !== null && Number.isFinite(v) ? v : null;
}

/** The alert columns a tick writes, with their types for unnest(), in the order of alertColumns. */
const ALERT_WRITE = [
  ["fingerprint", "text"],
  ["kind", "text"],
  ["metric", "text"],
  ["series", "text"],
  ["detector", "text"],
  ["state", "text"],
  ["severity", "text"],
  ["value", "float8"],
  ["expected", "float8"],
  ["lower_bound", "float8"],
  ["upper_bound", "float8"],
  ["sigmas", "float8"],
  ["reason", "text"],
  ["peak_deviation", "float8"],
  ["anomalous_count", "integer"],
  ["streak", "integer"],
  ["ok_streak", "integer"],
  ["bucket", "timestamptz"],
  ["first_bucket", "timestamptz"],
  ["started_at", "timestamptz"],
  ["updated_at", "timestamptz"],
  ["fired_at", "timestamptz"],
  ["resolved_at", "timestamptz"],
  ["snoozed_until", "timestamptz"],
  ["last_notified_at", "timestamptz"],
  ["acted_by", "text"],
  ["details", "jsonb"],
].map(([name, type]) => ({ name: name!, type: type! }));

/** Rows written or read per statement: the embedded database answers nothing else while one runs. */
const WRITE_SLICE = 1000;

function slices(n: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let a = 0; a < n; a += WRITE_SLICE) out.push([a, Math.min(n, a + WRITE_SLICE)]);
  return out;
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** One array per column of ALERT_WRITE, for unnest(). */
function alertColumns(list: readonly Alert[]): unknown[][] {
  const rows = list.map((a) => [
    a.fingerprint,
    a.kind,
    a.metric,
    a.series,
    a.detector,
    a.state,
    a.severity,
    fin(a.value),
    fin(a.expected),
    fin(a.lower),
    fin(a.upper),
    fin(a.sigmas),
    a.reason,
    fin(a.peakDeviation),
    a.anomalousCount,
    a.streak,
    a.okStreak,
    iso(a.bucket),
    iso(a.firstBucket),
    iso(a.startedAt),
    iso(a.updatedAt),
    iso(a.firedAt),
    iso(a.resolvedAt),
    iso(a.snoozedUntil),
    iso(a.lastNotifiedAt),
    a.actedBy,
    JSON.stringify(a.details),
  ]);
  return ALERT_WRITE.map((_, k) => rows.map((r) => r[k]));
}

/** Alert states that are not closed, as SQL literals (an IN list can use the state index; <> cannot). */
const OPEN_STATES = "'pending', 'firing', 'acknowledged', 'snoozed'";

export class StateStore {
  readonly s: string;

  constructor(
    readonly db: Database,
    readonly schema = "vigil",
  ) {
    this.s = quoteIdent(schema);
  }

  /** Read in pages: the embedded database answers nothing else (not even /healthz) while one query runs. */
  async openAlerts(): Promise<Alert[]> {
    const out: Alert[] = [];
    for (let after = 0; ; ) {
      const { rows } = await this.db.query(
        `SELECT ${ALERT_COLUMNS} FROM ${this.s}.alerts WHERE state IN (${OPEN_STATES}) AND id > $1 ORDER BY id LIMIT $2`,
        [after, WRITE_SLICE],
      );
      for (const r of rows) out.push(rowToAlert(r));
      if (rows.length < WRITE_SLICE) return out;
      after = out.at(-1)!.id!;
    }
  }

  async getAlert(id: number): Promise<Alert | null> {
    const { rows } = await this.db.query(`SELECT ${ALERT_COLUMNS} FROM ${this.s}.alerts WHERE id = $1`, [id]);
    return rows[0] ? rowToAlert(rows[0]) : null;
  }

  async listAlerts(opts: { state?: AlertState; limit?: number } = {}): Promise<Alert[]> {
    const limit = opts.limit ?? 200;
    const { rows } = opts.state
      ? await this.db.query(`SELECT ${ALERT_COLUMNS} FROM ${this.s}.alerts WHERE state = $1 ORDER BY id DESC LIMIT $2`, [opts.state, limit])
      : await this.db.query(`SELECT ${ALERT_COLUMNS} FROM ${this.s}.alerts ORDER BY id DESC LIMIT $1`, [limit]);
    return rows.map(rowToAlert);
  }

  /** Alerts that started firing since `since` (newest first). */
  async alertsFiredSince(since: number, limit = 500): Promise<Alert[]> {
    const { rows } = await this.db.query(
      `SELECT ${ALERT_COLUMNS} FROM ${this.s}.alerts WHERE fired_at >= $1 ORDER BY fired_at DESC LIMIT $2`,
      [toDate(since), limit],
    );
    return rows.map(rowToAlert);
  }

  async history(alertId: number): Promise<HistoryEntry[]> {
    const { rows } = await this.db.query(
      `SELECT alert_id, at, from_state, to_state, actor, note FROM ${this.s}.alert_history WHERE alert_id = $1 ORDER BY id`,
      [alertId],
    );
    return rows.map((r) => ({
      alertId: toNum(r.alert_id) ?? 0,
      at: toMs(r.at) ?? 0,
      from: (r.from_state ?? null) as AlertState | null,
      to: String(r.to_state) as AlertState,
      actor: String(r.actor),
      note: String(r.note),
    }));
  }

  async watermarks(metric: string): Promise<Map<string, number>> {
    const { rows } = await this.db.query(`SELECT series, watermark FROM ${this.s}.series_state WHERE metric = $1`, [metric]);
    const out = new Map<string, number>();
    for (const r of rows) {
      const t = toMs(r.watermark);
      if (t !== null) out.set(String(r.series), t);
    }
    return out;
  }

  /** Persist a tick's outcome atomically. Returns the stored alerts (with ids), in input order. */
  async write(w: TickWrite): Promise<Array<Alert & { id: number }>> {
    if (w.outcomes.length === 0 && w.watermarks.length === 0 && !w.extraDeliveries?.length) return [];
    return this.db.transaction(async (tx) => {
      // A storm of thousands of alerts is a handful of statements, not a few per alert.
      const stored = await this.saveAlerts(
        tx,
        w.outcomes.map((o) => o.alert),
      );
      const events = w.outcomes.flatMap(({ events }, i) => events.map((ev) => ({ saved: stored[i]!, ev })));
      const historyIds = await this.insertHistory(tx, events);
      const planned: Array<{ alert: Alert & { id: number }; event: AlertEvent; historyId: number }> = [];
      const queued: Array<{ d: DeliveryDraft; alertId: number | null; at: number }> = [];
      events.forEach(({ saved, ev }, i) => {
        const shown = ev.snapshot ? { ...ev.snapshot, id: saved.id, version: saved.version } : saved;
        planned.push({ alert: shown, event: ev, historyId: historyIds[i]! });
        if (ev.notify && w.deliveriesFor) {
          for (const d of w.deliveriesFor(shown, ev, historyIds[i]!)) queued.push({ d, alertId: saved.id, at: shown.updatedAt });
        }
      });
      for (const d of w.plan?.(planned) ?? [])
        queued.push({ d, alertId: d.payload.type === "alert" ? d.payload.alert.id : null, at: d.payload.at });
      for (const d of w.extraDeliveries ?? []) queued.push({ d, alertId: null, at: d.payload.at });
      await this.enqueueAll(tx, queued);
      if (w.watermarks.length > 0) await this.saveWatermarks(tx, w.watermarks);
      return stored;
    });
  }

  /** Ids taken from a table's sequence in advance, ascending, so that rows inserted together keep their order. */
  private async takeIds(tx: Queryable, table: string, n: number): Promise<number[]> {
    if (n === 0) return [];
    const { rows } = await tx.query(`SELECT nextval(pg_get_serial_sequence($1, 'id')) AS id FROM generate_series(1, $2)`, [
      `${this.s}.${table}`,
      n,
    ]);
    return rows.map((r) => toNum(r.id) ?? 0).sort((a, b) => a - b);
  }

  /** Changed alerts updated at their versions, then new ones inserted; in the order given. */
  private async saveAlerts(tx: Queryable, alerts: readonly Alert[]): Promise<Array<Alert & { id: number }>> {
    const out: Array<Alert & { id: number }> = new Array(alerts.length);
    const changed = alerts.flatMap((a, i) => (a.id === null ? [] : [i]));
    const fresh = alerts.flatMap((a, i) => (a.id === null ? [i] : []));
    // updates first: an alert resolved in this tick frees its fingerprint for a new one of the same tick
    if (changed.length > 0) {
      const ids = changed.map((i) => alerts[i]!.id!);
      // one alert changed twice in a write would update once: a conflict, before any statement
      if (new Set(ids).size !== ids.length) throw new AlertConflictError(ids[0]!);
      const { rows } = await tx.query(
        `UPDATE ${this.s}.alerts a SET ${ALERT_WRITE.map((c) => `${c.name} = x.${c.name}`).join(", ")}, version = a.version + 1
         FROM unnest($1::bigint[], $2::integer[], ${ALERT_WRITE.map((c, k) => `$${k + 3}::${c.type}[]`).join(", ")})
           AS x(id, version, ${ALERT_WRITE.map((c) => c.name).join(", ")})
         WHERE a.id = x.id AND a.version = x.version RETURNING a.id, a.version`,
        [ids, changed.map((i) => alerts[i]!.version), ...alertColumns(changed.map((i) => alerts[i]!))],
      );
      const versions = new Map(rows.map((r) => [toNum(r.id) ?? 0, toNum(r.version) ?? 0]));
      const lost = ids.find((id) => !versions.has(id));
      if (lost !== undefined) throw new AlertConflictError(lost);
      for (const i of changed) out[i] = { ...alerts[i]!, id: alerts[i]!.id!, version: versions.get(alerts[i]!.id!)! };
    }
    if (fresh.length > 0) {
      const ids = await this.takeIds(tx, "alerts", fresh.length);
      for (const [a, b] of slices(fresh.length)) {
        await tx.query(
          `INSERT INTO ${this.s}.alerts (id, ${ALERT_WRITE.map((c) => c.name).join(", ")})
           SELECT * FROM unnest($1::bigint[], ${ALERT_WRITE.map((c, k) => `$${k + 2}::${c.type}[]`).join(", ")})`,
          [ids.slice(a, b), ...alertColumns(fresh.slice(a, b).map((i) => alerts[i]!))],
        );
      }
      fresh.forEach((i, k) => {
        out[i] = { ...alerts[i]!, id: ids[k]!, version: 0 };
      });
    }
    return out;
  }

  private async insertHistory(tx: Queryable, events: ReadonlyArray<{ saved: Alert & { id: number }; ev: AlertEvent }>): Promise<number[]> {
    const ids = await this.takeIds(tx, "alert_history", events.length);
    for (const [a, b] of slices(events.length)) {
      const part = events.slice(a, b);
      await tx.query(
        `INSERT INTO ${this.s}.alert_history (id, alert_id, at, from_state, to_state, actor, note)
         SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[])`,
        [
          ids.slice(a, b),
          part.map((e) => e.saved.id),
          part.map((e) => iso(e.saved.updatedAt)),
          part.map((e) => e.ev.from),
          part.map((e) => e.ev.to),
          part.map((e) => e.ev.actor),
          part.map((e) => e.ev.note),
        ],
      );
    }
    return ids;
  }

  /** Deliveries in the order given (a channel sends by id); one already queued under its key is skipped. */
  private async enqueueAll(tx: Queryable, queued: ReadonlyArray<{ d: DeliveryDraft; alertId: number | null; at: number }>): Promise<void> {
    const ids = await this.takeIds(tx, "deliveries", queued.length);
    for (const [a, b] of slices(queued.length)) {
      const part = queued.slice(a, b);
      await tx.query(
        `INSERT INTO ${this.s}.deliveries (id, channel, alert_id, kind, payload, idempotency_key, created_at, next_attempt_at)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::jsonb[], $6::text[], $7::timestamptz[], $7::timestamptz[])
         ON CONFLICT (idempotency_key) DO NOTHING`,
        [
          ids.slice(a, b),
          part.map((q) => q.d.channel),
          part.map((q) => q.alertId),
          part.map((q) => q.d.kind),
          part.map(({ d }) => JSON.stringify(d.fingerprint ? { ...d.payload, fingerprint: d.fingerprint } : d.payload)),
          part.map((q) => q.d.key),
          part.map((q) => iso(q.at)),
        ],
      );
    }
  }

  /**
   * Only watermarks, nothing else (ticks that changed no alert): one statement, atomic by itself,
   * so it needs no transaction and costs one round trip.
   */
  async advanceWatermarks(marks: TickWrite["watermarks"]): Promise<void> {
    if (marks.length > 0) await this.saveWatermarks(this.db, marks);
  }

  private async saveWatermarks(tx: Queryable, marks: TickWrite["watermarks"]): Promise<void> {
    // One statement for all series of a tick: unnest keeps the round trips flat as series grow.
    await tx.query(
      `INSERT INTO ${this.s}.series_state (metric, series, watermark, updated_at)
       SELECT m, s, to_timestamp(w / 1000.0), now()
       FROM unnest($1::text[], $2::text[], $3::double precision[]) AS x(m, s, w)
       ON CONFLICT (metric, series) DO UPDATE SET watermark = GREATEST(${this.s}.series_state.watermark, EXCLUDED.watermark), updated_at = EXCLUDED.updated_at`,
      [marks.map((m) => m.metric), marks.map((m) => m.series), marks.map((m) => m.watermark)],
    );
  }

  private async enqueue(tx: Queryable, d: DeliveryDraft, alertId: number | null, at: number): Promise<void> {
    const payload = d.fingerprint ? { ...d.payload, fingerprint: d.fingerprint } : d.payload;
    await tx.query(
      `INSERT INTO ${this.s}.deliveries (channel, alert_id, kind, payload, idempotency_key, created_at, next_attempt_at)
       VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (idempotency_key) DO NOTHING`,
      [d.channel, alertId, d.kind, JSON.stringify(payload), d.key, toDate(at)],
    );
  }

  /** Fingerprints that got a flapping notice since `since`. */
  async flapNoticesSince(fingerprints: readonly string[], since: number): Promise<Set<string>> {
    if (fingerprints.length === 0) return new Set();
    const { rows } = await this.db.query(
      `SELECT DISTINCT payload->>'fingerprint' AS fp FROM ${this.s}.deliveries
       WHERE kind = 'flapping' AND created_at > $1 AND payload->>'fingerprint' = ANY($2::text[])`,
      [toDate(since), fingerprints],
    );
    return new Set(rows.map((r) => String(r.fp)));
  }

  private async saveAlert(tx: Queryable, a: Alert): Promise<Alert & { id: number }> {
    const values = alertColumns([a]).map((column) => column[0]);
    if (a.id === null) {
      const { rows } = await tx.query(
        `INSERT INTO ${this.s}.alerts (fingerprint, kind, metric, series, detector, state, severity, value, expected,
           lower_bound, upper_bound, sigmas, reason, peak_deviation, anomalous_count, streak, ok_streak, bucket,
           first_bucket, started_at, updated_at, fired_at, resolved_at, snoozed_until, last_notified_at, acted_by, details)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,$27)
         RETURNING id`,
        values,
      );
      return { ...a, id: toNum(rows[0]?.id) ?? 0, version: 0 };
    }
    const { rows } = await tx.query(
      `UPDATE ${this.s}.alerts SET fingerprint=$1, kind=$2, metric=$3, series=$4, detector=$5, state=$6, severity=$7,
         value=$8, expected=$9, lower_bound=$10, upper_bound=$11, sigmas=$12, reason=$13, peak_deviation=$14,
         anomalous_count=$15, streak=$16, ok_streak=$17, bucket=$18, first_bucket=$19, started_at=$20, updated_at=$21,
         fired_at=$22, resolved_at=$23, snoozed_until=$24, last_notified_at=$25, acted_by=$26, details=$27,
         version = version + 1
       WHERE id = $28 AND version = $29 RETURNING version`,
      [...values, a.id, a.version],
    );
    if (rows.length === 0) throw new AlertConflictError(a.id);
    return { ...a, id: a.id, version: toNum(rows[0]?.version) ?? a.version + 1 };
  }

  /**
   * Change one alert under a row lock: `fn` sees the current row and returns the new alert and its
   * events, or a refusal message. Deliveries for the events are written in the same transaction.
   */
  async mutateAlert(
    id: number,
    fn: (a: Alert & { id: number }) => { alert: Alert; events: AlertEvent[] } | { refused: string },
    deliveriesFor: (alert: Alert & { id: number }, event: AlertEvent, historyId: number, notified: string[]) => DeliveryDraft[],
  ): Promise<{ alert: Alert & { id: number } } | { refused: string }> {
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query(`SELECT ${ALERT_COLUMNS} FROM ${this.s}.alerts WHERE id = $1 FOR UPDATE`, [id]);
      if (!rows[0]) return { refused: `no alert #${id}` };
      const current = rowToAlert(rows[0]) as Alert & { id: number };
      const out = fn(current);
      if ("refused" in out) return out;
      const saved = await this.saveAlert(tx, out.alert);
      const notified = (
        await tx.query(
          `SELECT DISTINCT channel FROM ${this.s}.deliveries
           WHERE (alert_id = $1 AND kind IN ('firing', 'reminder'))
              OR (kind = 'group' AND payload->'alerts' @> $2::jsonb)`,
          [id, JSON.stringify([{ alert: { id } }])],
        )
      ).rows.map((r) => String(r.channel));
      for (const ev of out.events) {
        const { rows: h } = await tx.query(
          `INSERT INTO ${this.s}.alert_history (alert_id, at, from_state, to_state, actor, note) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
          [saved.id, toDate(saved.updatedAt), ev.from, ev.to, ev.actor, ev.note],
        );
        const historyId = toNum(h[0]?.id) ?? 0;
        for (const d of deliveriesFor(saved, ev, historyId, notified)) await this.enqueue(tx, d, saved.id, saved.updatedAt);
      }
      return { alert: saved };
    });
  }

  // ---- silences ----

  async addSilence(s: {
    metricGlob: string;
    seriesGlob: string;
    reason: string;
    createdBy: string;
    at: number;
    endsAt: number;
  }): Promise<Silence> {
    const { rows } = await this.db.query(
      `INSERT INTO ${this.s}.silences (metric_glob, series_glob, reason, created_by, created_at, ends_at)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
      [s.metricGlob, s.seriesGlob, s.reason, s.createdBy, toDate(s.at), toDate(s.endsAt)],
    );
    return rowToSilence(rows[0]!);
  }

  /** Silences in force at `now` (not removed, not expired). */
  async activeSilences(now: number): Promise<Silence[]> {
    const { rows } = await this.db.query(`SELECT * FROM ${this.s}.silences WHERE removed_at IS NULL AND ends_at > $1 ORDER BY id`, [
      toDate(now),
    ]);
    return rows.map(rowToSilence);
  }

  async listSilences(opts: { all?: boolean; now: number }): Promise<Silence[]> {
    const { rows } = opts.all
      ? await this.db.query(`SELECT * FROM ${this.s}.silences ORDER BY id DESC LIMIT 200`)
      : await this.db.query(`SELECT * FROM ${this.s}.silences WHERE removed_at IS NULL AND ends_at > $1 ORDER BY id`, [toDate(opts.now)]);
    return rows.map(rowToSilence);
  }

  /** Returns false when there is no such active silence. */
  async removeSilence(id: number, at: number): Promise<boolean> {
    const { rows } = await this.db.query(
      `UPDATE ${this.s}.silences SET removed_at = $2 WHERE id = $1 AND removed_at IS NULL RETURNING id`,
      [id, toDate(at)],
    );
    return rows.length > 0;
  }

  // ---- the outbox ----

  /**
   * The oldest `perChannel` pending deliveries of each channel, in order: per-channel order is kept
   * by only ever sending a channel's head. Each channel's run is one walk of the pending index, so a
   * backlog of 10,000 is read in batches instead of scanned whole for every delivery.
   */
  async deliveryHeads(perChannel = 1): Promise<Delivery[]> {
    const { rows } = await this.db.query(
      `SELECT d.* FROM (SELECT DISTINCT channel FROM ${this.s}.deliveries WHERE status = 'pending') c
       CROSS JOIN LATERAL (
         SELECT id, channel, alert_id, kind, payload, idempotency_key, status, attempts, created_at, next_attempt_at, last_error
         FROM ${this.s}.deliveries WHERE status = 'pending' AND channel = c.channel ORDER BY id LIMIT $1) d
       ORDER BY d.channel, d.id`,
      [perChannel],
    );
    return rows.map(rowToDelivery);
  }

  async markSent(id: number, at: number): Promise<void> {
    await this.db.query(
      `UPDATE ${this.s}.deliveries SET status = 'sent', sent_at = $2, attempts = attempts + 1, last_error = NULL WHERE id = $1`,
      [id, toDate(at)],
    );
  }

  async markRetry(id: number, nextAt: number, error: string): Promise<void> {
    await this.db.query(`UPDATE ${this.s}.deliveries SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3 WHERE id = $1`, [
      id,
      toDate(nextAt),
      error.slice(0, 2000),
    ]);
  }

  async markDead(id: number, error: string): Promise<void> {
    await this.db.query(`UPDATE ${this.s}.deliveries SET status = 'dead', attempts = attempts + 1, last_error = $2 WHERE id = $1`, [
      id,
      error.slice(0, 2000),
    ]);
  }

  /** New alerts notified per channel in the minute before `now`, and whether a storm summary went out. */
  async channelLoad(now: number): Promise<Map<string, { alerts: number; stormSent: boolean }>> {
    const { rows } = await this.db.query(
      `SELECT channel,
              sum(CASE kind WHEN 'group' THEN jsonb_array_length(payload->'alerts') WHEN 'storm' THEN 0 ELSE 1 END)::int AS alerts,
              bool_or(kind = 'storm') AS storm
       FROM ${this.s}.deliveries
       WHERE created_at > $1 AND kind IN ('firing', 'group', 'storm')
       GROUP BY channel`,
      [toDate(now - 60_000)],
    );
    return new Map(rows.map((r) => [String(r.channel), { alerts: toNum(r.alerts) ?? 0, stormSent: r.storm === true }]));
  }

  /** How many alerts each fingerprint opened since `since` (flapping detection). */
  async opensSince(fingerprints: readonly string[], since: number): Promise<Map<string, number>> {
    if (fingerprints.length === 0) return new Map();
    const { rows } = await this.db.query(
      `SELECT fingerprint, count(*)::int AS n FROM ${this.s}.alerts
       WHERE fingerprint = ANY($1::text[]) AND fired_at > $2 GROUP BY fingerprint`,
      [fingerprints, toDate(since)],
    );
    return new Map(rows.map((r) => [String(r.fingerprint), toNum(r.n) ?? 0]));
  }

  /** Notifications about one alert, its own and the grouped ones that list it, newest first. */
  async deliveriesAbout(alertId: number, limit = 20): Promise<Delivery[]> {
    const { rows } = await this.db.query(
      `SELECT * FROM ${this.s}.deliveries
       WHERE alert_id = $1 OR (kind = 'group' AND payload->'alerts' @> $2::jsonb)
       ORDER BY id DESC LIMIT $3`,
      [alertId, JSON.stringify([{ alert: { id: alertId } }]), limit],
    );
    return rows.map(rowToDelivery);
  }

  async queueDepth(): Promise<number> {
    const { rows } = await this.db.query(`SELECT count(*)::int AS n FROM ${this.s}.deliveries WHERE status = 'pending'`);
    return toNum(rows[0]?.n) ?? 0;
  }

  async deliveries(opts: { status?: Delivery["status"] } = {}): Promise<Delivery[]> {
    const { rows } = opts.status
      ? await this.db.query(`SELECT * FROM ${this.s}.deliveries WHERE status = $1 ORDER BY id`, [opts.status])
      : await this.db.query(`SELECT * FROM ${this.s}.deliveries ORDER BY id`);
    return rows.map(rowToDelivery);
  }

  /**
   * Retention: deletes what is older than `before` and closed — resolved alerts (their history and
   * message references go with them), sent or dead notifications, audit entries, silences that ended,
   * and watermarks of series not seen since `idleBefore` — in batches, so no statement holds locks
   * for long.
   */
  async prune(before: number, idleBefore = before, batch = 5000): Promise<Record<string, number>> {
    const s = this.s;
    const plans: Record<string, string> = {
      deliveries: `DELETE FROM ${s}.deliveries WHERE id IN (SELECT id FROM ${s}.deliveries WHERE status IN ('sent', 'dead') AND created_at < $1 LIMIT $2)`,
      alerts: `DELETE FROM ${s}.alerts WHERE id IN (SELECT id FROM ${s}.alerts WHERE state = 'resolved' AND resolved_at < $1 LIMIT $2)`,
      audit: `DELETE FROM ${s}.audit_log WHERE id IN (SELECT id FROM ${s}.audit_log WHERE at < $1 LIMIT $2)`,
      silences: `DELETE FROM ${s}.silences WHERE id IN (SELECT id FROM ${s}.silences WHERE coalesce(removed_at, ends_at) < $1 LIMIT $2)`,
      watermarks: `DELETE FROM ${s}.series_state WHERE (metric, series) IN (SELECT metric, series FROM ${s}.series_state WHERE updated_at < $1 LIMIT $2)`,
    };
    const deleted: Record<string, number> = {};
    for (const [what, sql] of Object.entries(plans)) {
      deleted[what] = 0;
      for (;;) {
        const at = toDate(what === "watermarks" ? idleBefore : before);
        const { rows } = await this.db.query(`WITH gone AS (${sql} RETURNING 1) SELECT count(*)::int AS n FROM gone`, [at, batch]);
        const n = toNum(rows[0]?.n) ?? 0;
        deleted[what] += n;
        if (n < batch) break;
      }
    }
    return deleted;
  }

  async alertCountsByState(): Promise<Record<AlertState, number>> {
    const { rows } = await this.db.query(
      `SELECT state, count(*)::int AS n FROM ${this.s}.alerts
       WHERE state IN (${OPEN_STATES}) OR (state = 'resolved' AND resolved_at > now() - interval '1 day') GROUP BY state`,
    );
    const out: Record<AlertState, number> = { pending: 0, firing: 0, acknowledged: 0, snoozed: 0, resolved: 0 };
    for (const r of rows) out[String(r.state) as AlertState] = toNum(r.n) ?? 0;
    return out;
  }

  // ---- channel message references (edit/thread later changes under the original) ----

  async messageRef(alertId: number, channel: string): Promise<unknown | null> {
    const { rows } = await this.db.query(`SELECT message_ref FROM ${this.s}.channel_messages WHERE alert_id = $1 AND channel = $2`, [
      alertId,
      channel,
    ]);
    return rows[0] ? toJson<unknown>(rows[0].message_ref, null) : null;
  }

  async saveMessageRef(alertId: number, channel: string, ref: unknown): Promise<void> {
    await this.db.query(
      `INSERT INTO ${this.s}.channel_messages (alert_id, channel, message_ref) VALUES ($1, $2, $3)
       ON CONFLICT (alert_id, channel) DO UPDATE SET message_ref = EXCLUDED.message_ref`,
      [alertId, channel, JSON.stringify(ref)],
    );
  }

  // ---- audit ----

  async audit(entry: { at: number; actor: string; action: string; target?: string; allowed: boolean; detail?: object }) {
    await this.db.query(`INSERT INTO ${this.s}.audit_log (at, actor, action, target, allowed, detail) VALUES ($1, $2, $3, $4, $5, $6)`, [
      toDate(entry.at),
      entry.actor,
      entry.action,
      entry.target ?? "",
      entry.allowed,
      JSON.stringify(entry.detail ?? {}),
    ]);
  }
}
