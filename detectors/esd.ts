/**
 * Batch-only backtest helpers: the generalized ESD test (Rosner 1983; NIST/SEMATECH e-Handbook
 * §1.3.5.17) and Seasonal Hybrid ESD (Hochenbaum, Vallis, Kejariwal 2017, Twitter's
 * AnomalyDetection). Not streaming detectors: they look at the whole series at once, which is what
 * a backtest of history can afford and a live tick cannot.
 */
import tQuantile from "@stdlib/stats-base-dists-t-quantile";
import { MAD_TO_SIGMA } from "./stats.js";

export interface EsdStep {
  /** Index (into the input) of the value removed at this step. */
  index: number;
  /** Test statistic R_i = max |x − centre| / scale over the remaining values. */
  r: number;
  /** Critical value λ_i at the chosen alpha. */
  lambda: number;
}

export interface EsdResult {
  /** Indices of the outliers (the first `count` removed values). */
  outliers: number[];
  steps: EsdStep[];
}

/** Critical value λ_i of the generalized ESD test for n values at step i (1-based), two-sided. */
export function esdCriticalValue(n: number, i: number, alpha: number): number {
  const p = 1 - alpha / (2 * (n - i + 1));
  const df = n - i - 1;
  const t = tQuantile(p, df);
  return ((n - i) * t) / Math.sqrt((df + t * t) * (n - i + 1));
}

/**
 * Generalized ESD: up to `maxOutliers` outliers at significance `alpha`. `hybrid` uses median and
 * MAD instead of mean and standard deviation (the "hybrid" in S-H-ESD), robust when many values
 * are anomalous.
 */
export function generalizedEsd(values: readonly number[], opts: { maxOutliers: number; alpha?: number; hybrid?: boolean }): EsdResult {
  const alpha = opts.alpha ?? 0.05;
  const idx: number[] = [];
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i]!)) idx.push(i);
  const n = idx.length;
  const steps: EsdStep[] = [];
  let count = 0;
  const live = [...idx];
  for (let i = 1; i <= Math.min(opts.maxOutliers, n - 2); i++) {
    const xs = live.map((j) => values[j]!);
    let centre: number;
    let scale: number;
    if (opts.hybrid) {
      const sorted = [...xs].sort((a, b) => a - b);
      centre = medianSorted(sorted);
      scale = medianSorted(xs.map((x) => Math.abs(x - centre)).sort((a, b) => a - b)) * MAD_TO_SIGMA;
    } else {
      centre = xs.reduce((a, b) => a + b, 0) / xs.length;
      scale = Math.sqrt(xs.reduce((a, b) => a + (b - centre) ** 2, 0) / (xs.length - 1));
    }
    if (!(scale > 0)) break;
    let worst = 0;
    for (let k = 1; k < xs.length; k++) if (Math.abs(xs[k]! - centre) > Math.abs(xs[worst]! - centre)) worst = k;
    const r = Math.abs(xs[worst]! - centre) / scale;
    const lambda = esdCriticalValue(n, i, alpha);
    steps.push({ index: live[worst]!, r, lambda });
    if (r > lambda) count = i;
    live.splice(worst, 1);
  }
  return { outliers: steps.slice(0, count).map((s) => s.index), steps };
}

function medianSorted(a: readonly number[]): number {
  const n = a.length;
  return n & 1 ? a[n >> 1]! : (a[n / 2 - 1]! + a[n / 2]!) / 2;
}

/**
 * Seasonal Hybrid ESD: remove the seasonal component (per-slot median of the series minus its
 * median: a simpler stand-in for STL that is itself robust to the anomalies) and the median, then
 * run the hybrid generalized ESD on the residuals. `maxAnomalies` is a fraction of the series
 * (Twitter's default 0.1) or a count when ≥ 1.
 */
export function seasonalHybridEsd(values: readonly number[], opts: { period: number; maxAnomalies?: number; alpha?: number }): EsdResult {
  const n = values.length;
  const period = Math.max(1, Math.floor(opts.period));
  const finite = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const med = finite.length ? medianSorted(finite) : 0;
  const seasonalPart = new Array<number>(period).fill(0);
  if (period > 1) {
    for (let s = 0; s < period; s++) {
      const slot: number[] = [];
      for (let i = s; i < n; i += period) if (Number.isFinite(values[i]!)) slot.push(values[i]! - med);
      seasonalPart[s] = slot.length ? medianSorted(slot.sort((a, b) => a - b)) : 0;
    }
  }
  const residual = values.map((v, i) => v - seasonalPart[i % period]! - med);
  const max = opts.maxAnomalies ?? 0.1;
  const maxOutliers = max >= 1 ? Math.floor(max) : Math.max(1, Math.floor(max * n));
  return generalizedEsd(residual, { maxOutliers, alpha: opts.alpha ?? 0.05, hybrid: true });
}
