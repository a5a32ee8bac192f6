/**
 * Turn query rows into clean series: values coerced to numbers or null, one point per bucket, sorted,
 * with every oddity counted instead of thrown, because metric tables are written by other systems
 * and one bad row must not cost the whole metric its check.
 */
import { formatSeriesKey, labelText } from "./series-key.js";
import type { DataIssue, DataIssueKind, FetchResult, SeriesBatch } from "./types.js";

export interface SourceRow {
  /** Bucket start, epoch ms. */
  t: number;
  /** Values of the label columns, in `labelNames` order. */
  keyValues: readonly unknown[];
  value: unknown;
  /** Rows behind the bucket, when the query counted them. */
  rows?: unknown;
}

/** A value as a finite number, or null with the reason. */
export function toValue(raw: unknown): { v: number } | { v: null; issue: DataIssueKind } {
  if (raw === null || raw === undefined) return { v: null, issue: "null" };
  let n: number;
  if (typeof raw === "number") n = raw;
  else if (typeof raw === "bigint") n = Number(raw);
  else if (typeof raw === "string") {
    const s = raw.trim();
    if (s === "") return { v: null, issue: "non_numeric" };
    n = Number(s);
    // Number() reads "Infinity" but not PostgreSQL's "NaN" spelling variants such as "nan".
    if (Number.isNaN(n)) return { v: null, issue: /^[+-]?nan$/i.test(s) ? "nan" : "non_numeric" };
  } else return { v: null, issue: "non_numeric" };
  if (!Number.isFinite(n)) return { v: null, issue: "nan" };
  return { v: n };
}

interface Building {
  labels: [string, string][];
  byT: Map<number, number | null>;
  rows: Map<number, number> | null;
  maxT: number;
  issues: Map<DataIssueKind, number>;
}

export function collectSeries(labelNames: readonly string[], rows: Iterable<SourceRow>): FetchResult {
  const series = new Map<string, Building>();
  for (const row of rows) {
    const labels = labelNames.map((name, i): [string, string] => [name, labelText(row.keyValues[i])]);
    const key = formatSeriesKey(labels);
    let s = series.get(key);
    if (!s) {
      s = { labels, byT: new Map(), rows: row.rows === undefined ? null : new Map(), maxT: Number.NEGATIVE_INFINITY, issues: new Map() };
      series.set(key, s);
    }
    const count = (kind: DataIssueKind): void => {
      s.issues.set(kind, (s.issues.get(kind) ?? 0) + 1);
    };
    if (!Number.isFinite(row.t)) {
      count("null");
      continue;
    }
    if (row.t < s.maxT) count("out_of_order");
    s.maxT = Math.max(s.maxT, row.t);
    if (s.byT.has(row.t)) count("duplicate");
    const value = toValue(row.value);
    if (value.v === null) count(value.issue);
    // Map.set on an existing key keeps the last row returned, as documented for duplicates.
    s.byT.set(row.t, value.v);
    if (s.rows !== null) s.rows.set(row.t, Number(row.rows ?? 0));
  }

  const out: SeriesBatch[] = [];
  const issues: DataIssue[] = [];
  for (const key of [...series.keys()].sort()) {
    const s = series.get(key)!;
    const rows = s.rows;
    const points = [...s.byT].map(([t, v]) => (rows === null ? { t, v } : { t, v, n: rows.get(t) ?? 0 })).sort((a, b) => a.t - b.t);
    out.push({ key, labels: Object.fromEntries(s.labels), points });
    for (const [kind, n] of s.issues) issues.push({ key, kind, count: n });
  }
  return { series: out, issues };
}
