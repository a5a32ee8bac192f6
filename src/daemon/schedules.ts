/** The cron jobs of a config: a tick per distinct metric schedule, and the leader's experiments, digests and retention. */
import type { VigilConfig } from "../config/types.js";
import { shardOf } from "../leader.js";
import type { Logger } from "../log.js";
import type { Scheduler } from "../scheduler.js";
import type { Jobs } from "./jobs.js";

export interface MetricTicksOptions {
  jobs: Jobs;
  log: Logger;
  /** The shards this replica holds, or undefined when the ticks are not sharded. */
  heldShards: () => ReadonlySet<number> | undefined;
  shardCount: number;
  /** Only the leader delivers what a tick queued. */
  isLeader: () => boolean;
}

/**
 * One job per distinct metric schedule. Sharded (VIGIL_SHARDS > 1), each run ticks only the metrics
 * whose shard this replica holds, and only the leader delivers; otherwise the leader ticks them all.
 */
export function scheduleMetricTicks(scheduler: Scheduler, config: VigilConfig, o: MetricTicksOptions): void {
  const groups = new Map<string, { cron: string; names: string[] }>();
  for (const m of config.metrics) {
    const key = `${m.schedule} @ ${config.timezone}`;
    const group = groups.get(key) ?? { cron: m.schedule, names: [] };
    group.names.push(m.name);
    groups.set(key, group);
  }
  for (const [key, group] of groups) {
    scheduler.schedule({
      name: key,
      cron: group.cron,
      timezone: config.timezone,
      run: async () => {
        const held = o.heldShards();
        const names = held ? group.names.filter((n) => held.has(shardOf(n, o.shardCount))) : group.names;
        if (names.length === 0) return;
        o.log.debug({ schedule: group.cron, metrics: names.length }, "tick started");
        const report = await o.jobs.tickOnce(names, group.cron);
        o.log.debug({ schedule: group.cron, metrics: report.metrics.length, failed: report.failed }, "tick done");
        if (o.isLeader()) o.jobs.deliverSoon();
      },
    });
  }
}

/** The jobs only the leader runs: experiments (one job per distinct schedule, like metrics), digests and retention. */
export function scheduleLeaderJobs(scheduler: Scheduler, config: VigilConfig, jobs: Jobs): void {
  const experimentGroups = new Map<string, string[]>();
  for (const e of config.experiments) experimentGroups.set(e.schedule, [...(experimentGroups.get(e.schedule) ?? []), e.name]);
  for (const [cron, names] of experimentGroups) {
    scheduler.schedule({
      name: `experiments ${cron} @ ${config.timezone}`,
      cron,
      timezone: config.timezone,
      run: async () => {
        await jobs.checkExperiments(names);
        jobs.deliverSoon();
      },
    });
  }
  config.digest.forEach((entry, index) => {
    scheduler.schedule({
      name: `digest #${index + 1} ${entry.schedule} @ ${config.timezone}`,
      cron: entry.schedule,
      timezone: config.timezone,
      run: async () => {
        await jobs.enqueueDigest(entry, { key: `digest:${index}` });
        jobs.deliverSoon();
      },
    });
  });
  scheduler.schedule({
    name: `retention @ ${config.timezone}`,
    cron: "17 * * * *",
    timezone: config.timezone,
    run: async () => {
      await jobs.prune();
    },
  });
}
