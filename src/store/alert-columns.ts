/** The mapping between an Alert and a row of the alerts table, both ways. */
import type { Row } from "../db/database.js";
import type { Alert, AlertState } from "../model/alert.js";
import { iso } from "./bulk-write.js";
import { toJson, toMs, toNum } from "./rows.js";

export const ALERT_COLUMNS = `id, fingerprint, kind, metric, series, detector, state, severity, value, expected,
  lower_bound, upper_bound, sigmas, reason, peak_deviation, anomalous_count, streak, ok_streak, bucket,
  first_bucket, started_at, updated_at, fired_at, resolved_at, snoozed_until, last_notified_at, acted_by, details, version`;

/** Alert states that are not closed, as SQL literals (an IN list can use the state index; <> cannot). */
export const OPEN_STATES = "'pending', 'firing', 'acknowledged', 'snoozed'";

export function rowToAlert(row: Row): Alert {
  return {
    id: toNum(row.id),
    fingerprint: String(row.fingerprint),
    kind: String(row.kind) as Alert["kind"],
    metric: String(row.metric),
    series: String(row.series),
    detector: String(row.detector),
    state: String(row.state) as AlertState,
    severity: String(row.severity) as Alert["severity"],
    value: toNum(row.value),
    expected: toNum(row.expected),
    lower: toNum(row.lower_bound),
    upper: toNum(row.upper_bound),
    sigmas: toNum(row.sigmas),
    reason: String(row.reason ?? ""),
    peakDeviation: toNum(row.peak_deviation),
    anomalousCount: toNum(row.anomalous_count) ?? 0,
    streak: toNum(row.streak) ?? 0,
    okStreak: toNum(row.ok_streak) ?? 0,
    bucket: toMs(row.bucket),
    firstBucket: toMs(row.first_bucket),
    startedAt: toMs(row.started_at) ?? 0,
    updatedAt: toMs(row.updated_at) ?? 0,
    firedAt: toMs(row.fired_at),
    resolvedAt: toMs(row.resolved_at),
    snoozedUntil: toMs(row.snoozed_until),
    lastNotifiedAt: toMs(row.last_notified_at),
    actedBy: row.acted_by === null || row.acted_by === undefined ? null : String(row.acted_by),
    details: toJson(row.details, {}),
    version: toNum(row.version) ?? 0,
  };
}

/** Finite numbers only reach the database (NaN/Infinity would poison JSON and comparisons). */
function finite(value: number | null): number | null {
  return value !== null && Number.isFinite(value) ? value : null;
}

/** The alert columns a write sets, with their types for unnest(), in the order of alertColumns. */
export const ALERT_WRITE = [
  ["fingerprint", "text"],
  ["kind", "text"],
  ["metric", "text"],
  ["series", "text"],
  ["detector", "text"],
  ["state", "text"],
  ["severity", "text"],
  ["value", "float8"],
  ["expected", "float8"],
  ["lower_bound", "float8"],
  ["upper_bound", "float8"],
  ["sigmas", "float8"],
  ["reason", "text"],
  ["peak_deviation", "float8"],
  ["anomalous_count", "integer"],
  ["streak", "integer"],
  ["ok_streak", "integer"],
  ["bucket", "timestamptz"],
  ["first_bucket", "timestamptz"],
  ["started_at", "timestamptz"],
  ["updated_at", "timestamptz"],
  ["fired_at", "timestamptz"],
  ["resolved_at", "timestamptz"],
  ["snoozed_until", "timestamptz"],
  ["last_notified_at", "timestamptz"],
  ["acted_by", "text"],
  ["details", "jsonb"],
].map(([name, type]) => ({ name: name!, type: type! }));

/** One array per column of ALERT_WRITE, for unnest(). */
export function alertColumns(list: readonly Alert[]): unknown[][] {
  const rows = list.map((alert) => [
    alert.fingerprint,
    alert.kind,
    alert.metric,
    alert.series,
    alert.detector,
    alert.state,
    alert.severity,
    finite(alert.value),
    finite(alert.expected),
    finite(alert.lower),
    finite(alert.upper),
    finite(alert.sigmas),
    alert.reason,
    finite(alert.peakDeviation),
    alert.anomalousCount,
    alert.streak,
    alert.okStreak,
    iso(alert.bucket),
    iso(alert.firstBucket),
    iso(alert.startedAt),
    iso(alert.updatedAt),
    iso(alert.firedAt),
    iso(alert.resolvedAt),
    iso(alert.snoozedUntil),
    iso(alert.lastNotifiedAt),
    alert.actedBy,
    JSON.stringify(alert.details),
  ]);
  return ALERT_WRITE.map((_, column) => rows.map((row) => row[column]));
}
