/**
 * `vigil run` when the database is not there yet (a container that starts before PostgreSQL, a
 * failover in progress): instead of exiting for a supervisor to restart, the daemon keeps trying
 * with backoff, says why in its log, and answers /healthz 200 and /readyz 503 meanwhile, so an
 * orchestrator sees a live process that is not ready rather than a crash loop. Only "the database
 * cannot be reached" is waited out; a bad config or a url that is not PostgreSQL's fails at once.
 */
import { setTimeout as delayFor } from "node:timers/promises";
import { isConnectionError } from "./db/database.js";
import { type HttpServer, startHttpServer } from "./http/server.js";
import { errorText, type Logger } from "./log.js";
import { VigilMetrics } from "./telemetry/metrics.js";

export interface UntilReachableOptions<T> {
  log: Logger;
  /** Stops the waiting (SIGTERM, SIGINT): `untilReachable` then resolves with null. */
  signal: AbortSignal;
  /** Where to answer /healthz and /readyz while waiting (the config's `http:`), or null for none. */
  standby: () => Promise<{ host: string; port: number } | null>;
  /** What to do with a result that arrives after the stop (a daemon made too late: stop it). */
  discard?: (late: T) => Promise<void>;
  /** Waits `ms` or until `signal` aborts (injected by tests). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  firstDelayMs?: number;
  maxDelayMs?: number;
}

/** Waits `ms`, or less when `signal` aborts (the abort is not an error here: the loop checks it). */
const abortableSleep = (ms: number, signal: AbortSignal): Promise<void> => delayFor(ms, undefined, { signal }).catch(() => {});

const STOPPED: unique symbol = Symbol("stopped");

/** `pending`, or STOPPED if `signal` aborts first (the abort listener is removed either way). */
async function unlessStopped<T>(pending: Promise<T>, signal: AbortSignal): Promise<T | typeof STOPPED> {
  if (signal.aborted) return STOPPED;
  let onAbort = () => {};
  const stop = new Promise<typeof STOPPED>((resolve) => {
    onAbort = () => resolve(STOPPED);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([pending, stop]);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/**
 * Run `attempt` until it succeeds, retrying (1 s, 2 s, 4 s ... at most 30 s apart) while it fails
 * because the database cannot be reached (a connection DatabaseError); any other failure is thrown. Null when stopped first.
 */
export async function untilReachable<T>(attempt: () => Promise<T>, opts: UntilReachableOptions<T>): Promise<T | null> {
  const sleep = opts.sleep ?? abortableSleep;
  let delay = opts.firstDelayMs ?? 1000;
  const maxDelay = opts.maxDelayMs ?? 30_000;
  let standby: HttpServer | null = null;
  let why = "";
  let failures = 0;
  try {
    for (;;) {
      if (opts.signal.aborted) return null;
      try {
        // a stop does not wait for an attempt in flight (a connect to a host that never answers
        // takes its whole timeout); what that attempt makes is discarded when it comes
        const pending = attempt();
        const result = await unlessStopped(pending, opts.signal);
        if (result === STOPPED) {
          pending.then((late) => opts.discard?.(late)).catch(() => {});
          return null;
        }
        if (failures > 0) opts.log.info({ attempts: failures + 1 }, "database reachable: starting");
        return result;
      } catch (err) {
        if (!isConnectionError(err)) throw err;
        failures++;
        why = errorText(err);
        opts.log.warn({ err: why, retry_in_ms: delay, attempt: failures }, "database unreachable: waiting for it");
        if (failures === 1) {
          const at = await opts.standby();
          // The daemon's own server takes the port over once it starts; until then, say why it is not ready.
          if (at !== null) {
            standby = await startHttpServer(at.host, at.port, {
              metrics: new VigilMetrics({ defaultMetrics: false }),
              healthy: () => true,
              readiness: async () => `waiting for the database: ${why}`,
            }).catch((e: unknown) => {
              opts.log.warn({ err: errorText(e), port: at.port }, "cannot serve /healthz and /readyz while waiting");
              return null;
            });
          }
        }
      }
      await sleep(delay, opts.signal);
      delay = Math.min(delay * 2, maxDelay);
    }
  } finally {
    await standby?.close();
  }
}
