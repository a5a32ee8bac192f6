/** Adapts the source layer to the engine's Fetcher, retrying a dropped connection briefly with backoff. */
import type { MetricConfig } from "./config/types.js";
import { type Database, isConnectionError } from "./db/database.js";
import type { Fetcher, GroupFetcher } from "./engine/fetcher.js";
import type { Logger } from "./log.js";
import { planGroupScan, withMembers } from "./sources/fetch-buckets.js";
import { fetchBucketGrid, fetchBuckets } from "./sources/index.js";
import type { ScanThread } from "./sources/scan-thread.js";
import type { FetchResult } from "./sources/types.js";

const RETRY_DELAYS_MS = [250, 1000];

async function withRetry<T>(log: Logger, what: string, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const transient = isConnectionError(err);
      const delay = RETRY_DELAYS_MS[attempt];
      if (!transient || delay === undefined) throw err;
      log.warn({ metric: what, attempt: attempt + 1, err: err.message }, "database unreachable; retrying");
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

export function makeFetcher(db: Database, log: Logger): Fetcher {
  return (metric: MetricConfig, window, series): Promise<FetchResult> =>
    withRetry(log, metric.name, () => fetchBuckets(db, metric, window, series));
}

/**
 * One query for several metrics that share a scan (see fetchBucketGrid), run on the scan thread
 * when there is one (a retry decodes into a new array: the first attempt took `reuse` with it).
 */
export function makeGroupFetcher(db: Database, log: Logger, thread?: ScanThread): GroupFetcher {
  if (thread) {
    // async: a plan that cannot be made rejects like a scan that fails, never throws at the caller
    return async (metrics, window, reuse) => {
      const scan = planGroupScan(metrics, window);
      return withMembers(metrics, await withRetry(log, scan.name, () => thread.run(scan, reuse)));
    };
  }
  return async (metrics, window, reuse) =>
    withMembers(metrics, await withRetry(log, metrics.map((m) => m.name).join(", "), () => fetchBucketGrid(db, metrics, window, reuse)));
}
