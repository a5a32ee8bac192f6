/** What a Daemon is made from, and the checks on its config and environment that come before anything opens. */
import type { Clock } from "../clock.js";
import { loadConfigFile } from "../config/load.js";
import { formatProblem } from "../config/problem.js";
import type { VigilConfig } from "../config/types.js";
import type { Database } from "../db/database.js";
import type { EngineDeps } from "../engine/engine.js";
import type { Logger } from "../log.js";
import type { Scheduler } from "../scheduler.js";

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
  /** Watch configPath for changes (default true when the config is read from it rather than given). */
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

export class ConfigInvalidError extends Error {
  override readonly name = "ConfigInvalidError";
  constructor(readonly problems: string[]) {
    super(`invalid config:\n${problems.join("\n")}`);
  }
}

/** The config file's contents; throws ConfigInvalidError listing its problems. */
export async function loadDaemonConfig(configPath: string, env: NodeJS.ProcessEnv): Promise<VigilConfig> {
  const res = await loadConfigFile(configPath, env);
  if (!res.ok) throw new ConfigInvalidError(res.problems.map(formatProblem));
  return res.config;
}

/** VIGIL_SHARDS: how many shards the metric ticks are split into over the replicas (1: not sharded). */
export function shardCountFrom(env: NodeJS.ProcessEnv): number {
  const shards = Number(env.VIGIL_SHARDS ?? 1);
  if (!Number.isInteger(shards) || shards < 1 || shards > 1024)
    throw new Error(`VIGIL_SHARDS must be a whole number from 1 to 1024, got ${env.VIGIL_SHARDS}`);
  return shards;
}
