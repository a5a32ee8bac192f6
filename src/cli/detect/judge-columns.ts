/**
 * Judge a run of points given as columns: what `vigil detect` does per batch, on the main thread or
 * on the detector thread (the same function, so both give the same verdicts).
 */
import type { AnyDetector } from "../../../detectors/registry.js";
import type { Point } from "../../model/point.js";

/** One mutable point: detectors must not keep references to it (their state is cloneable data). */
const POINT: Point = { t: 0, v: null };

/**
 * Fold `detector` over `t[0..n)`, `v[0..n)` (v NaN = missing), writing each point's score and flag.
 * Detectors with a column form (the default ensemble) use it: same verdicts, no object per point;
 * the others go point by point.
 */
export function judgeColumns(
  detector: Pick<AnyDetector, "step" | "columns">,
  state: unknown,
  params: unknown,
  t: Float64Array,
  v: Float64Array,
  n: number,
  score: Float64Array,
  flag: Uint8Array,
): void {
  if (detector.columns) {
    detector.columns(state, params, t, v, n, score, flag);
    return;
  }
  for (let i = 0; i < n; i++) {
    POINT.t = t[i]!;
    const x = v[i]!;
    POINT.v = Number.isNaN(x) ? null : x;
    const verdict = detector.step(state, POINT, params);
    score[i] = verdict.score;
    flag[i] = verdict.anomaly ? 1 : 0;
  }
}
