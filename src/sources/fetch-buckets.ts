/**
 * The one entry point the engine uses to read a metric: run its query for a window and return clean
 * per-series buckets plus the data issues met on the way.
 */
import type { MetricConfig } from "../config/types.js";
import { DatabaseError, type Queryable, type Row } from "../db/database.js";
import { formatDuration } from "../model/duration.js";
import { decodeBucketGrid, type GridColumns, gridResults } from "./bucket-grid.js";
import { collectSeries, type SourceRow } from "./collect-series.js";
import { longScanOf, memberViews, sharedDiscriminator } from "./long-format.js";
import { buildRawQuery, classifyColumns, describeColumns, QueryShapeError } from "./raw-query.js";
import {
  alignWindow,
  BUCKET_COLUMN,
  type BucketScan,
  bucketScanValues,
  buildBucketScan,
  buildStructuredQuery,
  keyColumn,
  ROWS_AGGREGATE,
  ROWS_COLUMN,
  scanZones,
  VALUE_COLUMN,
} from "./structured-query.js";
import type { BucketGrid, FetchResult, SqlQuery, TimeWindow } from "./types.js";

/**
 * This metric's SQL is at fault: "query" = the database rejected it, "shape" = it ran but its result
 * cannot be a metric (no time or `value` column, a placeholder beyond $2). Retrying will not help.
 * An unreachable database is not the metric's fault and surfaces as the DatabaseError itself
 * (kind "connection"), so that callers can retry it the same way for every metric.
 */
export class SourceError extends Error {
  override readonly name = "SourceError";
  constructor(
    readonly metric: string,
    message: string,
    readonly kind: "query" | "shape",
    options?: { cause?: unknown },
  ) {
    super(`metric "${metric}": ${message}`, options);
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, metric: this.metric, kind: this.kind, message: this.message };
  }
}

const EMPTY: FetchResult = { series: [], issues: [] };

/**
 * Buckets whose start lies in [window.from, window.to). For the structured form the start is aligned
 * up to a bucket boundary so the first bucket is complete; the last one is partial when `to` falls
 * inside it (the engine re-reads it next time). Incremental use: from = the watermark bucket start,
 * to = now; history load: from = now - lookback.
 *
 * Throws SourceError when the metric's SQL is wrong, DatabaseError (kind "connection") when the
 * database cannot be reached.
 */
/**
 * `series`: only these series (their labels), for a structured source; a raw `query` returns every
 * series whatever it is given.
 */
export async function fetchBuckets(
  db: Queryable,
  metric: MetricConfig,
  window: TimeWindow,
  series?: BucketScan["series"],
): Promise<FetchResult> {
  if (!Number.isFinite(window.from) || !Number.isFinite(window.to)) {
    throw new RangeError(`metric "${metric.name}": window bounds must be finite epoch milliseconds`);
  }
  if (metric.source) return fetchStructured(db, metric, window, series);
  if (metric.query !== undefined) return fetchRaw(db, metric, metric.query, window);
  throw new SourceError(metric.name, "has neither `source` nor `query`", "shape");
}

async function fetchStructured(
  db: Queryable,
  metric: MetricConfig,
  window: TimeWindow,
  series: BucketScan["series"],
): Promise<FetchResult> {
  const q = buildStructuredQuery(metric, window, series);
  if (q.window.from >= q.window.to) return EMPTY;
  const { rows } = await run(db, metric.name, q, "generated", queryTimeout(metric));
  return collectSeries(
    q.labels,
    rows.map(
      (r): SourceRow => ({
        t: timeOf(r[BUCKET_COLUMN]),
        keyValues: q.labels.map((_, i) => r[keyColumn(i)]),
        value: r[VALUE_COLUMN],
        ...(metric.rowCounts ? { rows: r[ROWS_COLUMN] } : {}),
      }),
    ),
  );
}

async function fetchRaw(db: Queryable, metric: MetricConfig, sql: string, window: TimeWindow): Promise<FetchResult> {
  if (window.from >= window.to) return EMPTY;
  let q: SqlQuery;
  try {
    q = buildRawQuery(sql, window);
  } catch (err) {
    if (err instanceof QueryShapeError) throw new SourceError(metric.name, err.message, "shape", { cause: err });
    throw err;
  }
  const { rows, fields } = await run(db, metric.name, q, "operator", queryTimeout(metric));
  if (rows.length === 0 && !fields) return EMPTY;
  const shape = classifyColumns(fields, rows[0]);
  if (!shape) {
    throw new SourceError(
      metric.name,
      `the query must return a timestamp column (timestamptz, timestamp or date) for the bucket and a column named "value"; it returned: ${describeColumns(fields)}`,
      "shape",
    );
  }
  const sourceRows: SourceRow[] = [];
  for (const r of rows) {
    const t = timeOf(r[shape.bucket]);
    // The operator's SQL may bucket more widely than the window (e.g. a partial bucket before $1): keep the contract [from, to).
    if (Number.isFinite(t) && (t < window.from || t >= window.to)) continue;
    sourceRows.push({ t, keyValues: shape.keys.map((k) => r[k]), value: r[shape.value] });
  }
  return collectSeries(shape.keys, sourceRows);
}

/**
 * Whether two metrics can share one scan: same table, time column, bucket size, filter and split.
 * Raw-query metrics never share. The window is not part of the key; callers group by it too.
 */
export function scanKey(metric: MetricConfig): string | null {
  const s = metric.source;
  if (!s) return null;
  return JSON.stringify([
    s.table,
    s.time_column,
    metric.granularityMs,
    filterKey(metric),
    s.split_by,
    s.timezone ?? "",
    metric.timezone ?? "",
  ]);
}

/** What a scan's filter is keyed by: the column of a long-format filter (its text varies by metric), else the filter. */
function filterKey(metric: MetricConfig): string {
  const d = sharedDiscriminator(metric);
  return d ? `\u0000${d.column}` : (metric.source?.where?.trim() ?? "");
}

/** scanKey(a) === scanKey(b) for two structured metrics, without building the keys. */
function sameScan(a: MetricConfig, b: MetricConfig): boolean {
  const x = a.source;
  const y = b.source;
  if (!x || !y) return false;
  if (a.timezone !== b.timezone) return false;
  if (x === y) return a.granularityMs === b.granularityMs;
  return (
    x.timezone === y.timezone &&
    x.table === y.table &&
    x.time_column === y.time_column &&
    a.granularityMs === b.granularityMs &&
    filterKey(a) === filterKey(b) &&
    x.split_by.length === y.split_by.length &&
    x.split_by.every((c, i) => c === y.split_by[i])
  );
}

/**
 * Several structured metrics with the same `scanKey`, read by ONE query with one aggregate column
 * per metric: a table shared by a hundred metrics is scanned once per tick instead of a hundred
 * times. Returns one FetchResult per metric, in order, the same as fetchBuckets would give each.
 * A failure fails the whole group (one bad `value` breaks the statement): callers then fall back
 * to fetchBuckets per metric, so that only the broken metric fails.
 */
export async function fetchBucketsGrouped(db: Queryable, metrics: readonly MetricConfig[], window: TimeWindow): Promise<FetchResult[]> {
  const first = metrics[0];
  if (!first) return [];
  if (metrics.length === 1) return [await fetchBuckets(db, first, window)];
  return gridResults(withMembers(metrics, await fetchBucketGrid(db, metrics, window))).slice(0, metrics.length);
}

/**
 * The same grouped scan as fetchBucketsGrouped, returned on the bucket grid (one value array per
 * metric, in order) rather than as points: what the engine consumes, without an object per value.
 */
export async function fetchBucketGrid(
  db: Queryable,
  metrics: readonly MetricConfig[],
  window: TimeWindow,
  reuse?: Float64Array,
): Promise<BucketGrid> {
  return runGroupScan(db, planGroupScan(metrics, window), reuse);
}

/** A long-format group's grid with each metric's own part (memberViews); other grids as they are. */
export function withMembers(metrics: readonly MetricConfig[], grid: BucketGrid): BucketGrid {
  const long = longScanOf(metrics);
  return long ? { ...grid, members: memberViews(metrics, long, grid) } : grid;
}

/**
 * A grouped scan as data: the statement, its bound values and how to decode its rows. Made where
 * the configs are (planGroupScan), run wherever the connection is (runGroupScan): in this thread,
 * or on the scan thread (scan-thread.ts), which gets plans by message and never sees a config.
 */
export interface GroupScan {
  /** The metrics' names, joined: what an error names. */
  name: string;
  /** null: the window holds no bucket, nothing to run. */
  query: SqlQuery | null;
  labels: readonly string[];
  aggregates: number;
  /** Aligned to the grid. */
  window: TimeWindow;
  stepMs: number;
  /** The longest `query_timeout` of the metrics: one statement reads them all. */
  timeoutMs: number;
}

/** A metric query's statement timeout when the config sets none: well under a tick. */
export const DEFAULT_QUERY_TIMEOUT_MS = 30_000;

const queryTimeout = (m: MetricConfig): number => m.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;

/** Throws RangeError unless the metrics share one scan (see scanKey). */
export function planGroupScan(metrics: readonly MetricConfig[], window: TimeWindow): GroupScan {
  const first = metrics[0];
  const source = first?.source;
  if (!first || !source || metrics.some((m) => !sameScan(first, m))) throw new RangeError("fetchBucketGrid: metrics do not share one scan");
  const g = first.granularityMs;
  const aligned = alignWindow(window, g);
  const long = longScanOf(metrics);
  return {
    name: metrics.map((m) => m.name).join(", "),
    query: aligned.from >= aligned.to ? null : { text: groupScanText(metrics), values: bucketScanValues(aligned, g, scanZones(first)) },
    labels: long?.splitBy ?? source.split_by,
    aggregates: long
      ? long.expressions.length + (long.rowsIndex === undefined ? 0 : 1)
      : metrics.length + (groupRowsIndex(metrics) === undefined ? 0 : 1),
    window: aligned,
    stepMs: g,
    timeoutMs: Math.max(...metrics.map(queryTimeout)),
  };
}

/** Run a planned grouped scan and decode its rows onto the grid (into `reuse` when it is large enough). */
export async function runGroupScan(db: Queryable, scan: GroupScan, reuse?: Float64Array): Promise<BucketGrid> {
  const rows = scan.query === null ? [] : (await run(db, scan.name, scan.query, "generated", scan.timeoutMs)).rows;
  return decodeBucketGrid(scan.labels, scan.aggregates, rows, scan.window, scan.stepMs, GRID_COLUMNS, reuse);
}

/**
 * The grouped scan's SQL text depends on the metrics' configs only (the window is bound), so it is
 * built once per list of config objects; a config reload brings new objects and a new text.
 */
const scanTexts = new WeakMap<MetricConfig, { metrics: readonly MetricConfig[]; text: string }>();

function groupScanText(metrics: readonly MetricConfig[]): string {
  const first = metrics[0]!;
  const hit = scanTexts.get(first);
  if (hit && hit.metrics.length === metrics.length && hit.metrics.every((m, i) => m === metrics[i])) return hit.text;
  const source = first.source!;
  const long = longScanOf(metrics);
  const expressions = long?.expressions ?? metrics.map((m) => m.source!.value);
  const rowsIndex = long ? long.rowsIndex : groupRowsIndex(metrics);
  const { text } = buildBucketScan(
    {
      table: source.table,
      timeColumn: source.time_column,
      granularityMs: first.granularityMs,
      where: long?.where ?? source.where,
      splitBy: long?.splitBy ?? source.split_by,
      aggregates: [
        ...expressions.map((expr, i) => ({ alias: aggregateColumn(i), expr })),
        // one row count for the group, after the metrics' own aggregates
        ...(rowsIndex === undefined ? [] : [{ alias: aggregateColumn(rowsIndex), expr: ROWS_AGGREGATE }]),
      ],
      ...scanZones(first),
    },
    { from: 0, to: 0 },
  );
  scanTexts.set(first, { metrics: [...metrics], text });
  return text;
}

const aggregateColumn = (i: number): string => `v${i}`;

/** The aggregate of a grouped scan that holds the rows behind each bucket, when one of its metrics needs them. */
export function groupRowsIndex(metrics: readonly MetricConfig[]): number | undefined {
  return metrics.some((m) => m.rowCounts) ? metrics.length : undefined;
}
const KEY_COLUMNS = Array.from({ length: 16 }, (_, i) => keyColumn(i));
const VALUE_COLUMNS = Array.from({ length: 256 }, (_, i) => aggregateColumn(i));

/** Column names are looked up once, not rebuilt per row and value. */
const GRID_COLUMNS: GridColumns<Row> = {
  time: (row) => timeOf(row[BUCKET_COLUMN]),
  key: (row, i) => row[KEY_COLUMNS[i] ?? keyColumn(i)],
  value: (row, a) => row[VALUE_COLUMNS[a] ?? aggregateColumn(a)],
};

/** A bucket time from a driver row: epoch ms, NaN when unreadable. */
export function timeOf(v: unknown): number {
  if (v instanceof Date) return v.getTime();
  // pg hands back ±Infinity for 'infinity' timestamps; anything else unparseable becomes NaN.
  return typeof v === "number" ? v : Number.NaN;
}

/** `sql` says whose text it is: line numbers help in the operator's own query, not in one vigil generated. */
async function run(db: Queryable, metric: string, q: SqlQuery, sql: "operator" | "generated", timeoutMs: number) {
  try {
    return await db.query(q.text, q.values, { timeoutMs });
  } catch (err) {
    if (!(err instanceof DatabaseError) || err.kind === "connection") throw err;
    if (err.details.code === "57014") {
      throw new SourceError(
        metric,
        `the query ran longer than its query_timeout (${formatDuration(timeoutMs)}) and was cancelled`,
        err.kind,
        { cause: err },
      );
    }
    const where = near(q.text, err.details.position, sql === "operator");
    throw new SourceError(metric, err.message + where, err.kind, { cause: err });
  }
}

/** Where in the SQL the server pointed, so an operator can find the typo in a long query. */
function near(text: string, position: number | undefined, lineAndColumn: boolean): string {
  if (position === undefined || position < 1 || position > text.length + 1) return "";
  const before = text.slice(0, position - 1);
  const excerpt = text
    .slice(position - 1)
    .split("\n")[0]!
    .slice(0, 40);
  if (!lineAndColumn) return excerpt ? ` (near: ${excerpt})` : "";
  const line = before.split("\n").length;
  const column = position - before.lastIndexOf("\n") - 1;
  return ` (at line ${line}, column ${column}${excerpt ? `: ${excerpt}` : ""})`;
}
