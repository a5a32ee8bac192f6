/** What goes through the outbox to a channel: self-contained JSON, so a restart can still send it. */
import type { Alert, AlertChange, AlertState } from "./alert.js";

export type NotificationEvent = "firing" | "resolved" | "reminder" | "update";

export interface AlertNotification {
  type: "alert";
  event: NotificationEvent;
  /** The alert as it was right after the change (id always set). */
  alert: Alert & { id: number };
  previousState: AlertState | null;
  actor: string;
  note: string;
  at: number;
  /** Recent history with the detector's expectation, for the chart (absent for meta-alerts). */
  chart?: ChartData;
}

/** One row per bucket: [start ms, value, expected, lower, upper, anomalous (1/0)]; nulls where unknown. */
export type ChartRow = [number, number | null, number | null, number | null, number | null, 0 | 1];

export interface ChartData {
  rows: ChartRow[];
  granularityMs: number;
  /** Static limits to draw (threshold detectors). */
  thresholds?: { min?: number; max?: number };
}

export interface TextNotification {
  type: "text";
  title: string;
  text: string;
  at: number;
  /** Small-multiples chart panels (the digest): one sparkline per metric. */
  panels?: DigestPanel[];
}

/** One sparkline of the digest chart (same shape as src/charts SparkPanel, kept JSON-plain). */
export interface DigestPanel {
  title: string;
  points: Array<[number, number | null]>;
  anomalies?: number[];
  note?: string;
}

/** Several alerts one tick opened for the same metric, sent as one message listing the series. */
export interface GroupNotification {
  type: "group";
  metric: string;
  alerts: AlertNotification[];
  at: number;
}

export type Notification = AlertNotification | GroupNotification | TextNotification;

/** A message to queue for a channel. */
export interface DeliveryDraft {
  channel: string;
  kind: string;
  payload: Notification;
  /** Unique per (change, channel); repeated enqueues with the same key are dropped. */
  key: string;
  /** The fingerprint a notice is about (flapping), for later look-ups. */
  fingerprint?: string;
}

/** The message about one stored alert change, with its chart when it carries one. */
export function alertNotification(change: AlertChange, chart?: ChartData | null): AlertNotification {
  const n: AlertNotification = {
    type: "alert",
    event: change.event.notify ?? "update",
    alert: change.alert,
    previousState: change.event.from,
    actor: change.event.actor,
    note: change.event.note,
    at: change.alert.updatedAt,
  };
  if (chart) n.chart = chart;
  return n;
}
