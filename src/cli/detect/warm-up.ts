/**
 * JIT warm-up for the detector thread of `vigil detect`: a throwaway state run through a short series
 * that takes every branch lets V8 compile the step function once, instead of again at each branch it
 * meets for the first time deep into a file; the real data's state is separate and untouched.
 */
import type { AnyDetector } from "../../../detectors/registry.js";
import { judgeColumns } from "./judge-columns.js";

const HOUR = 3_600_000;

/**
 * Hourly points, a daily pattern with noise, and one of each kind of incident, 200 points apart
 * (more than the ensemble's quiet time after an alert): a spike, a level shift that lasts (the
 * re-baseline), a drift, a burst of volatility, a flattened day (the seasonal view), a run of empty
 * buckets, a gap in the timestamps, a drop.
 */
function synthetic(): { t: Float64Array; v: Float64Array } {
  const n = 2000;
  const t = new Float64Array(n);
  const v = new Float64Array(n);
  let seed = 7;
  let clock = Date.UTC(2024, 0, 1);
  let level = 100;
  for (let i = 0; i < n; i++) {
    seed = (seed * 48_271) % 2_147_483_647;
    const noise = seed / 2_147_483_647 - 0.5;
    if (i === 600) level += 200;
    let x = level + 30 * Math.sin((2 * Math.PI * i) / 24) + 4 * noise;
    if (i === 400) x += 300;
    if (i >= 850 && i < 900) x += 3 * (i - 850);
    if (i >= 1100 && i < 1112) x += i % 2 === 0 ? 60 : -60;
    if (i >= 1300 && i < 1324) x = level;
    if (i >= 1500 && i < 1512) x = Number.NaN;
    if (i === 1700) clock += 48 * HOUR;
    if (i === 1900) x -= 300;
    t[i] = clock;
    v[i] = x;
    clock += HOUR;
  }
  return { t, v };
}

/** Judge the synthetic series with a state of its own (dropped after); returns its flags (for tests). */
export function warmUp(detector: Pick<AnyDetector, "init" | "step" | "columns">, params: unknown): Uint8Array {
  const { t, v } = synthetic();
  const n = t.length;
  const state = detector.init(params);
  const flag = new Uint8Array(n);
  judgeColumns(detector, state, params, t, v, n, new Float64Array(n), flag);
  return flag;
}
