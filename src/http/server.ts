/** /healthz (the loop is alive), /readyz (config loaded, database answers), /metrics (Prometheus). */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { VigilMetrics } from "../telemetry/metrics.js";

export interface HttpDeps {
  metrics: VigilMetrics;
  /** True while the scheduler loop is alive. */
  healthy: () => boolean;
  /** Resolves with null when ready, or the reason it is not. */
  readiness: () => Promise<string | null>;
  /** Refresh gauges read from the database just before a scrape. */
  beforeScrape?: () => Promise<void>;
}

export interface HttpServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

export async function startHttpServer(host: string, port: number, deps: HttpDeps): Promise<HttpServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const reply = (status: number, body: string, type = "text/plain; charset=utf-8") => {
      res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
      res.end(body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") return reply(405, "method not allowed\n");
    if (path === "/healthz") return deps.healthy() ? reply(200, "ok\n") : reply(503, "scheduler loop stopped\n");
    if (path === "/readyz") {
      deps
        .readiness()
        .then((why) => (why === null ? reply(200, "ready\n") : reply(503, `not ready: ${why}\n`)))
        .catch((err: unknown) => reply(503, `not ready: ${err instanceof Error ? err.message : String(err)}\n`));
      return;
    }
    if (path === "/metrics") {
      (deps.beforeScrape ?? (async () => {}))()
        .catch(() => {})
        .then(() => deps.metrics.registry.metrics())
        .then((text) => reply(200, text, deps.metrics.registry.contentType))
        .catch((err: unknown) => reply(500, `metrics failed: ${err instanceof Error ? err.message : String(err)}\n`));
      return;
    }
    reply(404, "not found: try /healthz, /readyz or /metrics\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    server,
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
