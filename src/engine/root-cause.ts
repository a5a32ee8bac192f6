/**
 * Which dimension values explain an alert, in the manner of ThirdEye's dimension analysis: split the
 * metric by each dimension over its own history, judge every slice as the metric was judged
 * (slice-baseline.ts), and give each slice its signed share of the alert's deviation. Within one
 * dimension the slices partition the metric, so their shares and the rest (other slices, and what
 * no slice explains) add up to 100%. One query per dimension, bounded by a time budget.
 */
import type { MetricConfig } from "../config/types.js";
import type { Queryable } from "../db/database.js";
import { fmtDeviation, fmtNum } from "../model/format.js";
import { fetchDimension } from "../sources/dimension-query.js";
import { NULL_LABEL } from "../sources/series-key.js";
import type { DetectorInstance } from "./series-runtime.js";
import { historyWindow, type SliceBaseline, sliceBaseline } from "./slice-baseline.js";

export interface Driver {
  dimension: string;
  /** The slice: a dimension value, or null for the rows where the dimension is NULL. */
  value: string | null;
  actual: number;
  /** Its baseline; null = a new slice (nothing in the history). */
  expected: number | null;
  /** Relative change vs its baseline (−0.38 = −38%); null for a new slice or a baseline of 0. */
  change: number | null;
  /** Signed share of the total deviation: negative = the slice moved against it. */
  share: number;
}

export interface DimensionCause {
  dimension: string;
  /** The slices that carry most of the deviation, largest share (in size) first. */
  drivers: Driver[];
  /** The share the listed slices leave: the other slices, and what no slice explains. */
  rest: number;
  /** The share the slices read leave (those beyond the cap on slices, and any part of the deviation that is not a sum of slices'). */
  unexplained: number;
  /**
   * How far the deviation departs from being spread over the slices in proportion to their
   * baselines (0 = in proportion, so no value stands out; 1 = all of it where nothing was).
   */
  concentration: number;
}

/** The alert a drill-down explains. */
export interface DrillTarget {
  /** The alert's bucket (bucket time: floating for local days). */
  bucket: number;
  /** The alerting series' split_by labels. */
  filter: Record<string, string>;
  /** The detector that fired; undefined = each slice's baseline is the median of its history. */
  detector: DetectorInstance | undefined;
  /** The alert's value and expected value: the deviation the shares are of. */
  value: number | null;
  expected: number | null;
  /** What is left of the tick's drill-down budget (ms); findDrivers' own default when absent. */
  budgetMs?: number;
}

/** A slice whose share is smaller than this is left to the rest, unless it is the largest (and rounds to 1% or more). */
const MIN_SHARE = 0.1;

export type SliceValue = SliceBaseline & { value: string | null };

/**
 * The slices of one dimension that explain `total` (the alert's deviation; null = the sum of the
 * slices' deviations), at most `topN`; null when nothing moved.
 */
export function attribute(dimension: string, slices: readonly SliceValue[], total: number | null, topN: number): DimensionCause | null {
  const dev = (s: SliceValue) => s.actual - (s.expected ?? 0);
  const sum = slices.reduce((acc, s) => acc + dev(s), 0);
  const basis = total !== null && Number.isFinite(total) && total !== 0 ? total : sum;
  if (basis === 0 || !Number.isFinite(basis)) return null;
  const ranked = [...slices].sort((a, b) => Math.abs(dev(b)) - Math.abs(dev(a)));
  const drivers: Driver[] = [];
  for (const s of ranked) {
    const share = dev(s) / basis;
    if (drivers.length >= topN || Math.abs(share) < (drivers.length > 0 ? MIN_SHARE : 0.005)) break;
    const change = s.expected !== null && s.expected !== 0 ? dev(s) / Math.abs(s.expected) : null;
    drivers.push({ dimension, value: s.value, actual: s.actual, expected: s.expected, change, share });
  }
  const rest = 1 - drivers.reduce((acc, d) => acc + d.share, 0);
  return { dimension, drivers, rest, unexplained: 1 - sum / basis, concentration: concentration(slices, sum) };
}

/** Half the summed gaps between each slice's share of the deviation and its share of the baseline. */
function concentration(slices: readonly SliceValue[], sum: number): number {
  const base = slices.reduce((acc, s) => acc + Math.abs(s.expected ?? 0), 0);
  if (sum === 0 || base === 0) return 1;
  const gaps = slices.reduce((acc, s) => acc + Math.abs((s.actual - (s.expected ?? 0)) / sum - Math.abs(s.expected ?? 0) / base), 0);
  return Math.min(1, gaps / 2);
}

/** A dimension value as shown: NULL as (null), and a text that could be mistaken for it (or for nothing) in quotes. */
export function sliceLabel(value: string | null): string {
  if (value === null) return NULL_LABEL;
  return value === NULL_LABEL || value.trim() === "" ? JSON.stringify(value) : value;
}

/** A signed share in whole percent: "81%", "−12%". */
function fmtShare(share: number): string {
  const pct = Math.round(share * 100);
  return pct < 0 ? `−${-pct}%` : `${pct}%`;
}

export function describeDriver(d: Driver, direction: "drop" | "rise"): string {
  const pct = d.change === null ? null : fmtDeviation(d.change);
  const vs =
    d.expected === null
      ? `new slice (${fmtNum(d.actual)}, no baseline)`
      : pct === null
        ? `${fmtNum(d.actual)} vs ${fmtNum(d.expected)} expected`
        : `${pct} vs expected (${fmtNum(d.actual)} vs ${fmtNum(d.expected)})`;
  return `${d.dimension}=${sliceLabel(d.value)}: ${vs}, explains ${fmtShare(d.share)} of the ${direction}`;
}

/** Below this concentration a dimension's slices moved in proportion to their size: listing them would only repeat the total. */
const PROPORTIONAL = 0.1;

/** Chat messages show this many contributor lines (notifiers/chat-message.ts, delivery/format.ts). */
export const MAX_LINES = 5;

/** The share a dimension's first `k` slices leave, if it rounds to a percent or more. */
function restOf(c: DimensionCause, k: number): number | null {
  const rest = c.rest + c.drivers.slice(k).reduce((acc, d) => acc + d.share, 0);
  return Math.round(rest * 100) !== 0 ? rest : null;
}

/**
 * The lines of a root cause, at most `maxLines`: per dimension its slices and what they leave
 * unexplained, or one line for a dimension whose values all moved alike. A dimension gets fewer
 * slices rather than lose its remainder line, so that its shares always add up to 100%.
 */
export function describeRootCause(causes: readonly DimensionCause[], direction: "drop" | "rise", maxLines = MAX_LINES): string[] {
  const lines: string[] = [];
  for (const c of causes) {
    const left = maxLines - lines.length;
    if (left <= 0) break;
    if (c.concentration < PROPORTIONAL) {
      const unexplained = Math.round(c.unexplained * 100) !== 0 ? `; unexplained: ${fmtShare(c.unexplained)}` : "";
      lines.push(
        `${c.dimension}: no value stands out (the ${direction} is spread over its values in proportion to their size)${unexplained}`,
      );
      continue;
    }
    let k = c.drivers.length;
    while (k > 0 && k + (restOf(c, k) === null ? 0 : 1) > left) k--;
    if (k === 0 && c.drivers.length > 0) continue;
    for (const d of c.drivers.slice(0, k)) lines.push(describeDriver(d, direction));
    const rest = restOf(c, k);
    if (rest !== null) lines.push(`${c.dimension}: other slices / unexplained: ${fmtShare(rest)}`);
  }
  return lines;
}

/** The dimensions that explain the alert, the one whose slices depart most from moving alike first. */
export async function findDrivers(
  db: Queryable,
  m: MetricConfig,
  target: DrillTarget,
  opts: { topN?: number; budgetMs?: number } = {},
): Promise<DimensionCause[]> {
  const source = m.source;
  if (!source || source.dimensions.length === 0) return [];
  const { from, buckets } = historyWindow(m, target.bucket);
  const window = { from, to: from + buckets * m.granularityMs };
  const total = target.value !== null && target.expected !== null ? target.value - target.expected : null;
  const budget = opts.budgetMs ?? target.budgetMs ?? 3000;
  const all: DimensionCause[] = [];
  const work = Promise.all(
    source.dimensions.map(async (dimension) => {
      // PostgreSQL cancels a dimension's query at the budget, so none keeps a pooled connection busy after it.
      const slices = await fetchDimension(db, { metric: m, dimension, window, filter: target.filter, timeoutMs: budget }).catch(() => null);
      if (!slices) return;
      const judged = slices.map((s) => ({ value: s.value, ...sliceBaseline(m, target.detector, s.points, target.bucket) }));
      const cause = attribute(dimension, judged, total, opts.topN ?? 3);
      if (cause) all.push(cause);
    }),
  );
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((r) => {
    timer = setTimeout(() => r("timeout"), budget);
    timer.unref();
  });
  const res = await Promise.race([work.then(() => "done" as const), timeout]);
  clearTimeout(timer);
  if (res === "timeout") work.catch(() => {}); // abandon: the alert goes out with the dimensions done so far
  return [...all].sort((a, b) => b.concentration - a.concentration);
}
