/** Adapts the source layer to the engine's Fetcher, retrying a dropped connection briefly with backoff. */
import type { MetricConfig } from "./config/types.js";
import { type Database, DatabaseError } from "./db/database.js";
import type { Fetcher, FetchResult } from "./engine/fetcher.js";
import type { Logger } from "./log.js";
import { fetchBuckets } from "./sources/index.js";

const RETRY_DELAYS_MS = [250, 1000];

export function makeFetcher(db: Database, log: Logger): Fetcher {
  return async (metric: MetricConfig, window): Promise<FetchResult> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fetchBuckets(db, metric, window);
      } catch (err) {
        const transient = err instanceof DatabaseError && err.kind === "connection";
        const delay = RETRY_DELAYS_MS[attempt];
        if (!transient || delay === undefined) throw err;
        log.warn({ metric: metric.name, attempt: attempt + 1, err: err.message }, "database unreachable; retrying");
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  };
}
