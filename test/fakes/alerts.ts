/** Alerts and outbox set-up shared by the chat tests: a firing alert stored with its first delivery. */

import type { Alert } from "../../src/model/alert.js";
import type { AlertNotification, ChartData } from "../../src/model/notification.js";
import type { StateStore } from "../../src/store/state-store.js";
import { writeOutcomes } from "../helpers/store-write.js";

export const T0 = Date.UTC(2026, 0, 19, 12);
const HOUR = 3_600_000;

export function makeAlert(o: Partial<Alert> = {}): Alert {
  return {
    id: null,
    fingerprint: `${o.metric ?? "dau"}\u001f${o.series ?? ""}\u001f${o.detector ?? "seasonal"}`,
    kind: "metric",
    metric: "dau",
    series: "platform=ios",
    detector: "seasonal",
    state: "firing",
    severity: "critical",
    value: 511,
    expected: 1136,
    lower: 1016,
    upper: 1256,
    sigmas: -9.8,
    reason: "9.8σ below the seasonal profile",
    peakDeviation: 625,
    anomalousCount: 4,
    streak: 4,
    okStreak: 0,
    bucket: T0 - HOUR,
    firstBucket: T0 - 4 * HOUR,
    startedAt: T0 - 3 * HOUR,
    updatedAt: T0,
    firedAt: T0,
    resolvedAt: null,
    snoozedUntil: null,
    lastNotifiedAt: T0,
    actedBy: null,
    details: { runbook: "https://wiki.example.com/runbooks/dau?a=1&b=2", granularityMs: HOUR },
    version: 0,
    ...o,
  };
}

/** Store a firing alert and queue its first notification to `channels`; returns the stored alert. */
export async function fireAlert(store: StateStore, alert: Alert, channels: string[], chart?: ChartData): Promise<Alert & { id: number }> {
  const [saved] = await writeOutcomes(store, {
    outcomes: [{ alert, events: [{ from: null, to: "firing", actor: "engine", note: "", notify: "firing" }] }],
    watermarks: [],
    deliveriesFor: (a, ev, h) =>
      channels.map((channel) => {
        const payload: AlertNotification = {
          type: "alert",
          event: "firing",
          alert: a,
          previousState: ev.from,
          actor: ev.actor,
          note: "",
          at: a.updatedAt,
        };
        if (chart) payload.chart = chart;
        return { channel, kind: "firing", key: `${h}:${channel}`, payload };
      }),
  });
  return saved!;
}
