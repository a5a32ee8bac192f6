/**
 * One metric's buckets of a tick on the bucket grid, whichever way they were read: a metric of its
 * own (points) or one aggregate of a grouped scan (a slice of a GroupGrid, no copy). The engine's
 * judging loop reads values by index and never builds a point per value.
 */
import type { DataIssue, FetchResult } from "../sources/types.js";
import type { GroupGrid } from "./fetcher.js";

/** The grid of a GroupGrid with one metric's values on it: bucket b starts at from + b * the metric's granularity. */
export interface MetricGrid extends Pick<GroupGrid, "from" | "buckets" | "series"> {
  /** Series s's bucket b at s * buckets + b; NaN = missing or unusable. */
  values: Float64Array;
  /** Rows behind each value, same layout (0 = no rows); null when the source does not report them. */
  rows: Float64Array | null;
  issues: readonly DataIssue[];
}

/**
 * Points onto the grid [from, from + buckets * g): a point goes to the bucket its time falls in
 * (a raw query may label buckets off the grid; `from` is on it), points outside are dropped, and of two points
 * in one bucket the later one wins.
 */
export function pointsToGrid(res: FetchResult, from: number, g: number, buckets: number): MetricGrid {
  const values = new Float64Array(res.series.length * buckets).fill(Number.NaN);
  const counted = res.series.some((s) => s.points.some((p) => p.n !== undefined));
  const rows = counted ? new Float64Array(values.length) : null;
  res.series.forEach((s, i) => {
    const base = i * buckets;
    for (const p of s.points) {
      const b = Math.floor((p.t - from) / g);
      if (b < 0 || b >= buckets) continue;
      values[base + b] = p.v === null ? Number.NaN : p.v;
      if (rows !== null) rows[base + b] = p.n ?? Number.NaN;
    }
  });
  return { from, buckets, series: res.series, values, rows, issues: res.issues };
}

/** Metric `index` of a grouped read; `rowsIndex`: the aggregate holding the row counts, when the scan read them. */
export function gridSlice(grid: GroupGrid, index: number, rowsIndex?: number): MetricGrid | null {
  if (grid.members) {
    const member = grid.members[index];
    return member
      ? { from: grid.from, buckets: grid.buckets, series: member.series, values: member.values, rows: member.rows, issues: member.issues }
      : null;
  }
  const values = grid.values[index];
  if (!values) return null;
  const rows = rowsIndex === undefined ? null : (grid.values[rowsIndex] ?? null);
  return { from: grid.from, buckets: grid.buckets, series: grid.series, values, rows, issues: grid.issues[index] ?? [] };
}
