/**
 * The main thread's handle on the scan thread (scan-worker.ts). A steady tick of 10,000 series is
 * CPU-bound on one thread: the pg driver parsing rows (a hundred wide rows per scan, an object and a
 * string per value) took about a fifth of it, the detectors most of the rest. On a thread of its own
 * the parsing runs beside the judging, and the thread that judges receives only value arrays.
 *
 * The thread starts on the first scan and again after it died (its pending scans fail with the
 * error, which the caller retries or reads alone like any failed scan). While no scan is pending it
 * does not keep the process alive.
 */
import type { Worker } from "node:worker_threads";
import type { DatabaseError } from "../db/database.js";
import { spawnWorker } from "../spawn-worker.js";
import type { GroupScan } from "./fetch-buckets.js";
import type { ScanJob, ScanReply, ScanWorkerData } from "./scan-worker.js";
import { reviveError } from "./scan-worker.js";
import type { BucketGrid } from "./types.js";

interface Pending {
  resolve: (g: BucketGrid) => void;
  reject: (e: Error) => void;
}

export class ScanThread {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closed = false;

  /** `onConnectionError`: errors outside any scan (an idle connection the server dropped). */
  constructor(
    private readonly options: ScanWorkerData,
    private readonly onConnectionError: (err: DatabaseError) => void = () => {},
  ) {}

  /** Run a planned scan on the thread; `reuse` is transferred (empty here afterwards). */
  run(scan: GroupScan, reuse?: Float64Array): Promise<BucketGrid> {
    if (this.closed) return Promise.reject(new Error("scan thread closed"));
    const worker = this.start();
    const id = this.nextId++;
    return new Promise<BucketGrid>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) worker.ref();
      const job: ScanJob = reuse && reuse.byteLength > 0 ? { id, scan, reuse } : { id, scan };
      worker.postMessage(job, job.reuse ? [job.reuse.buffer as ArrayBuffer] : []);
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = spawnWorker(import.meta.url, "scan-worker", { workerData: this.options });
    worker.unref();
    worker.on("message", (m: ScanReply) => {
      if (m.id === null) {
        if ("connectionError" in m) this.onConnectionError(reviveError(m.connectionError) as DatabaseError);
        return;
      }
      const p = this.pending.get(m.id);
      if (!p) return;
      this.settled(m.id);
      if ("error" in m) p.reject(reviveError(m.error));
      else p.resolve(m.grid);
    });
    const died = (err: Error): void => {
      if (this.worker !== worker) return;
      this.worker = null;
      for (const [id, p] of [...this.pending]) {
        this.pending.delete(id);
        p.reject(err);
      }
    };
    worker.on("error", (e) => died(new Error(`scan thread failed: ${e.message}`)));
    worker.on("exit", (code) => died(new Error(`scan thread exited (${code})`)));
    this.worker = worker;
    return worker;
  }

  private settled(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker?.unref();
  }

  /** Close the thread's connections and end it; pending scans fail. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
    worker.postMessage("close");
    const timer = setTimeout(() => void worker.terminate(), 5000);
    await exited;
    clearTimeout(timer);
  }
}
