/**
 * The main thread's handle on the detector thread (detect-worker.ts): post a batch, get a promise of
 * its verdicts; batches are judged in the order posted. Run from source (tsx, vitest), the worker
 * is the .ts file and gets tsx's loader; built, it is the .js next to this one.
 */
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
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
    if (import.meta.url.endsWith(".ts")) {
      // from source: a worker does not inherit the tsx loader; it registers it, then loads the .ts
      const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx/esm/api")).href.replace(/\.cjs$/, ".mjs");
      const worker = new URL("./detect-worker.ts", import.meta.url).href;
      const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(worker)}); });`;
      this.worker = new Worker(boot, { eval: true, workerData: data });
    } else this.worker = new Worker(new URL("./detect-worker.js", import.meta.url), { workerData: data });
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
