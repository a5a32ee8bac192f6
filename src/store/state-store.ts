/**
 * All SQL against vigil's own state schema, returning domain types, never driver rows: each table's
 * statements live in their own module, and the transactions that span tables live here.
 */
import { type Database, type Queryable, quoteIdent } from "../db/database.js";
import type { Alert, AlertEvent, AlertState, StoredEvent } from "../model/alert.js";
import type { DeliveryDraft, Notification } from "../model/notification.js";
import type { NewSilence, Silence } from "../model/silence.js";
import { AlertHistoryTable } from "./alert-history.js";
import { AlertTable } from "./alert-table.js";
import { type AuditEntry, AuditLog } from "./audit-log.js";
import { ChannelMessageTable } from "./channel-messages.js";
import { Outbox } from "./outbox.js";
import { pruneClosed } from "./retention.js";
import { SeriesStateTable, type Watermark } from "./series-state.js";
import { SilenceTable } from "./silences.js";

export interface OutcomeToStore {
  alert: Alert;
  events: AlertEvent[];
}

/**
 * One transaction, driven by its caller: alert changes and their history first, then the
 * deliveries planned from what was stored, then watermarks. Nothing is visible until it commits.
 */
export interface UnitOfWork {
  /** The alert, its row locked until the transaction ends; null if there is none. */
  lockAlert(id: number): Promise<(Alert & { id: number }) | null>;
  /** The channels that carried a message about the alert. */
  notifiedChannels(alertId: number): Promise<string[]>;
  /** Each outcome's alert and events: the stored alerts in input order, and every event with the alert as of that event. */
  saveOutcomes(outcomes: readonly OutcomeToStore[]): Promise<{ alerts: Array<Alert & { id: number }>; events: StoredEvent[] }>;
  /** Queue deliveries in the order given; a repeated key is dropped. */
  enqueue(drafts: readonly DeliveryDraft[]): Promise<void>;
  saveWatermarks(marks: readonly Watermark[]): Promise<void>;
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

/** The alert changed in the database since it was read (a chat action raced a tick, or another replica). */
export class AlertConflictError extends Error {
  override readonly name = "AlertConflictError";
  constructor(readonly alertId: number) {
    super(`alert #${alertId} changed while it was being updated`);
  }
}

export class StateStore {
  /** The schema, quoted for SQL. */
  readonly s: string;
  private readonly alertTable: AlertTable;
  private readonly historyTable: AlertHistoryTable;
  private readonly outbox: Outbox;
  private readonly silenceTable: SilenceTable;
  private readonly seriesTable: SeriesStateTable;
  private readonly messageTable: ChannelMessageTable;
  private readonly auditLog: AuditLog;

  constructor(
    readonly db: Database,
    readonly schema = "vigil",
  ) {
    this.s = quoteIdent(schema);
    this.alertTable = new AlertTable(db, this.s);
    this.historyTable = new AlertHistoryTable(db, this.s);
    this.outbox = new Outbox(db, this.s);
    this.silenceTable = new SilenceTable(db, this.s);
    this.seriesTable = new SeriesStateTable(db, this.s);
    this.messageTable = new ChannelMessageTable(db, this.s);
    this.auditLog = new AuditLog(db, this.s);
  }

  // ---- alerts ----

  openAlerts(): Promise<Alert[]> {
    return this.alertTable.open();
  }

  getAlert(id: number): Promise<Alert | null> {
    return this.alertTable.get(id);
  }

  listAlerts(opts: { state?: AlertState; limit?: number } = {}): Promise<Alert[]> {
    return this.alertTable.list(opts);
  }

  /** Alerts that started firing since `since` (newest first). */
  alertsFiredSince(since: number, limit = 500): Promise<Alert[]> {
    return this.alertTable.firedSince(since, limit);
  }

  /** How many alerts each fingerprint opened since `since` (flapping detection). */
  opensSince(fingerprints: readonly string[], since: number): Promise<Map<string, number>> {
    return this.alertTable.opensSince(fingerprints, since);
  }

  alertCountsByState(): Promise<Record<AlertState, number>> {
    return this.alertTable.countsByState();
  }

  history(alertId: number): Promise<HistoryEntry[]> {
    return this.historyTable.list(alertId);
  }

  // ---- writes that span tables ----

  /** Run `work` in one transaction: everything it saves and queues commits together, or nothing does. */
  commit<T>(work: (uow: UnitOfWork) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) => work(this.unitOfWork(tx)));
  }

  private unitOfWork(tx: Queryable): UnitOfWork {
    return {
      lockAlert: (id) => this.alertTable.lock(tx, id),
      notifiedChannels: (alertId) => this.outbox.notifiedChannels(tx, alertId),
      saveOutcomes: async (outcomes) => {
        if (outcomes.length === 0) return { alerts: [], events: [] };
        // A storm of thousands of alerts is a handful of statements, not a few per alert.
        const stored = await this.saveAlerts(
          tx,
          outcomes.map((outcome) => outcome.alert),
        );
        const events = outcomes.flatMap(({ events }, i) => events.map((ev) => ({ saved: stored[i]!, ev })));
        const historyIds = await this.historyTable.insertAll(tx, events);
        const storedEvents = events.map(({ saved, ev }, i) => ({
          alert: ev.snapshot ? { ...ev.snapshot, id: saved.id, version: saved.version } : saved,
          event: ev,
          historyId: historyIds[i]!,
        }));
        return { alerts: stored, events: storedEvents };
      },
      enqueue: async (drafts) => {
        if (drafts.length === 0) return;
        const queued = drafts.map((draft) => ({
          draft,
          alertId: draft.payload.type === "alert" ? draft.payload.alert.id : null,
          at: draft.payload.at,
        }));
        await this.outbox.enqueueAll(tx, queued);
      },
      saveWatermarks: async (marks) => {
        if (marks.length > 0) await this.seriesTable.save(tx, [...marks]);
      },
    };
  }

  /** Changed alerts updated at their versions, then new ones inserted; in the order given. */
  private async saveAlerts(tx: Queryable, alerts: readonly Alert[]): Promise<Array<Alert & { id: number }>> {
    const out: Array<Alert & { id: number }> = new Array(alerts.length);
    const changed = alerts.flatMap((alert, i) => (alert.id === null ? [] : [i]));
    const fresh = alerts.flatMap((alert, i) => (alert.id === null ? [i] : []));
    // updates first: an alert resolved in this tick frees its fingerprint for a new one of the same tick
    if (changed.length > 0) {
      const ids = changed.map((i) => alerts[i]!.id!);
      // one alert changed twice in a write would update once: a conflict, before any statement
      if (new Set(ids).size !== ids.length) throw new AlertConflictError(ids[0]!);
      const versions = await this.alertTable.updateAtVersions(
        tx,
        changed.map((i) => alerts[i]!),
        ids,
      );
      const lost = ids.find((id) => !versions.has(id));
      if (lost !== undefined) throw new AlertConflictError(lost);
      for (const i of changed) out[i] = { ...alerts[i]!, id: alerts[i]!.id!, version: versions.get(alerts[i]!.id!)! };
    }
    if (fresh.length > 0) {
      const ids = await this.alertTable.insertNew(
        tx,
        fresh.map((i) => alerts[i]!),
      );
      fresh.forEach((i, k) => {
        out[i] = { ...alerts[i]!, id: ids[k]!, version: 0 };
      });
    }
    return out;
  }

  /**
   * Only watermarks, nothing else (ticks that changed no alert): one statement, atomic by itself,
   * so it needs no transaction and costs one round trip.
   */
  async advanceWatermarks(marks: Watermark[]): Promise<void> {
    if (marks.length > 0) await this.seriesTable.save(this.db, marks);
  }

  watermarks(metric: string): Promise<Map<string, number>> {
    return this.seriesTable.watermarks(metric);
  }

  /**
   * Change one alert under a row lock: `fn` sees the current row and returns the new alert and its
   * events, or a refusal message. Deliveries for the events are written in the same transaction.
   */
  // ---- silences ----

  addSilence(silence: NewSilence): Promise<Silence> {
    return this.silenceTable.add(silence);
  }

  /** Silences in force at `now` (not removed, not expired). */
  activeSilences(now: number): Promise<Silence[]> {
    return this.silenceTable.active(now);
  }

  listSilences(opts: { all?: boolean; now: number }): Promise<Silence[]> {
    return this.silenceTable.list(opts);
  }

  /** Returns false when there is no such active silence. */
  removeSilence(id: number, at: number): Promise<boolean> {
    return this.silenceTable.remove(id, at);
  }

  // ---- the outbox ----

  /** The oldest `perChannel` pending deliveries of each channel, in order: per-channel order is kept by only ever sending a channel's head. */
  deliveryHeads(perChannel = 1): Promise<Delivery[]> {
    return this.outbox.heads(perChannel);
  }

  markSent(id: number, at: number): Promise<void> {
    return this.outbox.markSent(id, at);
  }

  markRetry(id: number, nextAt: number, error: string): Promise<void> {
    return this.outbox.markRetry(id, nextAt, error);
  }

  markDead(id: number, error: string): Promise<void> {
    return this.outbox.markDead(id, error);
  }

  /** New alerts notified per channel in the minute before `now`, and whether a storm summary went out. */
  channelLoad(now: number): Promise<Map<string, { alerts: number; stormSent: boolean }>> {
    return this.outbox.channelLoad(now);
  }

  /** Fingerprints that got a flapping notice since `since`. */
  flapNoticesSince(fingerprints: readonly string[], since: number): Promise<Set<string>> {
    return this.outbox.flapNoticesSince(fingerprints, since);
  }

  /** Notifications about one alert, its own and the grouped ones that list it, newest first. */
  deliveriesAbout(alertId: number, limit = 20): Promise<Delivery[]> {
    return this.outbox.about(alertId, limit);
  }

  queueDepth(): Promise<number> {
    return this.outbox.depth();
  }

  deliveries(opts: { status?: Delivery["status"] } = {}): Promise<Delivery[]> {
    return this.outbox.list(opts);
  }

  // ---- retention ----

  /**
   * Deletes what is older than `before` and closed: resolved alerts (their history and message
   * references go with them), sent or dead notifications, audit entries, silences that ended, and
   * watermarks of series not seen since `idleBefore`.
   */
  prune(before: number, idleBefore = before, batch = 5000): Promise<Record<string, number>> {
    return pruneClosed(this.db, this.s, before, idleBefore, batch);
  }

  // ---- channel message references (edit/thread later changes under the original) ----

  messageRef(alertId: number, channel: string): Promise<unknown | null> {
    return this.messageTable.get(alertId, channel);
  }

  saveMessageRef(alertId: number, channel: string, ref: unknown): Promise<void> {
    return this.messageTable.save(alertId, channel, ref);
  }

  // ---- audit ----

  audit(entry: AuditEntry): Promise<void> {
    return this.auditLog.append(entry);
  }
}
