/**
 * The detector contract. Detectors are pure: no I/O, no clock, no logging.
 * A detector sees one series, one bucket at a time (streaming), and carries its own
 * state between calls; the batch form is the streaming form folded over an array.
 */
import type { z } from "zod";
import type { Point } from "../src/model/point.js";

/** What a detector says about one point. */
export interface Verdict {
  /** The value the detector expected (null while warming up or when it has no opinion). */
  expected: number | null;
  /** The band of normal values; null where the detector has no band on that side. */
  lower: number | null;
  upper: number | null;
  /** Anomaly score in [0, 1]; 0 = normal. */
  score: number;
  /** Whether this point is anomalous by this detector's own rule. */
  anomaly: boolean;
  /**
   * Optional, for detectors that report an incident once (the ensemble): this point is not a new
   * anomaly, but the incident reported earlier goes on (the value is still beyond the band from
   * before it). Alert lifecycles count it as anomalous (an open alert stays firing, `for` counts
   * it); `vigil detect` flags only the point that reported the incident.
   */
  ongoing?: boolean;
  /** Signed deviation in sigmas ((v - expected) / sigma), null when undefined. */
  sigmas: number | null;
  /** "missing" when the verdict is about absent data rather than a value (backtest and tune tell them apart). */
  kind?: "missing";
  /**
   * True when the anomaly is the value against the usual pattern of its time of day or week (the
   * ensemble's seasonal view): a public holiday is not its weekday's usual, and the engine does not
   * alert on it there.
   */
  seasonal?: boolean;
  /** Short human reason, e.g. "3.4σ above the EWMA" or "4 of 5 points beyond 1σ". Empty when normal. */
  reason: string;
}

/**
 * A registered detector type. `P` is its parsed (defaulted) parameter object, `S` its streaming state.
 * State must be O(window), never O(history), and must be a plain value that `structuredClone` can copy.
 */
export interface DetectorDefinition<P, S> {
  /** The config `type`. */
  type: string;
  /**
   * Zod object schema of its parameters (without `type`), every field with a default or optional,
   * each documented with `.describe()` so the generated JSON Schema explains it. Parsed strictly.
   */
  params: z.ZodObject<z.ZodRawShape, z.core.$strip> & z.ZodType<P>;
  /** Family for alert fingerprints (metric + series + family); defaults to `type`. */
  family?: string;
  /**
   * Optional: defaults that depend on the bucket size, for the parameters the config leaves out,
   * applied wherever the bucket size is known (the engine always knows it). Parameters counted in
   * points mean very different spans of time at 5-minute and at daily buckets.
   */
  timeDefaults?(granularityMs: number): Record<string, number>;
  /** Fresh streaming state. */
  init(params: P): S;
  /**
   * Judge one point and advance the state. Must accept v = null / NaN (missing). Must not keep a
   * reference to `point` (callers reuse one object for every point).
   */
  step(state: S, point: Point, params: P): Verdict;
  /**
   * Optional: `step` for a caller that only acts on notable verdicts (anomalous or ongoing): the
   * state advances exactly as `step` would, and the verdict is `step`'s when it is notable, else
   * `NO_VERDICT` (no object built: a daemon judges 10,000 series a tick, nearly all of them normal).
   */
  stepNotable?(state: S, point: Point, params: P): Verdict;
  /**
   * Optional: advance the state exactly as `step` would for (t, v; NaN = missing), without building
   * a verdict. A history load feeds most of its points this way.
   */
  learn?(state: S, t: number, v: number, params: P): void;
  /**
   * Optional: judge `n` points given as columns (`v` NaN = missing), writing each one's score and
   * flag exactly as `step` would, without a verdict object per point (`vigil detect`).
   */
  columns?(state: S, params: P, t: Float64Array, v: Float64Array, n: number, score: Float64Array, flag: Uint8Array): void;
}

/** A verdict with nothing to say (warm-up, missing data). */
export const NO_VERDICT: Verdict = Object.freeze({
  expected: null,
  lower: null,
  upper: null,
  score: 0,
  anomaly: false,
  sigmas: null,
  reason: "",
}) as Verdict;

/** Batch form: fold `step` over the points from a fresh state. Identical to streaming by construction. */
export function runBatch<P, S>(def: DetectorDefinition<P, S>, params: P, points: readonly Point[]): Verdict[] {
  const state = def.init(params);
  const out: Verdict[] = new Array(points.length);
  for (let i = 0; i < points.length; i++) out[i] = def.step(state, points[i]!, params);
  return out;
}

/**
 * `true` when a schema's output and a step code's parameter type are the same type, `never`
 * otherwise: `const check: SameParams<z.infer<typeof params>, P> = true` fails to compile when a
 * parameter is added to one and not the other (step code kept apart from its schema, so that the
 * detector thread of `vigil detect` loads no schema library).
 */
export type SameParams<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
