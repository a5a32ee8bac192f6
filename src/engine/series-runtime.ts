/**
 * Per-series memory between ticks: the recent history (for charts and "same time last week") and
 * each detector's streaming state. Cost per tick is O(new points), never O(history): detectors
 * carry state, and the history is a ring that only drops its oldest points.
 */
import type { AnyDetector } from "../../detectors/registry.js";
import type { Point, Verdict } from "../../detectors/types.js";

export interface DetectorInstance {
  /** Fingerprint family: the detector type, suffixed when a metric uses one type twice. */
  family: string;
  type: string;
  def: AnyDetector;
  params: unknown;
}

/**
 * A fixed-capacity ring of values on the metric's bucket grid. Timestamps are implicit (the last
 * bucket's start and the step), and values are Float32: 4 bytes a point instead of 16, which is
 * what makes 10,000 series of 5-minute history fit in little memory. Float32 keeps about seven
 * significant digits, plenty for a chart or a "last week" figure; detectors never read it back
 * except to redraw a chart.
 */
export class HistoryRing {
  private readonly vs: Float32Array;
  private head = 0;
  private size = 0;
  private lastT = Number.NaN;

  /** `stepMs` = the bucket size; 0 = learn it from the first two points. */
  constructor(
    readonly capacity: number,
    private stepMs = 0,
  ) {
    this.vs = new Float32Array(Math.max(1, capacity));
  }

  push(p: Point): void {
    this.pushAt(p.t, p.v === null ? Number.NaN : p.v);
  }

  /** `push` of a bare time and value (NaN = missing). */
  pushAt(t: number, v: number): void {
    if (this.size > 0) {
      const gap = t - this.lastT;
      if (this.stepMs <= 0 && gap > 0) this.stepMs = gap;
      const buckets = gap / this.stepMs;
      if (buckets !== 1) {
        // Off the grid or backwards: start over rather than mislabel points. A short hole is filled as missing.
        if (buckets > 1 && Number.isInteger(buckets) && buckets <= this.vs.length) {
          for (let k = 1; k < buckets; k++) this.put(Number.NaN);
        } else {
          this.size = 0;
          this.head = 0;
        }
      }
    }
    this.put(v);
    this.lastT = t;
  }


  private put(v: number): void {
    const n = this.vs.length;
    let i = this.head + this.size;
    if (i >= n) i -= n;
    this.vs[i] = v;
    if (this.size < n) this.size++;
    else this.head = this.head + 1 === n ? 0 : this.head + 1;
  }

  get length(): number {
    return this.size;
  }

  /** The stored value of the bucket starting at t: a number, null (missing), or undefined (not in the window). */
  valueAt(t: number): number | null | undefined {
    if (this.size === 0) return undefined;
    const back = this.size === 1 ? (t === this.lastT ? 0 : -1) : (this.lastT - t) / this.stepMs;
    if (!Number.isInteger(back) || back < 0 || back >= this.size) return undefined;
    let i = this.head + this.size - 1 - back;
    if (i >= this.vs.length) i -= this.vs.length;
    const v = this.vs[i]!;
    return Number.isNaN(v) ? null : v;
  }

  /** Points oldest first; NaN is reported as null (missing). */
  toArray(last = this.size): Point[] {
    const n = Math.min(last, this.size);
    const out: Point[] = new Array(n);
    const cap = this.vs.length;
    for (let k = 0; k < n; k++) {
      let i = this.head + this.size - n + k;
      if (i >= cap) i -= cap;
      const v = this.vs[i]!;
      out[k] = { t: this.lastT - (n - 1 - k) * this.stepMs, v: Number.isNaN(v) ? null : v };
    }
    return out;
  }
}

export class SeriesRuntime {
  readonly history: HistoryRing;
  private states: unknown[];
  /** Alert fingerprints per detector, computed once (the engine's hot loop looks them up per point). */
  fingerprints: string[] | null = null;

  constructor(
    readonly key: string,
    readonly labels: Record<string, string>,
    private readonly detectors: readonly DetectorInstance[],
    capacity: number,
    granularityMs = 0,
  ) {
    this.history = new HistoryRing(capacity, granularityMs);
    this.states = detectors.map((d) => d.def.init(d.params));
  }

  /**
   * Feed one point (`v` NaN = missing) to every detector without asking for verdicts: what a
   * history load does with the buckets before the ones it judges. The states end up exactly as
   * `step` leaves them; detectors with a `learn` form skip building the verdict.
   */
  learn(t: number, v: number): void {
    this.history.pushAt(t, v);
    let p: Point | null = null;
    for (let i = 0; i < this.detectors.length; i++) {
      const d = this.detectors[i]!;
      if (d.def.learn) d.def.learn(this.states[i], t, v, d.params);
      else {
        p ??= { t, v: Number.isNaN(v) ? null : v };
        d.def.step(this.states[i], p, d.params);
      }
    }
  }

  /** Feed one point to every detector; returns their verdicts (same order as the detectors). */
  step(p: Point): Verdict[] {
    this.history.push(p);
    const out: Verdict[] = new Array(this.detectors.length);
    for (let i = 0; i < this.detectors.length; i++) {
      const d = this.detectors[i]!;
      out[i] = d.def.step(this.states[i], p, d.params);
    }
    // Not kept: a verdict that outlived the tick would be promoted to the old generation for
    // every series, and charts replay the detectors instead.
    return out;
  }

  /** Rebuild detector state from the remembered history (after the detectors changed). */
  rewarm(detectors: readonly DetectorInstance[], granularityMs = 0): SeriesRuntime {
    const fresh = new SeriesRuntime(this.key, this.labels, detectors, this.history.capacity, granularityMs);
    for (const p of this.history.toArray()) fresh.step(p);
    return fresh;
  }
}
