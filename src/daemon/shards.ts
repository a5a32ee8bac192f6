/** Metric ticks sharded over replicas (VIGIL_SHARDS > 1): hold a fair share of the shard locks, tick their metrics. */
import type { VigilConfig } from "../config/types.js";
import type { Database } from "../db/database.js";
import type { Engine } from "../engine/engine.js";
import { ShardManager, shardOf } from "../leader.js";
import type { Logger } from "../log.js";
import type { Scheduler } from "../scheduler.js";
import type { SerialQueue } from "./serial-queue.js";

export interface ShardsDeps {
  stateDb: Database;
  log: Logger;
  shardCount: number;
  /** How often shard locks are balanced and retried (ms). */
  retryMs: number | undefined;
  config: () => VigilConfig;
  engine: Engine;
  serial: SerialQueue;
  /** False once the daemon is stopping: no scheduler is made then. */
  running: () => boolean;
  newScheduler: () => Scheduler;
  /** Puts the metric ticks on a scheduler. */
  scheduleTicks: (scheduler: Scheduler) => void;
}

export class Shards {
  private readonly manager: ShardManager;
  /** The sharded ticks' own scheduler, made when the first shard is held. */
  private scheduler: Scheduler | null = null;
  private before = new Set<number>();

  constructor(private readonly deps: ShardsDeps) {
    const { stateDb, log, shardCount, retryMs, serial } = deps;
    this.manager = new ShardManager({ db: stateDb, log, shards: shardCount, retryMs, idle: () => serial.settled() });
    this.manager.on("changed", (held) => this.onChanged(held));
  }

  /** The shards this replica holds now. */
  get held(): ReadonlySet<number> {
    return this.manager.shards;
  }

  start(): void {
    this.manager.start();
  }

  private onChanged(held: ReadonlySet<number>): void {
    const { config, engine, serial, shardCount } = this.deps;
    const lost = [...this.before].filter((i) => !held.has(i));
    this.before = new Set(held);
    // Another replica owns these metrics now: drop their state, so that a later return reloads it from the database.
    if (lost.length > 0) {
      const names = config()
        .metrics.filter((m) => lost.includes(shardOf(m.name, shardCount)))
        .map((m) => m.name);
      void serial.run(async () => engine.forget(names));
    }
    if (held.size > 0 && !this.scheduler && this.deps.running()) {
      this.scheduler = this.deps.newScheduler();
      this.deps.scheduleTicks(this.scheduler);
    }
  }

  /** Schedules the ticks anew (a reloaded config), if they are scheduled at all. */
  reschedule(): void {
    if (!this.scheduler) return;
    this.scheduler.clear();
    this.deps.scheduleTicks(this.scheduler);
  }

  /** Stops the sharded ticks and waits for the runs in flight. */
  async stopTicks(): Promise<void> {
    await this.scheduler?.stop();
    this.scheduler = null;
  }

  /** Gives the shard locks up, so that the other replicas take them over at once. */
  async release(): Promise<void> {
    await this.manager.stop();
  }
}
