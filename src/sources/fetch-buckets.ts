/**
 * The one entry point the engine uses to read a metric: run its query for a window and return clean
 * per-series buckets plus the data issues met on the way.
 */
import type { MetricConfig } from "../config/types.js";
import { DatabaseError, type Queryable } from "../db/database.js";
import { collectSeries, type SourceRow, toValue } from "./collect-series.js";
import { buildRawQuery, classifyColumns, describeColumns, QueryShapeError } from "./raw-query.js";
import { formatSeriesKey, labelText } from "./series-key.js";
import { alignWindow, BUCKET_COLUMN, buildBucketScan, buildStructuredQuery, keyColumn, VALUE_COLUMN } from "./structured-query.js";
import type { DataIssue, DataIssueKind, FetchResult, Point, SeriesBatch, SqlQuery, TimeWindow } from "./types.js";

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
export async function fetchBuckets(db: Queryable, metric: MetricConfig, window: TimeWindow): Promise<FetchResult> {
  if (!Number.isFinite(window.from) || !Number.isFinite(window.to)) {
    throw new RangeError(`metric "${metric.name}": window bounds must be finite epoch milliseconds`);
  }
  if (metric.source) return fetchStructured(db, metric, window);
  if (metric.query !== undefined) return fetchRaw(db, metric, metric.query, window);
  throw new SourceError(metric.name, "has neither `source` nor `query`", "shape");
}

async function fetchStructured(db: Queryable, metric: MetricConfig, window: TimeWindow): Promise<FetchResult> {
  const q = buildStructuredQuery(metric, window);
  if (q.window.from >= q.window.to) return EMPTY;
  const { rows } = await run(db, metric, q, "generated");
  return collectSeries(
    q.labels,
    rows.map(
      (r): SourceRow => ({
        t: timeOf(r[BUCKET_COLUMN]),
        keyValues: q.labels.map((_, i) => r[keyColumn(i)]),
        value: r[VALUE_COLUMN],
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
  const { rows, fields } = await run(db, metric, q, "operator");
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
  return JSON.stringify([s.table, s.time_column, metric.granularityMs, s.where?.trim() ?? "", s.split_by]);
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
  const key = scanKey(first);
  const source = first.source;
  if (!source || metrics.some((m) => scanKey(m) !== key)) throw new RangeError("fetchBucketsGrouped: metrics do not share one scan");
  const aligned = alignWindow(window, first.granularityMs);
  if (aligned.from >= aligned.to) return metrics.map(() => EMPTY);
  const q = buildBucketScan(
    {
      table: source.table,
      timeColumn: source.time_column,
      granularityMs: first.granularityMs,
      where: source.where,
      splitBy: source.split_by,
      aggregates: metrics.map((m, i) => ({ alias: `v${i}`, expr: m.source!.value })),
    },
    aligned,
  );
  const { rows } = await run(db, { ...first, name: metrics.map((m) => m.name).join(", ") }, q, "generated");
  return decodeGrouped(source.split_by, metrics.length, rows);
}

/**
 * Rows of a grouped scan -> one FetchResult per aggregate. The scan is ordered by bucket, so each
 * series' rows come in time order; the only oddities left are NULL/NaN values and two split values
 * that print alike (a duplicate bucket, last one kept, as collectSeries does).
 */
function decodeGrouped(labelNames: readonly string[], aggregates: number, rows: readonly Record<string, unknown>[]): FetchResult[] {
  const keyOf = new Map<string, number>();
  const series: Array<{ key: string; labels: Record<string, string>; rows: number[]; times: number[] }> = [];
  const keyCols = labelNames.map((_, i) => keyColumn(i));
  const times = new Float64Array(rows.length);
  const dupRows = new Map<number, number>();
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    const t = timeOf(row[BUCKET_COLUMN]);
    times[r] = t;
    let raw = "";
    for (const c of keyCols) {
      const v = row[c];
      raw += v === null || v === undefined ? "\u0000\u001f" : `${String(v)}\u001f`;
    }
    let si = keyOf.get(raw);
    if (si === undefined) {
      const pairs = labelNames.map((name, i): [string, string] => [name, labelText(row[keyCols[i]!])]);
      const key = formatSeriesKey(pairs);
      // Two raw values can print the same (NULL and the text "(null)"): they are one series.
      si = series.findIndex((s) => s.key === key);
      if (si < 0) {
        si = series.length;
        series.push({ key, labels: Object.fromEntries(pairs), rows: [], times: [] });
      }
      keyOf.set(raw, si);
    }
    const s = series[si]!;
    const n = s.rows.length;
    if (n > 0 && s.times[n - 1] === t) {
      s.rows[n - 1] = r;
      dupRows.set(si, (dupRows.get(si) ?? 0) + 1);
    } else {
      s.rows.push(r);
      s.times.push(t);
    }
  }
  const order = series.map((_, i) => i).sort((a, b) => (series[a]!.key < series[b]!.key ? -1 : series[a]!.key > series[b]!.key ? 1 : 0));
  const out: FetchResult[] = [];
  for (let a = 0; a < aggregates; a++) {
    const alias = `v${a}`;
    const batches: SeriesBatch[] = [];
    const issues: DataIssue[] = [];
    for (const si of order) {
      const s = series[si]!;
      const points: Point[] = new Array(s.rows.length);
      const counts = new Map<DataIssueKind, number>();
      let k = 0;
      for (let j = 0; j < s.rows.length; j++) {
        const r = s.rows[j]!;
        const t = times[r]!;
        if (!Number.isFinite(t)) {
          counts.set("null", (counts.get("null") ?? 0) + 1);
          continue;
        }
        const value = toValue(rows[r]![alias]);
        if (value.v === null) counts.set(value.issue, (counts.get(value.issue) ?? 0) + 1);
        points[k++] = { t, v: value.v };
      }
      points.length = k;
      const dups = dupRows.get(si);
      if (dups) counts.set("duplicate", dups);
      batches.push({ key: s.key, labels: s.labels, points });
      for (const [kind, count] of counts) issues.push({ key: s.key, kind, count });
    }
    out.push({ series: batches, issues });
  }
  return out;
}

function timeOf(v: unknown): number {
  if (v instanceof Date) return v.getTime();
  // pg hands back ±Infinity for 'infinity' timestamps; anything else unparseable becomes NaN.
  return typeof v === "number" ? v : Number.NaN;
}

/** `sql` says whose text it is: line numbers help in the operator's own query, not in one vigil generated. */
async function run(db: Queryable, metric: MetricConfig, q: SqlQuery, sql: "operator" | "generated") {
  try {
    return await db.query(q.text, q.values);
  } catch (err) {
    if (!(err instanceof DatabaseError) || err.kind === "connection") throw err;
    const where = near(q.text, err.details.position, sql === "operator");
    throw new SourceError(metric.name, err.message + where, err.kind, { cause: err });
  }
}

/** Where in the SQL the server pointed, so an operator can find the typo in a long query. */
function near(text: string, position: number | undefined, lineAndColumn: boolean): string {
  if (position === undefined || position < 1 || position > text.length + 1) return "";
  const before = text.slice(0, position - 1);
  const excerpt = text.slice(position - 1).split("\n")[0]!.slice(0, 40);
  if (!lineAndColumn) return excerpt ? ` (near: ${excerpt})` : "";
  const line = before.split("\n").length;
  const column = position - before.lastIndexOf("\n") - 1;
  return ` (at line ${line}, column ${column}${excerpt ? `: ${excerpt}` : ""})`;
}
