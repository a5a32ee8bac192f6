/** The daemon's /healthz, /readyz and /metrics: what each answers from. */
import type { Database } from "../db/database.js";
import { type HttpServer, startHttpServer } from "../http/server.js";
import { errorText } from "../log.js";
import type { StateStore } from "../store/state-store.js";
import type { VigilMetrics } from "../telemetry/metrics.js";

export interface DaemonHttpDeps {
  metrics: VigilMetrics;
  store: StateStore;
  metricsDb: Database;
  stateDb: Database;
  /** False once the daemon is stopping. */
  healthy: () => boolean;
  /** True while an edited config is rejected. */
  configRejected: () => boolean;
}

export function serveDaemonHttp(host: string, port: number, deps: DaemonHttpDeps): Promise<HttpServer> {
  return startHttpServer(host, port, {
    metrics: deps.metrics,
    healthy: deps.healthy,
    readiness: () => readiness(deps),
    beforeScrape: () => refreshGauges(deps),
  });
}

/** Ready when both databases answer within 2 s, or when a rejected edit keeps the last good config running. */
async function readiness(deps: DaemonHttpDeps): Promise<string | null> {
  if (deps.configRejected()) return null;
  const timeout = new Promise<string>((resolve) => setTimeout(() => resolve("database did not answer in 2s"), 2000).unref());
  const probe = Promise.all([deps.metricsDb.query("SELECT 1"), deps.stateDb.query("SELECT 1")]).then(
    () => null,
    (err: unknown) => `database unreachable: ${errorText(err)}`,
  );
  return Promise.race([probe, timeout]);
}

/** The gauges read from the state database, just before a scrape. */
async function refreshGauges(deps: DaemonHttpDeps): Promise<void> {
  const counts = await deps.store.alertCountsByState();
  for (const [state, count] of Object.entries(counts)) deps.metrics.alerts.set({ state }, count);
  deps.metrics.queueDepth.set(await deps.store.queueDepth());
}
