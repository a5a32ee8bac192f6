/**
 * Pick the adapter: PostgreSQL when a URL is configured, otherwise the embedded PGlite.
 */
import type { Database } from "./database.js";
import { PgDatabase, type PgDatabaseOptions, redactUrl } from "./pg.js";
import { PgliteDatabase } from "./pglite.js";

export interface OpenDatabaseOptions {
  /** postgres:// URL; unset or empty (as `${DATABASE_URL:-}` interpolates) means PGlite. */
  url?: string;
  /** PGlite directory (default `.vigil/pglite`). */
  dataDir?: string;
  /** PGlite in memory instead of a directory. */
  memory?: boolean;
  /** pg only: where errors outside any query go (see PgDatabaseOptions.onError). */
  onError?: PgDatabaseOptions["onError"];
  /** pg only: server-side statement timeout (default 5 min, null = none). */
  statementTimeoutMs?: number | null;
  /** pg only: pool size (default 10). */
  max?: number;
  /** pg only: give up opening a connection after this long (default 10 s). */
  connectTimeoutMs?: number;
}

/**
 * Open the database. For pg this does not connect yet (the pool connects on first use, so a daemon
 * can start while PostgreSQL is still coming up and report it through /readyz); PGlite is ready on return.
 */
export async function openDatabase(opts: OpenDatabaseOptions = {}): Promise<Database> {
  const url = opts.url?.trim();
  if (url) {
    if (!/^postgres(ql)?:\/\//i.test(url)) {
      // a mistake in the configuration, not a database that is away: no DatabaseError, nothing to retry
      throw new Error(`database url must start with postgres:// or postgresql://, got ${redactUrl(url)}`);
    }
    return new PgDatabase({
      url,
      ...(opts.onError === undefined ? {} : { onError: opts.onError }),
      ...(opts.statementTimeoutMs === undefined ? {} : { statementTimeoutMs: opts.statementTimeoutMs }),
      ...(opts.max === undefined ? {} : { max: opts.max }),
      ...(opts.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: opts.connectTimeoutMs }),
    });
  }
  return PgliteDatabase.open({
    ...(opts.dataDir === undefined ? {} : { dataDir: opts.dataDir }),
    ...(opts.memory === undefined ? {} : { memory: opts.memory }),
  });
}
