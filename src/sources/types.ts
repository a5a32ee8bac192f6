/**
 * What the source layer hands the engine: per-series bucket values in domain terms (epoch ms,
 * numbers or null), never driver rows.
 */
import type { Point } from "../model/point.js";

/** A half-open time range [from, to) in epoch milliseconds. */
export interface TimeWindow {
  from: number;
  to: number;
}

export interface SeriesBatch {
  /** "" for an unsplit metric, else "platform=ios,country=BR" in split_by (or query column) order; see series-key.ts. */
  key: string;
  labels: Record<string, string>;
  /** Sorted by t, one point per bucket. Buckets for which the query returned no row are absent, not zero. */
  points: Point[];
}

/**
 * Bad data met while reading, counted per series so the caller can log each kind once per fetch.
 * - null: the value was NULL (or, in a raw query, the bucket time was NULL or infinite; the row is dropped)
 * - nan: NaN or ±Infinity
 * - non_numeric: text that is not a number, a boolean, or another non-numeric type
 * - duplicate: several rows for one bucket; the last one returned is kept
 * - out_of_order: a row arrived after a later bucket of its series; points are sorted anyway
 */
export type DataIssueKind = "null" | "nan" | "non_numeric" | "duplicate" | "out_of_order";

export interface DataIssue {
  key: string;
  kind: DataIssueKind;
  count: number;
}

export interface FetchResult {
  /** Sorted by key. */
  series: SeriesBatch[];
  issues: DataIssue[];
}

/** A series of a bucket grid: its key and labels, as in SeriesBatch. */
export interface GridSeries {
  key: string;
  labels: Record<string, string>;
}

/**
 * The result of one grouped scan on the bucket grid: bucket b of every series starts at
 * from + b * stepMs; slot k = series index * buckets + b.
 */
export interface BucketGrid {
  from: number;
  stepMs: number;
  buckets: number;
  /** Sorted by key. */
  series: GridSeries[];
  /** 1 where the query returned a row for the slot; 0 = the bucket is missing. */
  present: Uint8Array;
  /** One array per aggregate: the slot's value, NaN when missing or unusable (see `issues`). */
  values: Float64Array[];
  /** Per aggregate, the bad data met, as in FetchResult. */
  issues: DataIssue[][];
  /** A long-format group's metrics, in order: each one's series and views on the arrays above (long-format.ts). */
  members?: MemberView[];
}

/** One metric's part of a long-format group's grid: its own series, and views of its slots. */
export interface MemberView {
  series: GridSeries[];
  values: Float64Array;
  present: Uint8Array;
  rows: Float64Array | null;
  issues: DataIssue[];
}

/** SQL text with its bound values. */
export interface SqlQuery {
  text: string;
  values: unknown[];
}
