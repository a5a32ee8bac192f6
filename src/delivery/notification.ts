/** What goes through the outbox to a channel: self-contained JSON, so a restart can still send it. */
import type { Alert, AlertState } from "../engine/alert.js";

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
  /** Recent history for the chart: [bucket start ms, value|null][] (may be empty). */
  history?: Array<[number, number | null]>;
}

export interface TextNotification {
  type: "text";
  title: string;
  text: string;
  at: number;
}

export type Notification = AlertNotification | TextNotification;
