/** The metrics and state databases a daemon opens (unless given them), with the state schema migrated. */
import type { VigilConfig } from "../config/types.js";
import type { Database } from "../db/database.js";
import { openDatabase } from "../db/open.js";
import { PgDatabase } from "../db/pg.js";
import { type Logger, scrubSecrets } from "../log.js";
import { ScanThread } from "../sources/scan-thread.js";
import { migrate } from "../store/migrations.js";
import type { DaemonOptions } from "./options.js";

export interface DaemonDatabases {
  metricsDb: Database;
  /** The metrics database itself unless a state url names another. */
  stateDb: Database;
  /** True when they were opened here, so that the daemon closes them at its stop. */
  owned: boolean;
}

/** Opens the databases `config` and the environment name, and migrates the state schema; on failure closes what it opened. */
export async function openDatabases(
  config: VigilConfig,
  opts: DaemonOptions,
  env: NodeJS.ProcessEnv,
  log: Logger,
): Promise<DaemonDatabases> {
  const onError = (err: Error) => log.error({ err: scrubSecrets(err.message) }, "database connection error");
  const url = config.database.url || env.DATABASE_URL || undefined;
  const dataDir = opts.dataDir ?? env.VIGIL_DATA_DIR ?? undefined;
  const metricsDb = opts.metricsDb ?? (await openDatabase({ url, dataDir, onError }));
  const stateUrl = config.database.state_url || env.VIGIL_STATE_URL || undefined;
  const stateDb = opts.stateDb ?? (stateUrl && stateUrl !== url ? await openDatabase({ url: stateUrl, onError }) : metricsDb);
  try {
    await migrate(stateDb);
  } catch (err) {
    // Startup needs the state schema; `vigil run` waits out a database that is down at boot (until-reachable.ts).
    if (!opts.metricsDb) await metricsDb.close().catch(() => {});
    if (!opts.stateDb && stateDb !== metricsDb) await stateDb.close().catch(() => {});
    throw err;
  }
  return { metricsDb, stateDb, owned: !opts.metricsDb };
}

/** Closes the databases if they were opened here. */
export async function closeDatabases(dbs: DaemonDatabases): Promise<void> {
  if (!dbs.owned) return;
  await dbs.metricsDb.close().catch(() => {});
  if (dbs.stateDb !== dbs.metricsDb) await dbs.stateDb.close().catch(() => {});
}

/**
 * VIGIL_SCAN_THREAD=1: the grouped scans of the metrics database run on a thread of their own
 * (sources/scan-thread.ts), whose driver parses their rows beside the judging, at the cost of a second
 * V8 heap and its own connections. Off by default; the embedded database runs in this thread only.
 */
export function scanThreadFor(db: Database, env: NodeJS.ProcessEnv, log: Logger): ScanThread | null {
  const setting = env.VIGIL_SCAN_THREAD;
  if (setting === undefined || setting === "" || setting === "0") return null;
  if (setting !== "1") throw new Error(`VIGIL_SCAN_THREAD must be 0 or 1, got ${setting}`);
  if (!(db instanceof PgDatabase)) {
    log.warn("VIGIL_SCAN_THREAD=1 is ignored: the embedded database can only be read from the main thread");
    return null;
  }
  // the engine has at most two grouped scans in flight
  return new ScanThread({ ...db.threadOptions, max: 2 }, (err) =>
    log.error({ err: scrubSecrets(err.message) }, "database connection error"),
  );
}
