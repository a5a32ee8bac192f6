/**
 * The long-running service: builds the daemon's services (src/daemon/) from config and databases,
 * starts them in order, and takes them down in order on SIGTERM.
 */
import { EventEmitter } from "node:events";
import type { Notifier } from "../notifiers/notifier.js";
import { AlertActions } from "./actions.js";
import { type Clock, systemClock } from "./clock.js";
import type { ConfigDiff } from "./config/diff-configs.js";
import type { DigestConfig, VigilConfig } from "./config/types.js";
import { Channels } from "./daemon/channels.js";
import { ChatBots } from "./daemon/chat-bots.js";
import { ConfigReloader } from "./daemon/config-reloader.js";
import { closeDatabases, type DaemonDatabases, openDatabases, scanThreadFor } from "./daemon/databases.js";
import { serveDaemonHttp } from "./daemon/http-endpoints.js";
import { Jobs } from "./daemon/jobs.js";
import { Leadership } from "./daemon/leadership.js";
import { MetaAlerts } from "./daemon/meta-alerts.js";
import { type DaemonOptions, loadDaemonConfig, shardCountFrom } from "./daemon/options.js";
import { scheduleLeaderJobs, scheduleMetricTicks } from "./daemon/schedules.js";
import { SerialQueue } from "./daemon/serial-queue.js";
import { Shards } from "./daemon/shards.js";
import { Engine } from "./engine/engine.js";
import type { TickReport } from "./engine/reports.js";
import { findDrivers } from "./engine/root-cause.js";
import type { HttpServer } from "./http/server.js";
import { createLogger, type Logger } from "./log.js";
import { Dispatcher } from "./notify/dispatcher.js";
import { CronScheduler, type Scheduler } from "./scheduler.js";
import { makeFetcher, makeGroupFetcher } from "./source-fetcher.js";
import type { ScanThread } from "./sources/scan-thread.js";
import { StateStore } from "./store/state-store.js";
import { VigilMetrics } from "./telemetry/metrics.js";

export class Daemon extends EventEmitter<{ leading: []; standby: [] }> {
  readonly metrics = new VigilMetrics();
  readonly engine: Engine;
  readonly dispatcher: Dispatcher;
  /** What on-call can do from the chat and the CLI. */
  readonly actions: AlertActions;
  /** Ticks and config swaps run one at a time: a reload lands between ticks. */
  private readonly serial = new SerialQueue();
  private readonly channels: Channels;
  private readonly metaAlerts: MetaAlerts;
  private readonly jobs: Jobs;
  private readonly bots: ChatBots;
  private readonly reloader: ConfigReloader;
  private readonly leadership: Leadership;
  /** Sharded metric ticks (VIGIL_SHARDS > 1), from start() on. */
  private shards: Shards | null = null;
  private readonly shardCount: number;
  /** Where grouped scans run when VIGIL_SCAN_THREAD=1 (see scanThreadFor). */
  private readonly scanThread: ScanThread | null;
  private http: HttpServer | null = null;
  private running = false;
  private stopping: Promise<void> | null = null;

  private constructor(
    private config: VigilConfig,
    readonly store: StateStore,
    private readonly dbs: DaemonDatabases,
    readonly log: Logger,
    readonly clock: Clock,
    private readonly opts: DaemonOptions,
  ) {
    super();
    const env = opts.env ?? process.env;
    this.shardCount = shardCountFrom(env);
    this.scanThread = scanThreadFor(dbs.metricsDb, env, log);
    this.channels = new Channels(config, { log, stdout: opts.stdout ?? process.stdout, httpTimeoutMs: opts.httpTimeoutMs });
    this.actions = new AlertActions(store, clock, () => this.config);
    this.engine = this.buildEngine();
    this.metaAlerts = new MetaAlerts(this.engine, log);
    this.dispatcher = new Dispatcher({
      store,
      notifiers: () => this.channels.current,
      clock,
      log,
      metrics: this.metrics,
      onDead: (delivery, error) => this.metaAlerts.deliveryGivenUp(delivery.channel, delivery.kind, error),
      onSent: (delivery) => this.metaAlerts.deliverySucceeded(delivery.channel),
    });
    const currentConfig = () => this.config;
    const { metrics, dispatcher, engine, serial } = this;
    this.jobs = new Jobs({ config: currentConfig, engine, dispatcher, store, metricsDb: dbs.metricsDb, clock, log, metrics, serial });
    this.bots = new ChatBots({
      config: currentConfig,
      actions: this.actions,
      store,
      log,
      clock,
      kick: () => void dispatcher.drain().catch(() => {}),
      digest: async (channel) => {
        await this.digestNow(channel);
        await dispatcher.drain();
      },
    });
    const { channels, bots, metaAlerts } = this;
    const swap = (edited: VigilConfig, notifiers: ReadonlyMap<string, Notifier>) => this.useConfig(edited, notifiers);
    this.reloader = new ConfigReloader({ config: currentConfig, swap, channels, bots, serial, metaAlerts, metrics, log });
    this.leadership = new Leadership({
      stateDb: dbs.stateDb,
      log,
      metrics,
      dispatcher,
      bots,
      retryMs: opts.leaderRetryMs,
      dispatchPollMs: opts.dispatchPollMs ?? 1000,
      running: () => this.running,
      newScheduler: () => this.newScheduler(),
      scheduleJobs: (scheduler) => this.scheduleLeader(scheduler),
      onLeading: () => this.emit("leading"),
      onStandby: () => this.emit("standby"),
    });
  }

  static async create(opts: DaemonOptions): Promise<Daemon> {
    const env = opts.env ?? process.env;
    const log = opts.log ?? createLogger();
    const clock = opts.clock ?? systemClock;
    const config = opts.config ?? (await loadDaemonConfig(opts.configPath, env));
    const dbs = await openDatabases(config, opts, env, log);
    const store = new StateStore(dbs.stateDb);
    log.info({ database: dbs.metricsDb.target, state: dbs.stateDb.target, metrics: config.metrics.length }, "vigil starting");
    try {
      return new Daemon(config, store, dbs, log, clock, opts);
    } catch (err) {
      // a daemon that cannot start closes what it opened, or its pools keep the process from exiting
      await closeDatabases(dbs);
      throw err;
    }
  }

  private buildEngine(): Engine {
    const { metricsDb } = this.dbs;
    return new Engine(this.config, {
      store: this.store,
      fetch: makeFetcher(metricsDb, this.log),
      fetchGroup: makeGroupFetcher(metricsDb, this.log, this.scanThread ?? undefined),
      drill: (metric, target) => findDrivers(metricsDb, metric, target),
      clock: this.clock,
      log: this.log,
      metrics: this.metrics,
      ...(this.opts.onJudged ? { onJudged: this.opts.onJudged } : {}),
    });
  }

  getConfig(): VigilConfig {
    return this.config;
  }

  /** Evaluate every metric once (or the named ones) and send what that produced. */
  tickOnce(names?: readonly string[], label = "once"): Promise<TickReport> {
    return this.jobs.tickOnce(names, label);
  }

  /** Resolves when the sending started by the last job is done (tests, and a stop's flush). */
  deliveriesSettled(): Promise<void> {
    return this.jobs.deliveriesSettled();
  }

  /** `vigil run --once`: one evaluation, then deliver (bounded by `deadlineMs`). */
  runOnce(deadlineMs = 30_000): Promise<TickReport> {
    return this.jobs.runOnce(deadlineMs);
  }

  /** Retention: what closed longer ago than `retention` is deleted. */
  prune(): Promise<Record<string, number>> {
    return this.jobs.prune();
  }

  /** Build a digest and put it in the outbox; see Jobs.enqueueDigest for its keys. */
  enqueueDigest(entry: DigestConfig, opts: { key?: string; channel?: string } = {}): Promise<number> {
    return this.jobs.enqueueDigest(entry, opts);
  }

  /** `vigil digest --now` and the chat's /digest: every configured digest (or all metrics), now. */
  digestNow(channel?: string): Promise<number> {
    return this.jobs.digestNow(channel);
  }

  /** Evaluate experiments (all, or the named ones) between ticks; returns the names that failed. */
  checkExperiments(names?: readonly string[]): Promise<string[]> {
    return this.jobs.checkExperiments(names);
  }

  get isLeader(): boolean {
    return this.leadership.isLeader;
  }

  /** Resolves once this replica leads (ticks scheduled). */
  whenLeading(): Promise<void> {
    return this.leadership.scheduler ? Promise.resolve() : new Promise((resolve) => this.once("leading", () => resolve()));
  }

  get httpPort(): number | null {
    return this.http?.port ?? null;
  }

  /** Re-read the config file now (SIGHUP). */
  reloadConfig(): Promise<void> {
    return this.reloader.reload();
  }

  /** Swap in a new valid config between ticks and say what changed. */
  applyConfig(edited: VigilConfig, diff?: ConfigDiff): Promise<void> {
    return this.reloader.apply(edited, diff);
  }

  /** Starts the services in order: HTTP, the config watcher, leader election, then the shards. */
  async start(): Promise<void> {
    this.running = true;
    if (this.opts.http !== false) {
      this.http = await serveDaemonHttp(this.config.http.host, this.config.http.port, {
        metrics: this.metrics,
        store: this.store,
        metricsDb: this.dbs.metricsDb,
        stateDb: this.dbs.stateDb,
        healthy: () => this.running,
        configRejected: () => this.reloader.rejected,
      });
      this.log.info({ port: this.http.port }, "http listening");
    }
    if (this.opts.watch ?? !this.opts.config) this.reloader.watch(this.opts.configPath, this.opts.env ?? process.env);
    this.leadership.start();
    if (this.shardCount > 1) this.startShards();
  }

  private startShards(): void {
    this.shards = new Shards({
      stateDb: this.dbs.stateDb,
      log: this.log,
      shardCount: this.shardCount,
      retryMs: this.opts.leaderRetryMs,
      config: () => this.config,
      engine: this.engine,
      serial: this.serial,
      running: () => this.running,
      newScheduler: () => this.newScheduler(),
      scheduleTicks: (scheduler) => this.scheduleTicks(scheduler),
    });
    this.shards.start();
  }

  private newScheduler(): Scheduler {
    const make = this.opts.scheduler ?? ((log, onSkip) => new CronScheduler(log, onSkip));
    return make(this.log, (job) => this.metrics.ticksSkipped.inc({ schedule: job }));
  }

  private scheduleTicks(scheduler: Scheduler): void {
    scheduleMetricTicks(scheduler, this.config, {
      jobs: this.jobs,
      log: this.log,
      heldShards: () => this.shards?.held,
      shardCount: this.shardCount,
      isLeader: () => this.isLeader,
    });
  }

  /** The leader's jobs; sharded metric ticks stay on the shards' own scheduler. */
  private scheduleLeader(scheduler: Scheduler): void {
    scheduler.clear();
    if (!this.shards) this.scheduleTicks(scheduler);
    else this.shards.reschedule();
    scheduleLeaderJobs(scheduler, this.config, this.jobs);
    this.log.info({ jobs: scheduler.jobs() }, "scheduled");
  }

  /** Puts a reloaded config to use: its channels, the engine's judging, the schedules. */
  private async useConfig(config: VigilConfig, notifiers: ReadonlyMap<string, Notifier>): Promise<void> {
    this.config = config;
    await this.channels.replace(notifiers);
    this.engine.setConfig(config);
    const leaderScheduler = this.leadership.scheduler;
    if (leaderScheduler) this.scheduleLeader(leaderScheduler);
    else this.shards?.reschedule();
  }

  /** Graceful stop: no new ticks, finish the one in flight, flush deliveries (bounded), close. */
  stop(flushMs = 10_000): Promise<void> {
    if (!this.stopping) this.stopping = this.stopInOrder(flushMs);
    return this.stopping;
  }

  private async stopInOrder(flushMs: number): Promise<void> {
    this.running = false;
    this.engine.halt();
    this.leadership.stopPolling();
    this.reloader.stopWatching();
    const wasLeader = await this.leadership.stopJobs();
    await this.shards?.stopTicks();
    await this.serial.settled();
    // what quiet ticks judged since their last write, so that the next process does not judge it again
    await this.engine.flushWatermarks();
    if (wasLeader) await this.jobs.flushDeliveries(flushMs);
    await this.bots.stop();
    await this.shards?.release();
    await this.leadership.release();
    await this.http?.close();
    await this.channels.close();
    this.metrics.isLeader.set(0);
    await this.scanThread?.close();
    await closeDatabases(this.dbs);
    this.log.info("vigil stopped");
  }
}
