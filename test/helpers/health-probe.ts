/** Asks a daemon's /healthz over and over while a fault runs, and keeps its slowest answer. */
export interface HealthReport {
  answers: number;
  slowestMs: number;
  failures: string[];
}

export class HealthProbe {
  private running = true;
  private readonly report: HealthReport = { answers: 0, slowestMs: 0, failures: [] };
  private readonly loop: Promise<void>;

  constructor(port: number, everyMs = 100) {
    this.loop = (async () => {
      while (this.running) {
        const t0 = performance.now();
        try {
          const r = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(30_000) });
          await r.arrayBuffer();
          if (r.status !== 200) this.report.failures.push(`status ${r.status}`);
          else this.report.answers++;
        } catch (err) {
          // a process killed on purpose stops answering: the caller stops the probe first
          if (this.running) this.report.failures.push(String(err));
        }
        this.report.slowestMs = Math.max(this.report.slowestMs, performance.now() - t0);
        await new Promise((r) => setTimeout(r, everyMs));
      }
    })();
  }

  async stop(): Promise<HealthReport> {
    this.running = false;
    await this.loop;
    return this.report;
  }
}
