/**
 * The long-running service: wires config, databases, engine, scheduler, dispatcher, HTTP and the
 * config watcher together, and takes them down in order on SIGTERM.
 */
import { EventEmitter } from "node:events";
import { isDeepStrictEqual } from "node:util";
import type { Notifier } from "../notifiers/notifier.js";
import { createNotifiers } from "../notifiers/registry.js";
import { AlertActions } from "./actions.js";
import { startChatBots } from "./bot/start-chat-bots.js";
import { type Clock, systemClock } from "./clock.js";
import { loadConfigFile } from "./config/load.js";
import { formatProblem } from "./config/problem.js";
import type { DigestConfig, VigilConfig } from "./config/types.js";
import { type ConfigDiff, ConfigWatcher } from "./config/watch.js";
import type { Database } from "./db/database.js";
import { openDatabase } from "./db/open.js";
import { PgDatabase } from "./db/pg.js";
import { Dispatcher } from "./delivery/dispatcher.js";
import { buildDigest } from "./digest/build-digest.js";
import { Engine, type EngineDeps, type TickReport } from "./engine/engine.js";
import { findDrivers } from "./engine/root-cause.js";
import { VigilMetrics } from "./http/metrics.js";
import { type HttpServer, startHttpServer } from "./http/server.js";
import { LeaderElector, ShardManager, shardOf } from "./leader.js";
import { createLogger, errorText, type Logger, scrubSecrets } from "./log.js";
import { CronScheduler, type Scheduler } from "./scheduler.js";
import { makeFetcher, makeGroupFetcher } from "./source-fetcher.js";
import { ScanThread } from "./sources/scan-thread.js";
import { migrate } from "./store/migrations.js";
import { StateStore } from "./store/state-store.js";

/**
 * The experiments' evaluation loads on first use: its statistics library is a few hundred small
 * modules (about 15 MB resident), which a deployment without experiments never needs.
 */
const experimentsModule = () => import("./experiments/evaluate.js");

/** Config sections read only at start: database connections and the HTTP listener. */
const RESTART_SETTINGS = ["database", "http"] as const;

export interface DaemonOptions {
  configPath: string;
  env?: NodeJS.ProcessEnv;
  clock?: Clock;
  log?: Logger;
  stdout?: NodeJS.WritableStream;
  /** Use this config instead of reading configPath (the demo builds its own). */
  config?: VigilConfig;
  /** Injected databases (tests, demo); otherwise opened from the config / environment. */
  metricsDb?: Database;
  stateDb?: Database;
  scheduler?: (log: Logger, onSkip: (job: string) => void) => Scheduler;
  /** Serve HTTP (default true). */
  http?: boolean;
  /** Watch the config file for changes (default true when reading a file). */
  watch?: boolean;
  /** How often the dispatcher looks for due retries (ms). */
  dispatchPollMs?: number;
  /** How long a channel's HTTP call may take before it is cut (ms; the notifiers' own default when unset). */
  httpTimeoutMs?: number;
  /** PGlite directory when no database URL is set. */
  dataDir?: string;
  /** How often a standby replica tries to become the leader (ms, default 1000). */
  leaderRetryMs?: number;
  /** Sees every judged point's verdicts (`run --once` lists them); see EngineDeps. */
  onJudged?: EngineDeps["onJudged"];
}

/**
 * VIGIL_SCAN_THREAD=1: the grouped scans of the metrics database run on a thread of their own
 * (sources/scan-thread.ts), whose driver parses their rows beside the judging. Ticks of thousands
 * of series are faster, and history loads too, for some 20 MB more resident memory (a second V8
 * heap and its own connections). Off by default; the embedded database runs in this thread only.
 */
function scanThreadFor(db: Database, env: NodeJS.ProcessEnv, log: Logger): ScanThread | null {
  const v = env.VIGIL_SCAN_THREAD;
  if (v === undefined || v === "" || v === "0") return null;
  if (v !== "1") throw new Error(`VIGIL_SCAN_THREAD must be 0 or 1, got ${v}`);
  if (!(db instanceof PgDatabase)) {
    log.warn("VIGIL_SCAN_THREAD=1 is ignored: the embedded database can only be read from the main thread");
    return null;
  }
  // the engine has at most two grouped scans in flight
  return new ScanThread({ ...db.threadOptions, max: 2 }, (err) =>
    log.error({ err: scrubSecrets(err.message) }, "database connection error"),
  );
}

export class ConfigInvalidError extends Error {
  override readonly name = "ConfigInvalidError";
  constructor(readonly problems: string[]) {
    super(`invalid config:\n${problems.join("\n")}`);
  }
}

export class Daemon extends EventEmitter<{ leading: []; standby: [] }> {
  readonly metrics = new VigilMetrics();
  readonly engine: Engine;
  readonly dispatcher: Dispatcher;
  private notifiers: Map<string, Notifier>;
  private http: HttpServer | null = null;
  private watcher: ConfigWatcher | null = null;
  private scheduler: Scheduler | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private running = false;
  private stopping: Promise<void> | null = null;
  /** Ticks and config swaps run one at a time: a reload lands between ticks. */
  private serial: Promise<unknown> = Promise.resolve();
  private configProblems: string[] = [];
  /** Edited settings that only a restart applies (the config meta-alert stays open meanwhile). */
  private restartPending: string[] = [];
  private delivering: Promise<unknown> = Promise.resolve();
  private readonly failingChannels = new Set<string>();

  private elector: LeaderElector | null = null;
  /** Sharded metric ticks (VIGIL_SHARDS > 1): the shards this replica holds, and their own scheduler. */
  private shardManager: ShardManager | null = null;
  private shardScheduler: Scheduler | null = null;
  private readonly shardCount: number;
  private bots: { stop(): Promise<void> } | null = null;
  /** Where grouped scans run when VIGIL_SCAN_THREAD=1 (see scanThreadFor). */
  private readonly scanThread: ScanThread | null;
  /** What on-call can do from the chat and the CLI. */
  readonly actions: AlertActions;

  private constructor(
    private config: VigilConfig,
    readonly store: StateStore,
    private readonly metricsDb: Database,
    private readonly stateDb: Database,
    private readonly ownsDbs: boolean,
    readonly log: Logger,
    readonly clock: Clock,
    private readonly opts: DaemonOptions,
  ) {
    super();
    const stdout = opts.stdout ?? process.stdout;
    const shards = Number((opts.env ?? process.env).VIGIL_SHARDS ?? 1);
    if (!Number.isInteger(shards) || shards < 1 || shards > 1024)
      throw new Error(`VIGIL_SHARDS must be a whole number from 1 to 1024, got ${(opts.env ?? process.env).VIGIL_SHARDS}`);
    this.shardCount = shards;
    this.scanThread = scanThreadFor(metricsDb, opts.env ?? process.env, log);
    this.notifiers = createNotifiers({
      config,
      log,
      stdout,
      ...(opts.httpTimeoutMs === undefined ? {} : { httpTimeoutMs: opts.httpTimeoutMs }),
    });
    this.actions = new AlertActions(store, clock, () => this.config);
    this.engine = new Engine(config, {
      store,
      fetch: makeFetcher(metricsDb, log),
      fetchGroup: makeGroupFetcher(metricsDb, log, this.scanThread ?? undefined),
      drill: (m, target) => findDrivers(metricsDb, m, target),
      clock,
      log,
      metrics: this.metrics,
      ...(opts.onJudged ? { onJudged: opts.onJudged } : {}),
    });
    this.dispatcher = new Dispatcher({
      store,
      notifiers: () => this.notifiers,
      clock,
      log,
      metrics: this.metrics,
      onDead: (d, error) => {
        this.failingChannels.add(d.channel);
        void this.engine
          .meta("delivery", true, `a ${d.kind} notification to ${d.channel} could not be delivered: ${error}`, d.channel, d.channel)
          .catch(() => {});
      },
      onSent: (d) => {
        // The channel works again: resolve its delivery meta-alert.
        if (!this.failingChannels.delete(d.channel)) return;
        void this.engine.meta("delivery", false, `${d.channel} delivers again`, d.channel).catch(() => {});
      },
    });
  }

  static async create(opts: DaemonOptions): Promise<Daemon> {
    const env = opts.env ?? process.env;
    const log = opts.log ?? createLogger();
    const clock = opts.clock ?? systemClock;
    let config = opts.config;
    if (!config) {
      const res = await loadConfigFile(opts.configPath, env);
      if (!res.ok) throw new ConfigInvalidError(res.problems.map(formatProblem));
      config = res.config;
    }
    const cfg: VigilConfig = config;
    const onError = (err: Error) => log.error({ err: scrubSecrets(err.message) }, "database connection error");
    const url = cfg.database.url || env.DATABASE_URL || undefined;
    const dataDir = opts.dataDir ?? env.VIGIL_DATA_DIR ?? undefined;
    const metricsDb = opts.metricsDb ?? (await openDatabase({ url, dataDir, onError }));
    const stateUrl = cfg.database.state_url || env.VIGIL_STATE_URL || undefined;
    const stateDb = opts.stateDb ?? (stateUrl && stateUrl !== url ? await openDatabase({ url: stateUrl, onError }) : metricsDb);
    const store = new StateStore(stateDb);
    try {
      await migrate(stateDb);
    } catch (err) {
      // Startup needs the state schema; `vigil run` waits out a database that is down at boot (until-reachable.ts).
      if (!opts.metricsDb) await metricsDb.close().catch(() => {});
      if (!opts.stateDb && stateDb !== metricsDb) await stateDb.close().catch(() => {});
      throw err;
    }
    log.info({ database: metricsDb.target, state: stateDb.target, metrics: cfg.metrics.length }, "vigil starting");
    return new Daemon(cfg, store, metricsDb, stateDb, !opts.metricsDb, log, clock, opts);
  }

  getConfig(): VigilConfig {
    return this.config;
  }

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.serial.then(fn, fn);
    this.serial = p.catch(() => {});
    return p;
  }

  /** Evaluate every metric once (or the named ones) and send what that produced. */
  async tickOnce(names?: readonly string[], label = "once"): Promise<TickReport> {
    return this.enqueue(async () => {
      const end = this.metrics.tickDuration.startTimer({ schedule: label });
      try {
        const report = await this.engine.evaluate(names);
        this.metrics.ticks.inc({ schedule: label, outcome: report.failed.length ? "partial" : "ok" });
        return report;
      } finally {
        end();
      }
    });
  }

  /**
   * Starts sending what a job queued without waiting for it: a tick never waits for the outbox (at
   * Telegram's pace 10,000 alerts take hours), the dispatcher's own loop picks up whatever is left.
   */
  private deliverSoon(): void {
    this.delivering = this.dispatcher.drain().catch((err: unknown) => {
      this.log.error({ err: scrubSecrets(String(err)) }, "dispatcher failed");
      return { sent: 0, retried: 0, dead: 0 };
    });
  }

  /** Resolves when the sending started by the last job is done (tests, and a stop's flush). */
  async deliveriesSettled(): Promise<void> {
    await this.delivering;
  }

  /** `vigil run --once`: one evaluation, then deliver (bounded by `deadlineMs`). */
  async runOnce(deadlineMs = 30_000): Promise<TickReport> {
    const report = await this.tickOnce();
    const failedExperiments = await this.checkExperiments().catch((err: unknown) => {
      this.log.error({ err: scrubSecrets(String(err)) }, "experiments failed");
      return this.config.experiments.map((e) => e.name);
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
    await this.dispatcher.drain(this.clock.now() + deadlineMs);
    return report;
  }

  /**
   * One job per distinct metric schedule. Sharded (VIGIL_SHARDS > 1), each run ticks only the metrics
   * whose shard this replica holds, and only the leader delivers; otherwise the leader ticks them all.
   */
  private scheduleMetrics(scheduler: Scheduler): void {
    const groups = new Map<string, { cron: string; names: string[] }>();
    for (const m of this.config.metrics) {
      const key = `${m.schedule} @ ${this.config.timezone}`;
      const g = groups.get(key) ?? { cron: m.schedule, names: [] };
      g.names.push(m.name);
      groups.set(key, g);
    }
    for (const [key, g] of groups) {
      scheduler.schedule({
        name: key,
        cron: g.cron,
        timezone: this.config.timezone,
        run: async () => {
          const held = this.shardManager?.shards;
          const names = held ? g.names.filter((n) => held.has(shardOf(n, this.shardCount))) : g.names;
          if (names.length === 0) return;
          this.log.debug({ schedule: g.cron, metrics: names.length }, "tick started");
          const report = await this.tickOnce(names, g.cron);
          this.log.debug({ schedule: g.cron, metrics: report.metrics.length, failed: report.failed }, "tick done");
          if (this.isLeader) this.deliverSoon();
        },
      });
    }
  }

  private schedule(): void {
    const scheduler = this.scheduler!;
    scheduler.clear();
    if (!this.shardManager) this.scheduleMetrics(scheduler);
    else if (this.shardScheduler) {
      this.shardScheduler.clear();
      this.scheduleMetrics(this.shardScheduler);
    }
    // Experiments: one job per distinct schedule, like metrics (job names say what they are).
    const expGroups = new Map<string, string[]>();
    for (const e of this.config.experiments) expGroups.set(e.schedule, [...(expGroups.get(e.schedule) ?? []), e.name]);
    for (const [cron, names] of expGroups) {
      scheduler.schedule({
        name: `experiments ${cron} @ ${this.config.timezone}`,
        cron,
        timezone: this.config.timezone,
        run: async () => {
          await this.checkExperiments(names);
          this.deliverSoon();
        },
      });
    }
    this.config.digest.forEach((entry, index) => {
      scheduler.schedule({
        name: `digest #${index + 1} ${entry.schedule} @ ${this.config.timezone}`,
        cron: entry.schedule,
        timezone: this.config.timezone,
        run: async () => {
          await this.enqueueDigest(entry, { key: `digest:${index}` });
          this.deliverSoon();
        },
      });
    });
    scheduler.schedule({
      name: `retention @ ${this.config.timezone}`,
      cron: "17 * * * *",
      timezone: this.config.timezone,
      run: async () => {
        await this.prune();
      },
    });
    this.log.info({ jobs: scheduler.jobs() }, "scheduled");
  }

  /** Retention: what closed longer ago than `retention` is deleted; a series' watermark outlives its lookback. */
  async prune(): Promise<Record<string, number>> {
    const now = this.clock.now();
    const longestLookback = Math.max(0, ...this.config.metrics.map((m) => m.lookbackMs));
    const deleted = await this.store.prune(now - this.config.retentionMs, now - Math.max(this.config.retentionMs, 2 * longestLookback));
    if (Object.values(deleted).some((n) => n > 0)) this.log.info({ deleted }, "retention: old rows deleted");
    return deleted;
  }

  /**
   * Build a digest and put it in the outbox (so a failed send is retried like an alert). Scheduled
   * digests are keyed by entry and day, so a restart or a failover never sends one twice; `--now`
   * and `/digest` get a fresh key.
   */
  async enqueueDigest(entry: DigestConfig, opts: { key?: string; channel?: string } = {}): Promise<number> {
    const digest = await buildDigest(entry, {
      config: this.config,
      db: this.metricsDb,
      store: this.store,
      clock: this.clock,
      log: this.log,
      experiments: async () =>
        (await experimentsModule()).evaluateExperiments({
          db: this.metricsDb,
          store: this.store,
          clock: this.clock,
          log: this.log,
          config: this.config,
          dryRun: true,
        }),
    });
    const channels = (opts.channel ? [opts.channel] : entry.notify).filter((c) => c in this.config.channels);
    const base = opts.key ? `${opts.key}:${digest.day}` : `digest-now:${this.clock.now()}`;
    await this.store.write({
      outcomes: [],
      watermarks: [],
      extraDeliveries: channels.map((channel) => ({ channel, kind: "digest", payload: digest.notification, key: `${base}:${channel}` })),
    });
    return channels.length;
  }

  /** `vigil digest --now` and the chat's /digest: every configured digest (or all metrics), now. */
  async digestNow(channel?: string): Promise<number> {
    const entries: DigestConfig[] =
      this.config.digest.length > 0
        ? this.config.digest
        : [{ schedule: "", notify: this.config.defaults.notify, metrics: this.config.metrics.map((m) => m.name), experiments: true }];
    let n = 0;
    for (const entry of entries) n += await this.enqueueDigest(entry, channel ? { channel } : {});
    return n;
  }

  /** Evaluate experiments (all, or the named ones) between ticks; returns the names that failed. */
  checkExperiments(names?: readonly string[]): Promise<string[]> {
    if (this.config.experiments.length === 0) return Promise.resolve([]);
    return this.enqueue(async () => {
      const { evaluateExperiments } = await experimentsModule();
      const reports = await evaluateExperiments({
        db: this.metricsDb,
        store: this.store,
        clock: this.clock,
        log: this.log,
        config: this.config,
        ...(names ? { names: [...names] } : {}),
      });
      return reports.filter((r) => r.state === "error").map((r) => r.experiment);
    });
  }

  async start(): Promise<void> {
    this.running = true;
    if (this.opts.http !== false) {
      this.http = await startHttpServer(this.config.http.host, this.config.http.port, {
        metrics: this.metrics,
        healthy: () => this.running,
        readiness: () => this.readiness(),
        beforeScrape: () => this.refreshGauges(),
      });
      this.log.info({ port: this.http.port }, "http listening");
    }
    if (this.opts.watch !== false && !this.opts.config) {
      const watcher = new ConfigWatcher(this.opts.configPath, { env: this.opts.env ?? process.env, initial: this.config });
      watcher.on("reload", (ev) => void this.applyConfig(ev.config, ev.diff));
      watcher.on("invalid", (ev) => void this.rejectConfig(ev.problems.map(formatProblem)));
      watcher.on("error", (err) => this.log.error({ err: err.message }, "config watcher error"));
      this.watcher = watcher;
    }
    // Ticks, deliveries and chat polling run only on the leader; every replica serves HTTP and
    // watches its config, so a standby is ready to take over at once.
    const elector = new LeaderElector({ db: this.stateDb, log: this.log, retryMs: this.opts.leaderRetryMs });
    elector.on("elected", () => void this.lead().catch((err: unknown) => this.log.error({ err: String(err) }, "cannot start leading")));
    elector.on("lost", () => void this.standBy());
    this.elector = elector;
    elector.start();
    if (this.shardCount > 1) this.startShards();
  }

  /** Metric ticks sharded over replicas: hold a fair share of the shard locks, tick their metrics. */
  private startShards(): void {
    const shards = new ShardManager({
      db: this.stateDb,
      log: this.log,
      shards: this.shardCount,
      retryMs: this.opts.leaderRetryMs,
      idle: () => this.serial,
    });
    let before = new Set<number>();
    shards.on("changed", (held) => {
      const lost = [...before].filter((i) => !held.has(i));
      before = new Set(held);
      // Another replica owns these metrics now: drop their state, so that a later return reloads it from the database.
      if (lost.length > 0) {
        const names = this.config.metrics.filter((m) => lost.includes(shardOf(m.name, this.shardCount))).map((m) => m.name);
        void this.enqueue(async () => this.engine.forget(names));
      }
      if (held.size > 0 && !this.shardScheduler && this.running) {
        this.shardScheduler = (this.opts.scheduler ?? ((log, onSkip) => new CronScheduler(log, onSkip)))(this.log, (job) =>
          this.metrics.ticksSkipped.inc({ schedule: job }),
        );
        this.scheduleMetrics(this.shardScheduler);
      }
    });
    this.shardManager = shards;
    shards.start();
  }

  /** This replica won the lock: schedule ticks and run the dispatcher. */
  private async lead(): Promise<void> {
    if (!this.running || this.scheduler) return;
    this.scheduler = (this.opts.scheduler ?? ((log, onSkip) => new CronScheduler(log, onSkip)))(this.log, (job) =>
      this.metrics.ticksSkipped.inc({ schedule: job }),
    );
    this.schedule();
    this.metrics.isLeader.set(1);
    const poll = this.opts.dispatchPollMs ?? 1000;
    const loop = () => {
      this.pollTimer = setTimeout(() => {
        this.dispatcher
          .drain()
          .catch((err: unknown) => this.log.error({ err: scrubSecrets(String(err)) }, "dispatcher failed"))
          .finally(() => {
            if (this.running && this.scheduler) loop();
          });
      }, poll);
      this.pollTimer.unref();
    };
    loop();
    // Chat polling belongs to the leader too: two pollers on one Telegram token fight over updates.
    await this.startBots();
    this.emit("leading");
  }

  /** Lost the lock (connection gone): stop ticking and sending; the elector keeps trying. */
  private async standBy(): Promise<void> {
    this.metrics.isLeader.set(0);
    if (this.pollTimer) clearTimeout(this.pollTimer);
    const scheduler = this.scheduler;
    this.scheduler = null;
    await scheduler?.stop();
    await this.stopBots();
    this.emit("standby");
  }

  private async startBots(): Promise<void> {
    try {
      this.bots = await startChatBots({
        config: () => this.config,
        actions: this.actions,
        store: this.store,
        log: this.log,
        clock: this.clock,
        kick: () => void this.dispatcher.drain().catch(() => {}),
        digest: async (channel) => {
          await this.digestNow(channel);
          await this.dispatcher.drain();
        },
      });
    } catch (err) {
      this.log.error({ err: scrubSecrets(String(err)) }, "chat bots did not start");
    }
  }

  private async stopBots(): Promise<void> {
    const bots = this.bots;
    this.bots = null;
    await bots?.stop().catch((err: unknown) => this.log.warn({ err: scrubSecrets(String(err)) }, "stopping chat bots failed"));
  }

  get isLeader(): boolean {
    return this.elector?.isLeader ?? false;
  }

  /** Resolves once this replica leads (ticks scheduled). */
  whenLeading(): Promise<void> {
    return this.scheduler ? Promise.resolve() : new Promise((resolve) => this.once("leading", () => resolve()));
  }

  get httpPort(): number | null {
    return this.http?.port ?? null;
  }

  private async readiness(): Promise<string | null> {
    if (this.configProblems.length > 0) return null; // still running on the last good config
    const timeout = new Promise<string>((resolve) => setTimeout(() => resolve("database did not answer in 2s"), 2000).unref());
    const probe = Promise.all([this.metricsDb.query("SELECT 1"), this.stateDb.query("SELECT 1")]).then(
      () => null,
      (err: unknown) => `database unreachable: ${errorText(err)}`,
    );
    return Promise.race([probe, timeout]);
  }

  private async refreshGauges(): Promise<void> {
    const counts = await this.store.alertCountsByState();
    for (const [state, n] of Object.entries(counts)) this.metrics.alerts.set({ state }, n);
    this.metrics.queueDepth.set(await this.store.queueDepth());
  }

  /** Re-read the config file now (SIGHUP). */
  reloadConfig(): Promise<void> {
    return this.watcher?.reload() ?? Promise.resolve();
  }

  /** Swap in a new valid config between ticks and say what changed. */
  applyConfig(edited: VigilConfig, diff?: ConfigDiff): Promise<void> {
    return this.enqueue(async () => {
      // Connections and the listening socket are made once: their settings keep their running values.
      const restartOnly = RESTART_SETTINGS.filter((k) => !isDeepStrictEqual(edited[k], this.config[k]));
      const config: VigilConfig = { ...edited, database: this.config.database, http: this.config.http };
      const chatChanged = JSON.stringify([config.telegram, config.slack]) !== JSON.stringify([this.config.telegram, this.config.slack]);
      const channelsChanged = chatChanged || JSON.stringify(config.channels) !== JSON.stringify(this.config.channels);
      let notifiers = this.notifiers;
      if (channelsChanged) {
        try {
          notifiers = createNotifiers({
            config,
            log: this.log,
            stdout: this.opts.stdout ?? process.stdout,
            ...(this.opts.httpTimeoutMs === undefined ? {} : { httpTimeoutMs: this.opts.httpTimeoutMs }),
          });
        } catch (err) {
          await this.rejectConfig([`${config.file}: ${err instanceof Error ? err.message : String(err)}`]);
          return;
        }
      }
      const old = this.notifiers;
      this.config = config;
      this.notifiers = notifiers;
      if (old !== notifiers) for (const n of old.values()) await n.close?.().catch(() => {});
      this.engine.setConfig(config);
      if (this.scheduler) this.schedule();
      else if (this.shardScheduler) {
        this.shardScheduler.clear();
        this.scheduleMetrics(this.shardScheduler);
      }
      if (chatChanged && this.bots) {
        // Tokens or API roots changed: the bots must reconnect with the new ones.
        await this.stopBots();
        await this.startBots();
      }
      this.metrics.configReloads.inc({ outcome: "success" });
      this.log.info({ diff }, "config reloaded");
      const hadProblems = this.configProblems.length > 0 || this.restartPending.length > 0;
      this.configProblems = [];
      this.restartPending = restartOnly;
      if (restartOnly.length > 0) {
        const what = restartOnly.join(" and ");
        this.log.warn({ settings: restartOnly }, `config reloaded, but ${what} changes take effect only at restart`);
        await this.engine
          .meta(
            "config",
            true,
            `the edited ${what} settings take effect only when vigil restarts; it is still using the old ones (the rest of the edit is applied)`,
          )
          .catch((err: unknown) => this.log.error({ err: String(err) }, "could not raise the config meta-alert"));
      } else if (hadProblems) {
        await this.engine.meta("config", false, "the config is valid again").catch(() => {});
      }
    });
  }

  private async rejectConfig(problems: string[]): Promise<void> {
    this.metrics.configReloads.inc({ outcome: "invalid" });
    this.configProblems = problems;
    this.log.error({ problems }, "config change rejected; still running on the last good config");
    await this.engine
      .meta("config", true, `the edited config is invalid, still running on the last good one:\n${problems.slice(0, 10).join("\n")}`)
      .catch((err: unknown) => this.log.error({ err: String(err) }, "could not raise the config meta-alert"));
  }

  /** Graceful stop: no new ticks, finish the one in flight, flush deliveries (bounded), close. */
  stop(flushMs = 10_000): Promise<void> {
    if (!this.stopping) this.stopping = this.doStop(flushMs);
    return this.stopping;
  }

  private async doStop(flushMs: number): Promise<void> {
    this.running = false;
    this.engine.halt();
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.watcher?.close();
    const wasLeader = this.scheduler !== null;
    await this.scheduler?.stop();
    this.scheduler = null;
    await this.shardScheduler?.stop();
    this.shardScheduler = null;
    await this.serial;
    // what quiet ticks judged since their last write, so that the next process does not judge it again
    await this.engine.flushWatermarks();
    if (wasLeader) {
      const deadline = Date.now() + flushMs;
      await Promise.race([
        this.dispatcher.drain().catch(() => undefined),
        new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())).unref()),
      ]);
    }
    await this.stopBots();
    await this.shardManager?.stop();
    await this.elector?.stop();
    await this.http?.close();
    for (const n of this.notifiers.values()) await n.close?.().catch(() => {});
    this.metrics.isLeader.set(0);
    await this.scanThread?.close();
    if (this.ownsDbs) {
      await this.metricsDb.close().catch(() => {});
      if (this.stateDb !== this.metricsDb) await this.stateDb.close().catch(() => {});
    }
    this.log.info("vigil stopped");
  }
}
