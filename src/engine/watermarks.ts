/**
 * Watermark bookkeeping: how far each metric is judged and stored. A watermark that changed an
 * alert is stored with it; a quiet one is stored once per QUIET_EVERY_MS, each metric at its own
 * phase, in batches; the others wait in memory. After a crash the quiet buckets since the stored
 * watermark are judged again, which repeats nothing: they were quiet, and alerts are deduplicated.
 */
import type { MetricConfig } from "../config/types.js";
import type { Logger } from "../log.js";
import { errorText } from "../log.js";
import type { StateStore } from "../store/state-store.js";
import type { MetricRuntime, MetricRuntimes } from "./metric-runtime.js";
import type { MetricReport } from "./reports.js";

/** A quiet metric's watermark is stored once per this period (or every tick, for coarser buckets), since rewriting unchanged rows each tick is costly. */
const QUIET_EVERY_MS = 3_600_000;
/** Quiet watermarks are written in batches of this many metrics, so the database stores one batch while the engine judges the next metrics. */
const QUIET_BATCH = 100;

/** QUIET_EVERY_MS in buckets (at least one). */
export function quietBuckets(granularityMs: number): number {
  return Math.max(1, Math.round(QUIET_EVERY_MS / granularityMs));
}

interface QuietWrite {
  metric: string;
  watermark: number;
}

export class Watermarks {
  /** Watermarks judged but not stored yet (quiet metrics between their writes). */
  private readonly unsaved = new Map<string, number>();

  constructor(
    private readonly store: StateStore,
    private readonly log: Logger,
    private readonly runtimes: MetricRuntimes,
  ) {}

  /** The metric's watermark judged by this process but not stored yet. */
  unsavedOf(metric: string): number | undefined {
    return this.unsaved.get(metric);
  }

  keepOnly(metrics: readonly MetricConfig[]): void {
    const names = new Set(metrics.map((m) => m.name));
    for (const name of [...this.unsaved.keys()]) if (!names.has(name)) this.unsaved.delete(name);
  }

  /** The metric's watermark was stored (with its alerts). */
  stored(metric: string): void {
    this.unsaved.delete(metric);
  }

  /** A tick that changed no alert moved the watermark: into `batch` when it is due, else kept in memory. */
  quiet(m: MetricConfig, rt: MetricRuntime, watermark: number, batch: QuietBatch): void {
    if (this.quietDue(m, rt, watermark)) {
      batch.add(m.name, watermark);
      rt.stored = watermark;
      this.unsaved.delete(m.name);
    } else this.unsaved.set(m.name, watermark);
  }

  /** At its phase, or when the stored one lags by the whole period. */
  private quietDue(m: MetricConfig, rt: MetricRuntime, watermark: number): boolean {
    const g = m.granularityMs;
    const k = quietBuckets(g);
    return watermark - rt.stored >= k * g || Math.floor(watermark / g) % k === rt.quietPhase;
  }

  /** Store the watermarks judged but not stored yet (all, or these metrics'): at shutdown and hand-over. Never throws. */
  async flush(names?: readonly string[]): Promise<void> {
    const only = names ? new Set(names) : null;
    const marks = [...this.unsaved]
      .filter(([metric]) => !only || only.has(metric))
      .map(([metric, watermark]) => ({ metric, series: "", watermark }));
    if (marks.length === 0) return;
    try {
      await this.store.advanceWatermarks(marks);
      for (const m of marks) {
        this.unsaved.delete(m.metric);
        const rt = this.runtimes.get(m.metric);
        if (rt) rt.stored = Math.max(rt.stored, m.watermark);
      }
    } catch (err) {
      // the buckets since the stored watermarks are judged again after a restart: nothing is lost
      this.log.warn({ metrics: marks.length, err: errorText(err) }, "storing watermarks failed");
    }
  }

  /** A batch for one pass of a tick; `reports` are the tick's, marked failed when their watermark cannot be stored. */
  batch(reports: ReadonlyMap<string, MetricReport>): QuietBatch {
    return new QuietBatch(this.store, this.log, this.runtimes, reports);
  }
}

/**
 * The quiet watermarks of one pass: each full batch is written at once, and the engine awaits them all
 * before its next pass or tick (a failed write drops its metrics' runtimes: the next tick reloads them
 * from the stored watermark, and the failure is logged; the tick that judged them has reported by then).
 */
export class QuietBatch {
  private pending: QuietWrite[] = [];
  private readonly writes: Promise<void>[] = [];

  constructor(
    private readonly store: StateStore,
    private readonly log: Logger,
    private readonly runtimes: MetricRuntimes,
    private readonly reports: ReadonlyMap<string, MetricReport>,
  ) {}

  add(metric: string, watermark: number): void {
    this.pending.push({ metric, watermark });
  }

  writeIfFull(): void {
    if (this.pending.length >= QUIET_BATCH) this.writeNow();
  }

  async finish(): Promise<void> {
    if (this.pending.length > 0) this.writeNow();
    await Promise.all(this.writes);
  }

  private writeNow(): void {
    const quiet = this.pending;
    this.pending = [];
    this.writes.push(this.write(quiet));
  }

  /** One statement for the batch. Never throws. */
  private async write(quiet: readonly QuietWrite[]): Promise<void> {
    try {
      await this.store.advanceWatermarks(quiet.map((q) => ({ metric: q.metric, series: "", watermark: q.watermark })));
    } catch (err) {
      // Nothing was stored: forget the in-memory progress so the next tick redoes it from the database.
      const error = errorText(err);
      this.log.error({ metrics: quiet.length, err: error }, "storing watermarks failed");
      for (const q of quiet) {
        this.runtimes.drop(q.metric);
        const r = this.reports.get(q.metric);
        if (r?.ok) {
          r.ok = false;
          r.error = error;
        }
      }
    }
  }
}
