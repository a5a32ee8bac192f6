/**
 * The main thread's handle on the detector thread (detect-worker.ts): post a batch, get a promise of
 * its verdicts; batches are judged in the order posted.
 */
import type { Worker } from "node:worker_threads";
import { spawnWorker } from "../../spawn-worker.js";
import { detachOnce } from "./detach.js";
import type { DetectJob, DetectResult, DetectWorkerData } from "./detect-worker.js";

interface Waiting {
  resolve: (r: DetectResult) => void;
  reject: (e: Error) => void;
}

export class DetectorThread {
  private readonly worker: Worker;
  private readonly waiting: Waiting[] = [];
  private failure: Error | null = null;

  constructor(type: string, params: unknown) {
    detachOnce();
    const data: DetectWorkerData = { type, params };
    this.worker = spawnWorker(import.meta.url, "detect-worker", { workerData: data });
    this.worker.on("message", (m: DetectResult | { error: string }) => {
      const w = this.waiting.shift();
      if (w === undefined) return;
      if ("error" in m) w.reject(new Error(`detector thread: ${m.error}`));
      else w.resolve(m);
    });
    this.worker.on("error", (e) => this.fail(e));
    this.worker.on("exit", (code) => this.fail(new Error(`detector thread exited (${code})`)));
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const w of this.waiting.splice(0)) w.reject(this.failure);
  }

  /** Judge `t[0..n)`, `v[0..n)`; the arrays are transferred (unusable here afterwards). */
  judge(t: Float64Array, v: Float64Array, n: number): Promise<DetectResult> {
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise<DetectResult>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      const job: DetectJob = { t, v, n };
      this.worker.postMessage(job, [t.buffer as ArrayBuffer, v.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners("exit");
    this.failure ??= new Error("detector thread closed");
    await this.worker.terminate();
  }
}
