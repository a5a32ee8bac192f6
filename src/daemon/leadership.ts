/**
 * Leadership: ticks, deliveries and chat polling run only on the replica that holds the leader lock;
 * every replica serves HTTP and watches its config, so a standby is ready to take over at once.
 */
import type { Database } from "../db/database.js";
import { LeaderElector } from "../leader.js";
import { type Logger, scrubSecrets } from "../log.js";
import type { Dispatcher } from "../notify/dispatcher.js";
import type { Scheduler } from "../scheduler.js";
import type { VigilMetrics } from "../telemetry/metrics.js";
import type { ChatBots } from "./chat-bots.js";

export interface LeadershipDeps {
  stateDb: Database;
  log: Logger;
  metrics: VigilMetrics;
  dispatcher: Dispatcher;
  bots: ChatBots;
  /** How often a standby tries to become the leader (ms). */
  retryMs: number | undefined;
  /** How often the leader's dispatcher looks for due retries (ms). */
  dispatchPollMs: number;
  /** False once the daemon is stopping: it no longer takes the lead. */
  running: () => boolean;
  newScheduler: () => Scheduler;
  /** Puts the leader's jobs on its scheduler. */
  scheduleJobs: (scheduler: Scheduler) => void;
  onLeading: () => void;
  onStandby: () => void;
}

export class Leadership {
  private elector: LeaderElector | null = null;
  private leaderScheduler: Scheduler | null = null;
  private pollTimer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: LeadershipDeps) {}

  get isLeader(): boolean {
    return this.elector?.isLeader ?? false;
  }

  /** The leader's scheduler, null while standing by. */
  get scheduler(): Scheduler | null {
    return this.leaderScheduler;
  }

  start(): void {
    const { stateDb, log, retryMs } = this.deps;
    const elector = new LeaderElector({ db: stateDb, log, retryMs });
    elector.on("elected", () => void this.lead().catch((err: unknown) => log.error({ err: String(err) }, "cannot start leading")));
    elector.on("lost", () => void this.standBy());
    this.elector = elector;
    elector.start();
  }

  /** This replica won the lock: schedule ticks and run the dispatcher. */
  private async lead(): Promise<void> {
    if (!this.deps.running() || this.leaderScheduler) return;
    this.leaderScheduler = this.deps.newScheduler();
    this.deps.scheduleJobs(this.leaderScheduler);
    this.deps.metrics.isLeader.set(1);
    this.pollDispatcher();
    // Chat polling belongs to the leader too: two pollers on one Telegram token fight over updates.
    await this.deps.bots.start();
    this.deps.onLeading();
  }

  /** The dispatcher's own loop, for retries that come due between jobs. */
  private pollDispatcher(): void {
    this.pollTimer = setTimeout(() => {
      this.deps.dispatcher
        .drain()
        .catch((err: unknown) => this.deps.log.error({ err: scrubSecrets(String(err)) }, "dispatcher failed"))
        .finally(() => {
          if (this.deps.running() && this.leaderScheduler) this.pollDispatcher();
        });
    }, this.deps.dispatchPollMs);
    this.pollTimer.unref();
  }

  /** Lost the lock (connection gone): stop ticking and sending; the elector keeps trying. */
  private async standBy(): Promise<void> {
    this.deps.metrics.isLeader.set(0);
    this.stopPolling();
    const scheduler = this.leaderScheduler;
    this.leaderScheduler = null;
    await scheduler?.stop();
    await this.deps.bots.stop();
    this.deps.onStandby();
  }

  stopPolling(): void {
    if (this.pollTimer) clearTimeout(this.pollTimer);
  }

  /** Stops the leader's jobs and waits for the runs in flight; true if this replica was leading. */
  async stopJobs(): Promise<boolean> {
    const wasLeader = this.leaderScheduler !== null;
    await this.leaderScheduler?.stop();
    this.leaderScheduler = null;
    return wasLeader;
  }

  /** Gives the lock up, so that a standby takes over at once. */
  async release(): Promise<void> {
    await this.elector?.stop();
  }
}
