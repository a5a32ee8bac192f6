/**
 * Which dimension values explain an alert, in the manner of ThirdEye's dimension analysis: split the
 * alert's bucket by each dimension, compare every slice with its own baseline (the median of the
 * same slot in the previous periods), and rank slices by the share of the total deviation they
 * carry. One query per dimension, top values only, bounded by a time budget.
 */
import { bucketInstant } from "../sources/bucket-clock.js";
import type { MetricConfig } from "../config/types.js";
import type { Queryable } from "../db/database.js";
import { fmtDeviation, fmtNum } from "../delivery/format.js";
import { fetchDimension } from "../sources/dimension-query.js";

export interface Driver {
  dimension: string;
  value: string;
  actual: number;
  expected: number;
  /** Relative change vs its own baseline (−0.38 = −38%). */
  change: number;
  /** Share of the total deviation this slice explains (0..1). */
  share: number;
}

const WEEK = 7 * 86_400_000;

/** Baseline windows: the same slot 1..4 weeks back for sub-daily buckets, else the 4 previous buckets. */
export function baselineWindows(bucket: number, g: number): Array<{ from: number; to: number }> {
  const step = g <= 86_400_000 ? WEEK : g;
  return [1, 2, 3, 4].map((k) => ({ from: bucket - k * step, to: bucket - k * step + g }));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Rank slices of one dimension from their values per window (window 0 = the alert's bucket). */
export function rankSlices(dimension: string, byValue: Map<string, Array<number | null>>, topN: number): Driver[] {
  const slices: Array<Omit<Driver, "share">> = [];
  for (const [value, ws] of byValue) {
    const actual = ws[0] ?? 0; // a slice absent from the bucket contributed nothing
    const base = ws.slice(1).map((x) => x ?? 0);
    const expected = base.length ? median(base) : 0;
    slices.push({ dimension, value, actual, expected, change: expected !== 0 ? (actual - expected) / Math.abs(expected) : 0 });
  }
  const net = slices.reduce((acc, s) => acc + (s.actual - s.expected), 0);
  if (net === 0) return [];
  // Only slices moving the same way as the whole explain it; shares are of that movement, so they
  // add up to 100% (slices drifting the other way do not inflate them past it).
  const total = slices.reduce((acc, s) => acc + (Math.sign(s.actual - s.expected) === Math.sign(net) ? s.actual - s.expected : 0), 0);
  return slices
    .map((s) => ({ ...s, share: (s.actual - s.expected) / total }))
    .filter((s) => s.share > 0)
    .sort((a, b) => b.share - a.share)
    .slice(0, topN);
}

export function describeDriver(d: Driver, direction: "drop" | "rise"): string {
  const pct = fmtDeviation(d.change);
  const vs = pct === null ? `${fmtNum(d.actual)} vs ${fmtNum(d.expected)} expected` : `${pct} vs expected (${fmtNum(d.actual)} vs ${fmtNum(d.expected)})`;
  return `${d.dimension}=${d.value}: ${vs}, explains ${Math.round(d.share * 100)}% of the ${direction}`;
}

export async function findDrivers(
  db: Queryable,
  m: MetricConfig,
  bucket: number,
  filter: Record<string, string>,
  opts: { topN?: number; budgetMs?: number } = {},
): Promise<Driver[]> {
  const source = m.source;
  if (!source || source.dimensions.length === 0) return [];
  const g = m.granularityMs;
  // bucket times are floating for local days: the query wants instants
  const windows = [{ from: bucket, to: bucket + g }, ...baselineWindows(bucket, g)].map((w) => ({ from: bucketInstant(m, w.from), to: bucketInstant(m, w.to) }));
  const budget = opts.budgetMs ?? 3000;
  const all: Driver[] = [];
  const work = Promise.all(
    source.dimensions.map(async (dimension) => {
      const byValue = await fetchDimension(db, { source, dimension, windows, filter });
      all.push(...rankSlices(dimension, byValue, opts.topN ?? 3));
    }),
  );
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((r) => {
    timer = setTimeout(() => r("timeout"), budget);
    timer.unref();
  });
  const res = await Promise.race([work.then(() => "done" as const), timeout]);
  clearTimeout(timer);
  if (res === "timeout") work.catch(() => {}); // abandon: the alert goes out without drill-down
  return all.sort((a, b) => b.share - a.share).slice(0, opts.topN ?? 3);
}
