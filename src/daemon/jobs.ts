/**
 * What the daemon's jobs do: metric ticks, experiment checks, digests and retention, each queued
 * behind the one before it, and the start of sending what they queued.
 */
import type { Clock } from "../clock.js";
import type { DigestConfig, VigilConfig } from "../config/types.js";
import type { Database } from "../db/database.js";
import { buildDigest } from "../digest/build-digest.js";
import type { Engine } from "../engine/engine.js";
import type { TickReport } from "../engine/reports.js";
import { type Logger, scrubSecrets } from "../log.js";
import type { Dispatcher } from "../notify/dispatcher.js";
import type { StateStore } from "../store/state-store.js";
import type { VigilMetrics } from "../telemetry/metrics.js";
import type { SerialQueue } from "./serial-queue.js";

/** Loaded on first use: its statistics library is many small modules that a deployment without experiments never needs. */
const experimentsModule = () => import("../experiments/evaluate.js");

export interface JobsDeps {
  config: () => VigilConfig;
  engine: Engine;
  dispatcher: Dispatcher;
  store: StateStore;
  metricsDb: Database;
  clock: Clock;
  log: Logger;
  metrics: VigilMetrics;
  serial: SerialQueue;
}

export class Jobs {
  private delivering: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: JobsDeps) {}

  /** Evaluate every metric once (or the named ones) and send what that produced. */
  tickOnce(names?: readonly string[], label = "once"): Promise<TickReport> {
    const { engine, metrics } = this.deps;
    return this.deps.serial.run(async () => {
      const end = metrics.tickDuration.startTimer({ schedule: label });
      try {
        const report = await engine.evaluate(names);
        metrics.ticks.inc({ schedule: label, outcome: report.failed.length ? "partial" : "ok" });
        return report;
      } finally {
        end();
      }
    });
  }

  /** Starts sending what a job queued without waiting for it: a tick never waits for the outbox, the dispatcher's own loop picks up whatever is left. */
  deliverSoon(): void {
    this.delivering = this.deps.dispatcher.drain().catch((err: unknown) => {
      this.deps.log.error({ err: scrubSecrets(String(err)) }, "dispatcher failed");
      return { sent: 0, retried: 0, dead: 0 };
    });
  }

  /** Resolves when the sending started by the last job is done (tests, and a stop's flush). */
  async deliveriesSettled(): Promise<void> {
    await this.delivering;
  }

  /** Sends what is queued until the outbox is empty or `flushMs` has passed. */
  async flushDeliveries(flushMs: number): Promise<void> {
    const deadline = Date.now() + flushMs;
    await Promise.race([
      this.deps.dispatcher.drain().catch(() => undefined),
      new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())).unref()),
    ]);
  }

  /** `vigil run --once`: one evaluation, then deliver (bounded by `deadlineMs`). */
  async runOnce(deadlineMs: number): Promise<TickReport> {
    const report = await this.tickOnce();
    const failedExperiments = await this.checkExperiments().catch((err: unknown) => {
      this.deps.log.error({ err: scrubSecrets(String(err)) }, "experiments failed");
      return this.deps.config().experiments.map((e) => e.name);
    });
    for (const name of failedExperiments) {
      report.failed.push(`experiment ${name}`);
      report.metrics.push({
        metric: `experiment ${name}`,
        ok: false,
        error: "its queries failed",
        series: 0,
        points: 0,
        anomalies: 0,
        events: [],
      });
    }
    await this.deps.dispatcher.drain(this.deps.clock.now() + deadlineMs);
    return report;
  }

  /** Evaluate experiments (all, or the named ones) between ticks; returns the names that failed. */
  checkExperiments(names?: readonly string[]): Promise<string[]> {
    if (this.deps.config().experiments.length === 0) return Promise.resolve([]);
    return this.deps.serial.run(async () => {
      const { evaluateExperiments } = await experimentsModule();
      const { metricsDb, store, clock, log } = this.deps;
      const reports = await evaluateExperiments({
        db: metricsDb,
        store,
        clock,
        log,
        config: this.deps.config(),
        ...(names ? { names: [...names] } : {}),
      });
      return reports.filter((r) => r.state === "error").map((r) => r.experiment);
    });
  }

  /**
   * Build a digest and put it in the outbox (so a failed send is retried like an alert). Scheduled
   * digests are keyed by entry and day, so a restart or a failover never sends one twice; `--now`
   * and `/digest` get a fresh key.
   */
  async enqueueDigest(entry: DigestConfig, opts: { key?: string; channel?: string } = {}): Promise<number> {
    const { metricsDb, store, clock, log } = this.deps;
    const config = this.deps.config();
    const digest = await buildDigest(entry, {
      config,
      db: metricsDb,
      store,
      clock,
      log,
      experiments: async () =>
        (await experimentsModule()).evaluateExperiments({ db: metricsDb, store, clock, log, config: this.deps.config(), dryRun: true }),
    });
    const channels = (opts.channel ? [opts.channel] : entry.notify).filter((c) => c in this.deps.config().channels);
    const base = opts.key ? `${opts.key}:${digest.day}` : `digest-now:${clock.now()}`;
    const drafts = channels.map((channel) => ({ channel, kind: "digest", payload: digest.notification, key: `${base}:${channel}` }));
    if (drafts.length > 0) await store.commit((uow) => uow.enqueue(drafts));
    return channels.length;
  }

  /** `vigil digest --now` and the chat's /digest: every configured digest (or all metrics), now. */
  async digestNow(channel?: string): Promise<number> {
    const config = this.deps.config();
    const entries: DigestConfig[] =
      config.digest.length > 0
        ? config.digest
        : [{ schedule: "", notify: config.defaults.notify, metrics: config.metrics.map((m) => m.name), experiments: true }];
    let queued = 0;
    for (const entry of entries) queued += await this.enqueueDigest(entry, channel ? { channel } : {});
    return queued;
  }

  /** Retention: what closed longer ago than `retention` is deleted; a series' watermark outlives its lookback. */
  async prune(): Promise<Record<string, number>> {
    const { store, clock, log } = this.deps;
    const config = this.deps.config();
    const now = clock.now();
    const longestLookback = Math.max(0, ...config.metrics.map((m) => m.lookbackMs));
    const deleted = await store.prune(now - config.retentionMs, now - Math.max(config.retentionMs, 2 * longestLookback));
    if (Object.values(deleted).some((n) => n > 0)) log.info({ deleted }, "retention: old rows deleted");
    return deleted;
  }
}
