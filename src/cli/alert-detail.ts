/**
 * `vigil alerts ID`: one alert's fields, its history (who or what changed it, when) and the
 * notifications about it, with the text of the latest, as text or JSON.
 */

import type { Alert } from "../model/alert.js";
import { deviationParts, fmtNum, notificationText, seriesLabel } from "../model/format.js";
import type { Delivery, HistoryEntry } from "../store/state-store.js";
import { textTable } from "./text-table.js";

export interface AlertDetail {
  alert: Alert & { id: number };
  history: readonly HistoryEntry[];
  /** Notifications about the alert (its own and grouped ones), newest first. */
  messages: readonly Delivery[];
}

export const isoSeconds = (ms: number | null): string => (ms === null ? "-" : new Date(ms).toISOString().replace(/\.\d+Z$/, "Z"));
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** What `alerts ID --json` adds to the alert's fields (those as `alerts --json` prints them). */
export function alertDetailJson(d: AlertDetail) {
  const latest = d.messages[0];
  return {
    details: d.alert.details,
    history: d.history.map((h) => ({ at: isoOrNull(h.at), from: h.from, to: h.to, actor: h.actor, note: h.note })),
    messages: d.messages.map((m) => ({
      at: isoOrNull(m.createdAt),
      channel: m.channel,
      kind: m.kind,
      status: m.status,
      attempts: m.attempts,
      last_error: m.lastError,
    })),
    latest_message: latest
      ? {
          at: isoOrNull(latest.createdAt),
          channel: latest.channel,
          kind: latest.kind,
          status: latest.status,
          text: notificationText(latest.payload),
        }
      : null,
  };
}

function fieldLines(a: Alert & { id: number }): string[] {
  const band = a.lower !== null || a.upper !== null ? ` (band ${fmtNum(a.lower)} – ${fmtNum(a.upper)})` : "";
  const dev = deviationParts(a);
  const fields: Array<[string, string | null]> = [
    ["metric", a.metric],
    ["series", a.series || "-"],
    ["detector", a.detector],
    ["kind", a.kind],
    ["state", `${a.state}${a.actedBy ? ` (by ${a.actedBy})` : ""}`],
    ["severity", a.severity],
    ["value", `${fmtNum(a.value)} vs expected ${fmtNum(a.expected)}${band}${dev.length ? `: ${dev.join(", ")}` : ""}`],
    ["reason", a.reason || null],
    ["bucket", a.bucket === null ? null : isoSeconds(a.bucket)],
    ["started_at", isoSeconds(a.startedAt)],
    ["fired_at", isoSeconds(a.firedAt)],
    ["snoozed_until", a.snoozedUntil === null ? null : isoSeconds(a.snoozedUntil)],
    ["resolved_at", isoSeconds(a.resolvedAt)],
    ["count", `${a.anomalousCount} anomalous bucket${a.anomalousCount === 1 ? "" : "s"}`],
    ["runbook", typeof a.details.runbook === "string" && a.details.runbook ? a.details.runbook : null],
  ];
  const shown = fields.filter((f): f is [string, string] => f[1] !== null);
  const width = Math.max(...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
}

export function alertDetailText(d: AlertDetail): string {
  const a = d.alert;
  const out = [`#${a.id} ${a.state} · ${a.severity} · ${seriesLabel(a.metric, a.series)}`, "", ...fieldLines(a), "", "history:"];
  out.push(
    d.history.length === 0
      ? "  (none)"
      : textTable(
          ["  AT", "CHANGE", "BY", "NOTE"],
          d.history.map((h) => [`  ${isoSeconds(h.at)}`, `${h.from ?? "-"} → ${h.to}`, h.actor, h.note]),
        ),
  );
  out.push("", "messages (newest first):");
  out.push(
    d.messages.length === 0
      ? "  (none sent or queued)"
      : textTable(
          ["  AT", "KIND", "CHANNEL", "STATUS"],
          d.messages.map((m) => [
            `  ${isoSeconds(m.createdAt)}`,
            m.kind,
            m.channel,
            m.status === "dead" && m.lastError ? `dead: ${m.lastError}` : m.status,
          ]),
        ),
  );
  const latest = d.messages[0];
  if (latest) {
    out.push("", `latest message (${latest.kind} to ${latest.channel}, ${isoSeconds(latest.createdAt)}):`);
    out.push(
      ...notificationText(latest.payload)
        .split("\n")
        .map((l) => `  ${l}`),
    );
  }
  return out.join("\n");
}
