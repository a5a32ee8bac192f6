/**
 * Long-format tables (`metric, host, t, v`), configured as operators do, one metric per name with
 * `where: "metric = 'dau'"`: metrics whose filters differ only in the text compared on one column
 * share one scan, grouped by that column as well, and each takes its own series back out of the grid.
 */
import type { MetricConfig } from "../config/types.js";
import { quoteIdent } from "../db/database.js";
import { formatSeriesKey } from "./series-key.js";
import type { BucketGrid, DataIssue, GridSeries, MemberView } from "./types.js";

/** A filter `column = 'text'`: the column as PostgreSQL names it, and the literal as written and as text. */
export interface Discriminator {
  column: string;
  literal: string;
  value: string;
}

const EQUALITY = /^\s*(?:"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_]*))\s*=\s*('(?:[^']|'')*')\s*$/;
const parsed = new Map<string, Discriminator | null>();

/** The filter's column and text when it is one equality with a string literal; null otherwise. */
export function discriminatorOf(where: string | undefined): Discriminator | null {
  if (where === undefined) return null;
  let d = parsed.get(where);
  if (d !== undefined) return d;
  const m = EQUALITY.exec(where);
  // an unquoted name is folded to lower case, as PostgreSQL reads it
  const column = m ? (m[1]?.replace(/""/g, '"') ?? m[2]!.toLowerCase()) : null;
  d = m && column ? { column, literal: m[3]!, value: m[3]!.slice(1, -1).replace(/''/g, "'") } : null;
  if (parsed.size > 10_000) parsed.clear();
  parsed.set(where, d);
  return d;
}

/** The discriminator of a structured metric that can share a long-format scan: not one of its own split columns. */
export function sharedDiscriminator(m: MetricConfig): Discriminator | null {
  const d = m.source ? discriminatorOf(m.source.where) : null;
  return d && !m.source!.split_by.includes(d.column) ? d : null;
}

/** How a long-format group is read: its filter, split, distinct value expressions, and which one each metric uses. */
export interface LongScan {
  column: string;
  where: string;
  splitBy: string[];
  expressions: string[];
  expressionOf: number[];
  /** The aggregate holding the row counts, when a metric needs them. */
  rowsIndex: number | undefined;
}

/** Planned once per list of config objects: a tick plans, builds and splits each group's scan with it. */
const planned = new WeakMap<MetricConfig, { metrics: readonly MetricConfig[]; scan: LongScan | null }>();

/** Null unless every metric filters on the same column (and so the group is a long-format one). */
export function longScanOf(metrics: readonly MetricConfig[]): LongScan | null {
  const first = metrics[0];
  if (!first) return null;
  const hit = planned.get(first);
  if (hit && hit.metrics.length === metrics.length && hit.metrics.every((m, i) => m === metrics[i])) return hit.scan;
  const scan = planLongScan(metrics);
  planned.set(first, { metrics: [...metrics], scan });
  return scan;
}

function planLongScan(metrics: readonly MetricConfig[]): LongScan | null {
  const ds = metrics.map(sharedDiscriminator);
  const column = ds[0]?.column;
  if (column === undefined || ds.some((d) => d?.column !== column)) return null;
  const literals = [...new Set(ds.map((d) => d!.literal))];
  const expressions: string[] = [];
  const expressionOf = metrics.map((m) => {
    const at = expressions.indexOf(m.source!.value);
    return at >= 0 ? at : expressions.push(m.source!.value) - 1;
  });
  return {
    column,
    where: `${quoteIdent(column)} IN (${literals.join(", ")})`,
    splitBy: [column, ...metrics[0]!.source!.split_by],
    expressions,
    expressionOf,
    rowsIndex: metrics.some((m) => m.rowCounts) ? expressions.length : undefined,
  };
}

/** Each metric's series and value views (no copy) on a long-format group's grid, in the order of `metrics`. */
export function memberViews(metrics: readonly MetricConfig[], scan: LongScan, grid: BucketGrid): MemberView[] {
  const { buckets } = grid;
  const ranges = seriesRanges(grid.series, scan.column);
  const splitBy = scan.splitBy.slice(1);
  return metrics.map((m, i) => {
    const value = sharedDiscriminator(m)!.value;
    const [start, end] = ranges.get(value) ?? [0, 0];
    const series = memberSeriesOf(m, grid.series, start, end, splitBy);
    const expression = scan.expressionOf[i]!;
    const met = grid.issues[expression] ?? [];
    const fullKeys = met.length === 0 ? null : new Map(grid.series.slice(start, end).map((s, k) => [s.key, series[k]!.key]));
    const issues: DataIssue[] = met.flatMap((issue) => {
      const key = fullKeys?.get(issue.key);
      return key === undefined ? [] : [{ ...issue, key }];
    });
    const rows = scan.rowsIndex === undefined ? null : grid.values[scan.rowsIndex]!.subarray(start * buckets, end * buckets);
    return {
      series,
      values: grid.values[expression]!.subarray(start * buckets, end * buckets),
      present: grid.present.subarray(start * buckets, end * buckets),
      rows,
      issues,
    };
  });
}

/** A member's series, the same array as the last tick's when the grid met the same series (grids share series objects across scans). */
const lastSeries = new WeakMap<MetricConfig, { from: GridSeries[]; series: GridSeries[] }>();

function memberSeriesOf(m: MetricConfig, all: readonly GridSeries[], start: number, end: number, splitBy: readonly string[]): GridSeries[] {
  const last = lastSeries.get(m);
  if (last && last.from.length === end - start && last.from.every((s, i) => s === all[start + i])) return last.series;
  const from = all.slice(start, end);
  const series = from.map((s) => memberSeries(s, splitBy));
  lastSeries.set(m, { from, series });
  return series;
}

const seen = new WeakMap<GridSeries, GridSeries>();

function memberSeries(s: GridSeries, splitBy: readonly string[]): GridSeries {
  const hit = seen.get(s);
  if (hit) return hit;
  const labels: Record<string, string> = {};
  for (const c of splitBy) labels[c] = s.labels[c] ?? "";
  const out = { key: formatSeriesKey(splitBy.map((c) => [c, labels[c]!])), labels };
  seen.set(s, out);
  return out;
}

/** Where each value of `column` has its series: one run, as the grid sorts series by key and the column comes first. */
function seriesRanges(series: readonly GridSeries[], column: string): Map<string, [number, number]> {
  const ranges = new Map<string, [number, number]>();
  series.forEach((s, i) => {
    const value = s.labels[column] ?? "";
    const range = ranges.get(value);
    if (!range) ranges.set(value, [i, i + 1]);
    else if (range[1] === i) range[1] = i + 1;
    else throw new RangeError(`series of ${column} = ${value} are not adjacent in the grid`);
  });
  return ranges;
}
