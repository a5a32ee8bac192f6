/**
 * Rows of a grouped bucket scan decoded straight onto the bucket grid: one Float64Array of values per
 * aggregate, series-major, NaN where a bucket has no usable value, because a point object per value is
 * what a tick of many metrics sharing one scan would spend its time on.
 */
import type { Point } from "../model/point.js";
import { toValue } from "./collect-series.js";
import { formatSeriesKey, labelText } from "./series-key.js";
import type { BucketGrid, DataIssue, DataIssueKind, FetchResult, GridSeries, SeriesBatch, TimeWindow } from "./types.js";

/** Where the decoder finds things in a row: the bucket start, the split values, the aggregates. */
export interface GridColumns<R> {
  /** Bucket start as epoch ms (NaN when unusable). */
  time: (row: R) => number;
  /** The split values, in split_by order (null = NULL). */
  key: (row: R, i: number) => unknown;
  /** The raw value of aggregate `a`. */
  value: (row: R, a: number) => unknown;
}

/**
 * `window.from` must be on the grid (aligned); buckets run from it in steps of `stepMs` up to
 * `window.to` (the last one may be partial). Rows are those of one BucketScan: bucket starts on the
 * grid inside the window, any order. Two rows for one (series, bucket) -- two raw split values that
 * print alike, such as NULL and the text "(null)" -- keep the last one and count a duplicate.
 * `reuse`: an earlier grid's value array (its `values[0].buffer`) to decode into when it is large
 * enough, instead of a new one (see GroupFetcher).
 */
export function decodeBucketGrid<R>(
  labelNames: readonly string[],
  aggregates: number,
  rows: readonly R[],
  window: TimeWindow,
  stepMs: number,
  cols: GridColumns<R>,
  reuse?: Float64Array,
): BucketGrid {
  const buckets = Math.max(0, Math.ceil((window.to - window.from) / stepMs));
  const located = locateRows(labelNames, rows, window, stepMs, buckets, cols);
  const { found } = located;
  const order = keyOrder(located.known, found);
  const rank = new Int32Array(found.length);
  order.forEach((fi, pos) => {
    rank[fi] = pos;
  });
  const series = order.map((fi) => found[fi]!);
  // The row that holds each (series, bucket) slot; the last one wins.
  const slotRow = new Int32Array(series.length * buckets).fill(-1);
  const duplicates = new Int32Array(series.length);
  for (let r = 0; r < rows.length; r++) {
    const b = located.rowBucket[r]!;
    if (b < 0) continue;
    const s = rank[located.rowSeries[r]!]!;
    const slot = s * buckets + b;
    if (slotRow[slot]! >= 0) duplicates[s]!++;
    slotRow[slot] = r;
  }
  const present = new Uint8Array(slotRow.length);
  for (let k = 0; k < slotRow.length; k++) present[k] = slotRow[k]! >= 0 ? 1 : 0;
  const badTime = order.map((fi) => located.badTime[fi]!);
  const { values, issues } = decodeValues(rows, aggregates, series, buckets, slotRow, badTime, duplicates, cols, reuse);
  return { from: window.from, stepMs, buckets, series, present, values, issues };
}

/** Where each row goes: its series (by the printed key, in order of appearance) and bucket (-1 for an unusable time). */
interface LocatedRows {
  found: GridSeries[];
  rowSeries: Int32Array;
  rowBucket: Int32Array;
  /** Rows with an unusable time, per found series. */
  badTime: number[];
  /** The series met before, with the last sort. */
  known: KnownSeries;
}

function locateRows<R>(
  labelNames: readonly string[],
  rows: readonly R[],
  window: TimeWindow,
  stepMs: number,
  buckets: number,
  cols: GridColumns<R>,
): LocatedRows {
  const keyCount = labelNames.length;
  const known = knownSeries(labelNames);
  const stamp = ++known.scans;
  const found: GridSeries[] = [];
  const rowSeries = new Int32Array(rows.length);
  const rowBucket = new Int32Array(rows.length);
  const badTime: number[] = [];
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    // a trie of maps on the raw split values: no key string is built for a series met before
    let node: Trie | Known | undefined = known.root;
    for (let i = 0; i < keyCount && node !== undefined; i++) node = (node as Trie).get(rawKey(cols.key(row, i)));
    const s = (node as Known | undefined) ?? known.add((i) => cols.key(row, i));
    // the series' position in `found` this scan, stamped on it rather than kept in a map of its own
    if (s.stamp !== stamp) {
      s.stamp = stamp;
      s.at = found.length;
      found.push(s.series);
      badTime.push(0);
    }
    const si = s.at;
    rowSeries[r] = si;
    const t = cols.time(row);
    if (!Number.isFinite(t)) {
      rowBucket[r] = -1;
      badTime[si]!++;
      continue;
    }
    const b = (t - window.from) / stepMs;
    if (!Number.isInteger(b) || b < 0 || b >= buckets) {
      throw new RangeError(`bucket ${new Date(t).toISOString()} is not on the grid of the window`);
    }
    rowBucket[r] = b;
  }
  return { found, rowSeries, rowBucket, badTime, known };
}

/** Raw split value → the next level; the last level holds the series. */
type Trie = Map<unknown, Trie | Known>;

/** A series met before: where it stands in the current scan's `found` when `stamp` is that scan's. */
interface Known {
  series: GridSeries;
  stamp: number;
  at: number;
}

/**
 * The series met so far per list of split columns, by their raw split values: a steady tick meets
 * the same series again, and printing 10,000 keys anew would cost it more than its rows do. Raw
 * values that print alike (1 and "1", two dates of one instant) share one series.
 */
interface KnownSeries {
  /** Raw split value → the next level; the last level holds the series (the root is the series when there is no split). */
  root: Trie | Known;
  size: number;
  /** Scans decoded so far: the stamp of the current one. */
  scans: number;
  add(key: (i: number) => unknown): Known;
  /** The last sort: the series in order of appearance, and their key order. */
  lastFound: readonly GridSeries[];
  lastOrder: number[];
}

/** A raw split value as a map key: values that are objects (dates, JSON) by their text, not their identity. */
function rawKey(v: unknown): unknown {
  return v !== null && typeof v === "object" ? labelText(v) : v;
}

const KNOWN_MAX = 200_000;
const known = new Map<string, KnownSeries>();

function knownSeries(labelNames: readonly string[]): KnownSeries {
  const name = labelNames.join("\u001f");
  let k = known.get(name);
  if (k && k.size < KNOWN_MAX) return k;
  const byKey = new Map<string, Known>();
  const n = labelNames.length;
  k = {
    root: new Map(),
    size: 0,
    scans: 0,
    lastFound: [],
    lastOrder: [],
    add(key) {
      const pairs = labelNames.map((name, i): [string, string] => [name, labelText(key(i))]);
      const printed = formatSeriesKey(pairs);
      let s = byKey.get(printed);
      if (!s) {
        s = { series: { key: printed, labels: Object.fromEntries(pairs) }, stamp: 0, at: 0 };
        byKey.set(printed, s);
      }
      let node = this.root as Trie;
      for (let i = 0; i < n - 1; i++) {
        const raw = rawKey(key(i));
        let next = node.get(raw) as Trie | undefined;
        if (!next) {
          next = new Map();
          node.set(raw, next);
        }
        node = next;
      }
      if (n > 0) node.set(rawKey(key(n - 1)), s);
      this.size++;
      return s;
    },
  };
  // an unsplit scan has one series, the trie's root
  if (n === 0) k.root = k.add(() => undefined);
  known.set(name, k);
  return k;
}

/** Positions of `found` in key order; the last order again when the scan met the same series in the same order. */
function keyOrder(k: KnownSeries, found: readonly GridSeries[]): number[] {
  const last = k.lastFound;
  if (last.length === found.length && found.every((s, i) => s === last[i])) return k.lastOrder;
  const order = found.map((_, i) => i).sort((a, b) => (found[a]!.key < found[b]!.key ? -1 : found[a]!.key > found[b]!.key ? 1 : 0));
  k.lastFound = found;
  k.lastOrder = order;
  return order;
}

/**
 * Per aggregate, the values of the slots; bad ones become NaN and are counted. Every aggregate's values
 * are a view of one array, because one large allocation per chunk of a history load goes back to the
 * system when collected where many small ones leave holes in the allocator's heap.
 */
function decodeValues<R>(
  rows: readonly R[],
  aggregates: number,
  series: readonly GridSeries[],
  buckets: number,
  slotRow: Int32Array,
  badTime: readonly number[],
  duplicates: Int32Array,
  cols: GridColumns<R>,
  reuse: Float64Array | undefined,
): { values: Float64Array[]; issues: DataIssue[][] } {
  const values: Float64Array[] = [];
  const issues: DataIssue[][] = [];
  const slots = slotRow.length;
  const size = aggregates * slots;
  const all = (reuse !== undefined && reuse.length >= size ? reuse.subarray(0, size) : new Float64Array(size)).fill(Number.NaN);
  for (let a = 0; a < aggregates; a++) {
    const out = all.subarray(a * slots, (a + 1) * slots);
    const met: DataIssue[] = [];
    for (let s = 0; s < series.length; s++) {
      let counts: Map<DataIssueKind, number> | null = null;
      const bad = badTime[s]!;
      if (bad > 0) counts = new Map([["null", bad]]);
      for (let k = s * buckets, end = k + buckets; k < end; k++) {
        const r = slotRow[k]!;
        if (r < 0) continue;
        const raw = cols.value(rows[r]!, a);
        if (typeof raw === "number" && raw - raw === 0) {
          out[k] = raw;
          continue;
        }
        const value = toValue(raw);
        if (value.v !== null) out[k] = value.v;
        else {
          counts ??= new Map();
          counts.set(value.issue, (counts.get(value.issue) ?? 0) + 1);
        }
      }
      const dups = duplicates[s]!;
      if (dups > 0) {
        counts ??= new Map();
        counts.set("duplicate", dups);
      }
      if (counts) for (const [kind, count] of counts) met.push({ key: series[s]!.key, kind, count });
    }
    values.push(out);
    issues.push(met);
  }
  return { values, issues };
}

/** The grid as one FetchResult per aggregate: a point per bucket that had a row, in time order. */
export function gridResults(grid: BucketGrid): FetchResult[] {
  if (grid.members) return grid.members.map((m) => partResult(grid, m.series, m.present, m.values, m.issues));
  return grid.values.map((values, a) => partResult(grid, grid.series, grid.present, values, grid.issues[a] ?? []));
}

function partResult(
  grid: BucketGrid,
  series: readonly GridSeries[],
  present: Uint8Array,
  values: Float64Array,
  issues: DataIssue[],
): FetchResult {
  const { from, stepMs, buckets } = grid;
  const batches: SeriesBatch[] = series.map((s, i): SeriesBatch => {
    const points: Point[] = [];
    for (let b = 0, k = i * buckets; b < buckets; b++, k++) {
      if (!present[k]) continue;
      const v = values[k]!;
      points.push({ t: from + b * stepMs, v: Number.isNaN(v) ? null : v });
    }
    return { key: s.key, labels: s.labels, points };
  });
  return { series: batches, issues };
}
