/**
 * The scan thread (see scan-thread.ts): runs planned grouped scans on connections of its own and
 * decodes their rows onto bucket grids, so that the driver's parsing and the row objects it makes
 * stay off the thread that judges. Messages: in ScanJob (its `reuse` array transferred), out
 * ScanReply (the grid's value array transferred), possibly out of order: several scans run at once.
 */
import "./node-navigator.js"; // before pg (see there)
import { parentPort, workerData } from "node:worker_threads";
import { DatabaseError } from "../db/database.js";
import { PgDatabase, type PgDatabaseOptions } from "../db/pg.js";
import { type GroupScan, runGroupScan, SourceError } from "./fetch-buckets.js";
import type { BucketGrid } from "./types.js";

export type ScanWorkerData = Omit<PgDatabaseOptions, "onError">;

export interface ScanJob {
  id: number;
  scan: GroupScan;
  reuse?: Float64Array;
}

/** An error as plain data, rebuilt as the same class on the other side (see reviveError). */
export type ScanFailure =
  | { type: "database"; message: string; kind: DatabaseError["kind"]; details: Omit<DatabaseError["details"], "cause"> }
  | { type: "source"; metric: string; message: string; kind: SourceError["kind"]; cause?: ScanFailure }
  | { type: "other"; name: string; message: string };

export type ScanReply = { id: number; grid: BucketGrid } | { id: number; error: ScanFailure } | { id: null; connectionError: ScanFailure };

export function serializeError(err: unknown): ScanFailure {
  if (err instanceof DatabaseError) {
    const { cause: _cause, ...details } = err.details;
    return { type: "database", message: err.message, kind: err.kind, details };
  }
  if (err instanceof SourceError) {
    const prefix = `metric "${err.metric}": `;
    const message = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
    return {
      type: "source",
      metric: err.metric,
      message,
      kind: err.kind,
      ...(err.cause === undefined ? {} : { cause: serializeError(err.cause) }),
    };
  }
  if (err instanceof Error) return { type: "other", name: err.name, message: err.message };
  return { type: "other", name: "Error", message: String(err) };
}

export function reviveError(f: ScanFailure): Error {
  switch (f.type) {
    case "database":
      return new DatabaseError(f.message, f.kind, f.details);
    case "source":
      return new SourceError(f.metric, f.message, f.kind, f.cause === undefined ? undefined : { cause: reviveError(f.cause) });
    default: {
      const e = new Error(f.message);
      e.name = f.name;
      return e;
    }
  }
}

const port = parentPort;
if (port !== null) {
  // errors outside any query (an idle connection dropped) go to the main thread's handler
  const db = new PgDatabase({
    ...(workerData as ScanWorkerData),
    onError: (err) => port.postMessage({ id: null, connectionError: serializeError(err) } satisfies ScanReply),
  });
  port.on("message", (job: ScanJob | "close") => {
    if (job === "close") {
      void db.close().finally(() => port.close());
      return;
    }
    runGroupScan(db, job.scan, job.reuse).then(
      (grid) => {
        const buffer = grid.values[0]?.buffer;
        port.postMessage({ id: job.id, grid } satisfies ScanReply, buffer ? [buffer as ArrayBuffer] : []);
      },
      (err: unknown) => port.postMessage({ id: job.id, error: serializeError(err) } satisfies ScanReply),
    );
  });
}
