/**
 * node-cron behind a small Scheduler seam. A job whose previous run is still going when it is due
 * again is skipped and logged, never overlapped; stop() waits for the runs in flight. Tests use
 * ManualScheduler, which fires jobs on demand through the same guard.
 */
import { createTask, type ScheduledTask } from "node-cron";
import type { Logger } from "./log.js";

export interface Job {
  /** Unique name, e.g. "*\/5 * * * * @ Europe/Berlin". */
  name: string;
  cron: string;
  timezone: string;
  run: () => Promise<void>;
}

export interface Scheduler {
  schedule(job: Job): void;
  /** Remove every job (runs in flight finish). */
  clear(): void;
  /** Stop everything and wait for the runs in flight. */
  stop(): Promise<void>;
  jobs(): string[];
}

/** The overlap guard shared by the real and the manual scheduler. */
export class JobGuard {
  private readonly running = new Map<string, Promise<void>>();

  constructor(
    private readonly log: Logger,
    private readonly onSkip: (job: string) => void = () => {},
  ) {}

  /** Run the job unless it is already running; returns false when skipped. */
  fire(job: Job): boolean {
    if (this.running.has(job.name)) {
      this.log.warn({ job: job.name }, "previous run still going; this run is skipped");
      this.onSkip(job.name);
      return false;
    }
    const p = job
      .run()
      .catch((err: unknown) => {
        this.log.error({ job: job.name, err: err instanceof Error ? err.message : String(err) }, "scheduled run failed");
      })
      .finally(() => this.running.delete(job.name));
    this.running.set(job.name, p);
    return true;
  }

  /** The run in flight for a job, if any (tests await it). */
  inflight(name: string): Promise<void> | undefined {
    return this.running.get(name);
  }

  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running.values()]);
  }
}

export class CronScheduler implements Scheduler {
  private readonly tasks = new Map<string, ScheduledTask>();
  readonly guard: JobGuard;

  constructor(log: Logger, onSkip?: (job: string) => void) {
    this.guard = new JobGuard(log, onSkip);
  }

  schedule(job: Job): void {
    if (this.tasks.has(job.name)) throw new Error(`job ${job.name} scheduled twice`);
    const task = createTask(job.cron, () => void this.guard.fire(job), { timezone: job.timezone, name: job.name });
    task.start();
    this.tasks.set(job.name, task);
  }

  clear(): void {
    for (const t of this.tasks.values()) void t.destroy();
    this.tasks.clear();
  }

  async stop(): Promise<void> {
    this.clear();
    await this.guard.idle();
  }

  jobs(): string[] {
    return [...this.tasks.keys()];
  }
}

export class ManualScheduler implements Scheduler {
  private readonly registered = new Map<string, Job>();
  readonly guard: JobGuard;

  constructor(log: Logger, onSkip?: (job: string) => void) {
    this.guard = new JobGuard(log, onSkip);
  }

  schedule(job: Job): void {
    this.registered.set(job.name, job);
  }

  clear(): void {
    this.registered.clear();
  }

  async stop(): Promise<void> {
    this.clear();
    await this.guard.idle();
  }

  jobs(): string[] {
    return [...this.registered.keys()];
  }

  /** Fire one job now (or every job); resolves when the run(s) finish. Returns false if skipped. */
  async fire(name?: string): Promise<boolean> {
    const jobs = name ? [this.registered.get(name)].filter((j): j is Job => !!j) : [...this.registered.values()];
    let all = true;
    for (const j of jobs) all = this.guard.fire(j) && all;
    await this.guard.idle();
    return all;
  }
}
