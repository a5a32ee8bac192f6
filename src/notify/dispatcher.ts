/**
 * Sends the outbox. Only the oldest pending delivery of each channel is ever attempted, so a
 * channel's messages arrive in order even across retries and restarts; channels do not wait for
 * each other. Failures back off exponentially with jitter, or as long as the channel asks
 * (Retry-After, at most `maxRetryAfterMs` and never past the give-up age); past the give-up age a
 * delivery is dead.
 */
import { DeliveryError, type Notifier } from "../../notifiers/notifier.js";
import type { Clock } from "../clock.js";
import { groupBy } from "../group-by.js";
import { errorText, type Logger } from "../log.js";
import type { Delivery, StateStore } from "../store/state-store.js";
import type { VigilMetrics } from "../telemetry/metrics.js";

export interface DispatcherOptions {
  store: StateStore;
  notifiers: () => ReadonlyMap<string, Notifier>;
  clock: Clock;
  log: Logger;
  metrics: VigilMetrics;
  giveUpMs?: number;
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** The longest Retry-After honoured; a channel asking for more is retried after this. */
  maxRetryAfterMs?: number;
  random?: () => number;
  /** Called once per delivery that is given up (the daemon raises a `delivery` meta-alert). */
  onDead?: (d: Delivery, error: string) => void;
  /** Called after each successful send. */
  onSent?: (d: Delivery) => void;
}

export interface DrainResult {
  sent: number;
  retried: number;
  dead: number;
}

/** Deliveries read per channel at a time: a backlog is walked in runs, not re-read per delivery. */
const RUN = 100;

export class Dispatcher {
  private readonly giveUpMs: number;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly random: () => number;
  private draining: Promise<DrainResult> | null = null;

  constructor(private readonly o: DispatcherOptions) {
    this.giveUpMs = o.giveUpMs ?? 24 * 3_600_000;
    this.baseMs = o.baseBackoffMs ?? 1000;
    this.maxMs = o.maxBackoffMs ?? 5 * 60_000;
    this.maxRetryAfterMs = o.maxRetryAfterMs ?? 3_600_000;
    this.random = o.random ?? Math.random;
  }

  backoff(attempts: number): number {
    const exp = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(attempts, 30));
    return Math.round(exp * (0.5 + this.random() * 0.5));
  }

  /** The wait before the next attempt: the channel's Retry-After within bounds, else the backoff. */
  retryWait(retryAfterMs: number | undefined, attempts: number, untilGiveUpMs: number): number {
    const asked =
      retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs >= 0
        ? Math.min(retryAfterMs, this.maxRetryAfterMs)
        : this.backoff(attempts);
    return Math.max(0, Math.min(asked, untilGiveUpMs));
  }

  /** Send everything that is due, until nothing due is left or `deadline` (clock ms) passes. */
  drain(deadline = Number.POSITIVE_INFINITY): Promise<DrainResult> {
    // One drain at a time: a second caller shares the running one.
    if (!this.draining) {
      this.draining = this.drainOnce(deadline).finally(() => {
        this.draining = null;
      });
    }
    return this.draining;
  }

  private async drainOnce(deadline: number): Promise<DrainResult> {
    const total: DrainResult = { sent: 0, retried: 0, dead: 0 };
    for (;;) {
      if (this.o.clock.now() >= deadline) break;
      const runs = groupBy(await this.o.store.deliveryHeads(RUN), (d) => d.channel);
      const now = this.o.clock.now();
      if (![...runs.values()].some((run) => run[0]!.nextAttemptAt <= now)) break;
      // Channels side by side; within one, its run in order, ending at the first that must wait.
      const results = await Promise.all([...runs.values()].map((run) => this.sendRun(run, deadline)));
      for (const r of results) {
        total.sent += r.sent;
        total.retried += r.retried;
        total.dead += r.dead;
      }
      // Stop when no channel got anything out: every due head is scheduled for later now.
      if (results.every((r) => r.sent === 0 && r.dead === 0)) break;
    }
    this.o.metrics.queueDepth.set(await this.o.store.queueDepth().catch(() => 0));
    return total;
  }

  private async sendRun(run: readonly Delivery[], deadline: number): Promise<DrainResult> {
    const out: DrainResult = { sent: 0, retried: 0, dead: 0 };
    for (const d of run) {
      const now = this.o.clock.now();
      if (d.nextAttemptAt > now || now >= deadline) break;
      const r = await this.attempt(d);
      out[r]++;
      if (r === "retried") break;
    }
    return out;
  }

  /** Earliest time something is due, or null when the queue is empty. */
  async nextDue(): Promise<number | null> {
    const heads = await this.o.store.deliveryHeads();
    return heads.length === 0 ? null : Math.min(...heads.map((d) => d.nextAttemptAt));
  }

  private async attempt(d: Delivery): Promise<keyof DrainResult> {
    const { store, log, metrics, clock } = this.o;
    const notifier = this.o.notifiers().get(d.channel);
    if (!notifier) {
      await store.markDead(d.id, `channel '${d.channel}' is no longer configured`);
      metrics.deliveries.inc({ channel: d.channel, outcome: "failed" });
      this.o.onDead?.(d, "channel no longer configured");
      return "dead";
    }
    try {
      const previousRef = d.alertId !== null ? await store.messageRef(d.alertId, d.channel) : null;
      const res = await notifier.send(d.payload, { previousRef, key: d.key });
      await store.markSent(d.id, clock.now());
      if (d.alertId !== null && res.ref !== undefined && previousRef === null) {
        await store.saveMessageRef(d.alertId, d.channel, res.ref);
      }
      metrics.deliveries.inc({ channel: d.channel, outcome: "sent" });
      this.o.onSent?.(d);
      return "sent";
    } catch (err) {
      const e = err instanceof DeliveryError ? err : null;
      const msg = errorText(err);
      const now = clock.now();
      if (e?.permanent || now - d.createdAt >= this.giveUpMs) {
        await store.markDead(d.id, msg);
        metrics.deliveries.inc({ channel: d.channel, outcome: "failed" });
        log.error({ channel: d.channel, delivery: d.id, attempts: d.attempts + 1, err: msg }, "delivery given up");
        this.o.onDead?.(d, msg);
        return "dead";
      }
      const wait = this.retryWait(e?.retryAfterMs, d.attempts, d.createdAt + this.giveUpMs - now);
      await store.markRetry(d.id, now + wait, msg);
      metrics.deliveries.inc({ channel: d.channel, outcome: "retried" });
      log.warn({ channel: d.channel, delivery: d.id, attempts: d.attempts + 1, retryInMs: wait, err: msg }, "delivery failed; will retry");
      return "retried";
    }
  }
}
