/** The source layer: all SQL against metric tables. */
export { decodeBucketGrid, type GridColumns, gridResults } from "./bucket-grid.js";
export { bucketStart, closedBefore, isBucketClosed } from "./closed-before.js";
export { collectSeries, type SourceRow, toValue } from "./collect-series.js";
export { fetchBucketGrid, fetchBuckets, fetchBucketsGrouped, SourceError, scanKey } from "./fetch-buckets.js";
export { buildRawQuery, classifyColumns, highestPlaceholder, QueryShapeError, type RawShape } from "./raw-query.js";
export { formatSeriesKey, labelText, NULL_LABEL, parseSeriesKey } from "./series-key.js";
export {
  alignWindow,
  BUCKET_COLUMN,
  type BucketScan,
  buildBucketScan,
  buildStructuredQuery,
  keyColumn,
  type StructuredQuery,
  VALUE_COLUMN,
} from "./structured-query.js";
export type {
  BucketGrid,
  DataIssue,
  DataIssueKind,
  FetchResult,
  GridSeries,
  SeriesBatch,
  SqlQuery,
  TimeWindow,
} from "./types.js";
