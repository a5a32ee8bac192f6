/** The alert as the engine, the store and the notifiers see it. Times are epoch milliseconds. */
/** How urgent an alert is; routes it to channels (severity_channels). */
export type Severity = "info" | "warning" | "critical";

export type AlertState = "pending" | "firing" | "acknowledged" | "snoozed" | "resolved";
export const ALERT_STATES: readonly AlertState[] = ["pending", "firing", "acknowledged", "snoozed", "resolved"];
/** metric = a detector verdict; meta = vigil's own trouble (source, config, delivery, no_data). */
export type AlertKind = "metric" | "meta" | "srm" | "guardrail";

export interface Alert {
  /** null until stored. */
  id: number | null;
  fingerprint: string;
  kind: AlertKind;
  metric: string;
  series: string;
  detector: string;
  state: AlertState;
  severity: Severity;
  value: number | null;
  expected: number | null;
  lower: number | null;
  upper: number | null;
  sigmas: number | null;
  reason: string;
  /** Largest |value - expected| seen while open. */
  peakDeviation: number | null;
  anomalousCount: number;
  /** Consecutive anomalous buckets (for `for`). */
  streak: number;
  /** Consecutive buckets back inside the band (for `resolve_after`). */
  okStreak: number;
  bucket: number | null;
  firstBucket: number | null;
  startedAt: number;
  updatedAt: number;
  firedAt: number | null;
  resolvedAt: number | null;
  snoozedUntil: number | null;
  lastNotifiedAt: number | null;
  actedBy: string | null;
  details: AlertDetails;
  /** Row version for optimistic concurrency (0 for a new alert). */
  version: number;
}

/** Context carried with an alert for messages: free-form but JSON. */
export interface AlertDetails {
  description?: string;
  runbook?: string;
  granularityMs?: number;
  labels?: Record<string, string>;
  /**
   * The alert's anomalous buckets, oldest first, as runs [first, last] of consecutive buckets
   * (bucket starts, `granularityMs` apart): what its chart marks, and nothing else.
   */
  anomalous?: Array<[number, number]>;
  [key: string]: unknown;
}

/** One state change (or notable update) of an alert. */
export interface AlertEvent {
  from: AlertState | null;
  to: AlertState;
  /** Who or what caused it: "engine", "user:<name>", "cli", "snooze-expiry". */
  actor: string;
  note: string;
  /** Whether this event produces notifications. */
  notify: "firing" | "resolved" | "reminder" | "update" | null;
  /**
   * The alert as it stood right after this event: a tick that judges several buckets stores only
   * the alert's last state, and each notification must still show its own event's.
   */
  snapshot?: Alert;
}

/** An alert change that was stored: the alert as of the event (with its id) and the event. */
export interface AlertChange {
  alert: Alert & { id: number };
  event: AlertEvent;
}

/** A stored alert change with its history row, from which its deliveries are planned. */
export interface StoredEvent extends AlertChange {
  historyId: number;
}

export function fingerprintOf(metric: string, series: string, family: string): string {
  return `${metric}\u001f${series}\u001f${family}`;
}

export function isOpen(a: Pick<Alert, "state">): boolean {
  return a.state !== "resolved";
}
