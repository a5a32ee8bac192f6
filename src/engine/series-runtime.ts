/**
 * Per-series memory between ticks: the history window (for charts and re-warming detectors after a
 * config change) and each detector's streaming state. Cost per tick is O(new points), never
 * O(history): detectors carry state, and the window is a ring that only drops its oldest points.
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

/** A fixed-capacity ring of points on the metric's grid. */
export class HistoryRing {
  private readonly ts: Float64Array;
  private readonly vs: Float64Array;
  private head = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    this.ts = new Float64Array(Math.max(1, capacity));
    this.vs = new Float64Array(Math.max(1, capacity));
  }

  push(p: Point): void {
    const i = (this.head + this.size) % this.ts.length;
    this.ts[i] = p.t;
    this.vs[i] = p.v === null ? Number.NaN : p.v;
    if (this.size < this.ts.length) this.size++;
    else this.head = (this.head + 1) % this.ts.length;
  }

  get length(): number {
    return this.size;
  }

  /** Points oldest first; NaN is reported as null (missing). */
  toArray(last = this.size): Point[] {
    const n = Math.min(last, this.size);
    const out: Point[] = new Array(n);
    for (let k = 0; k < n; k++) {
      const i = (this.head + this.size - n + k) % this.ts.length;
      const v = this.vs[i]!;
      out[k] = { t: this.ts[i]!, v: Number.isNaN(v) ? null : v };
    }
    return out;
  }
}

export class SeriesRuntime {
  readonly history: HistoryRing;
  private states: unknown[];
  /** Last verdict per detector, for messages and charts. */
  lastVerdicts: Verdict[] = [];

  constructor(
    readonly key: string,
    readonly labels: Record<string, string>,
    private readonly detectors: readonly DetectorInstance[],
    capacity: number,
  ) {
    this.history = new HistoryRing(capacity);
    this.states = detectors.map((d) => d.def.init(d.params));
  }

  /** Feed one point to every detector; returns their verdicts (same order as the detectors). */
  step(p: Point): Verdict[] {
    this.history.push(p);
    const out: Verdict[] = new Array(this.detectors.length);
    for (let i = 0; i < this.detectors.length; i++) {
      const d = this.detectors[i]!;
      out[i] = d.def.step(this.states[i], p, d.params);
    }
    this.lastVerdicts = out;
    return out;
  }

  /** Rebuild detector state from the remembered history (after the detectors changed). */
  rewarm(detectors: readonly DetectorInstance[]): SeriesRuntime {
    const fresh = new SeriesRuntime(this.key, this.labels, detectors, this.history.capacity);
    for (const p of this.history.toArray()) fresh.step(p);
    return fresh;
  }
}
