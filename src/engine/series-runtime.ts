/**
 * Per-series memory between ticks: each detector's streaming state, nothing else. Cost per tick is
 * O(new points), never O(history): detectors carry state. The raw history is not kept: an alert's
 * chart and "same time last week" read it from the source when the alert goes out.
 */

import type { PresenceState } from "../../detectors/presence.js";
import type { AnyDetector } from "../../detectors/registry.js";
import type { Verdict } from "../../detectors/types.js";
import type { Point } from "../model/point.js";
import { floorAfter } from "./band-floor.js";
import type { FeedState } from "./bucket-feed.js";

export interface DetectorInstance {
  /** Fingerprint family: the detector type, suffixed when a metric uses one type twice. */
  family: string;
  type: string;
  def: AnyDetector;
  params: unknown;
}

export class SeriesRuntime implements FeedState {
  private readonly states: unknown[];
  seenData = false;
  rowsTypical = 0;
  presence: PresenceState | null = null;
  firstLocal = Number.NaN;
  level = Number.NaN;
  spread = 0;
  rowsSame = 0;
  rowsRun = 0;
  weekendEmpty = Number.NaN;
  weekdayEmpty = Number.NaN;
  /** Lowest value its bands may show (band-floor.ts): 0 until a value fed is negative. */
  floor = 0;
  /** When the series last came back with rows (clock ms): a series idle past its lookback is dropped. */
  lastSeen = 0;
  /** Alert fingerprints per detector, made when the series first alerts or its metric has open alerts (then looked up per point). */
  fingerprints: string[] | null = null;

  constructor(
    readonly key: string,
    readonly labels: Record<string, string>,
    private readonly detectors: readonly DetectorInstance[],
  ) {
    this.states = detectors.map((d) => d.def.init(d.params));
  }

  /**
   * Feed one point (`v` NaN = missing) to every detector without asking for verdicts: what a
   * history load does with the buckets before the ones it judges. The states end up exactly as
   * `step` leaves them; detectors with a `learn` form skip building the verdict.
   */
  learn(t: number, v: number): void {
    this.floor = floorAfter(this.floor, v);
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

  /**
   * Feed one point to every detector; returns their verdicts (same order as the detectors), in
   * `out` when given (a caller that keeps nothing reuses one array for every point).
   * `notableOnly`: the caller acts only on notable verdicts (anomalous or ongoing), so a detector
   * with a `stepNotable` form says `NO_VERDICT` for the others without building them.
   */
  step(p: Point, out: Verdict[] = new Array(this.detectors.length), notableOnly = false): Verdict[] {
    this.floor = floorAfter(this.floor, p.v);
    for (let i = 0; i < this.detectors.length; i++) {
      const { def, params } = this.detectors[i]!;
      out[i] = notableOnly && def.stepNotable ? def.stepNotable(this.states[i], p, params) : def.step(this.states[i], p, params);
    }
    // Not kept: a verdict that outlived the tick would be promoted to the old generation for
    // every series, and charts replay the detectors instead.
    return out;
  }
}
