/** `vigil alerts [--json] [--state STATE]`. */
import { fmtNum } from "../delivery/format.js";
import type { Alert, AlertState } from "../engine/alert.js";
import { errorText, } from "../log.js";
import { migrate } from "../store/migrations.js";
import { StateStore } from "../store/state-store.js";
import { openStateDatabase } from "./state-access.js";

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function alertJson(a: Alert) {
  return {
    id: a.id,
    metric: a.metric,
    series: a.series,
    detector: a.detector,
    kind: a.kind,
    state: a.state,
    severity: a.severity,
    started_at: iso(a.startedAt),
    fired_at: iso(a.firedAt),
    resolved_at: iso(a.resolvedAt),
    snoozed_until: iso(a.snoozedUntil),
    acted_by: a.actedBy,
    value: a.value,
    expected: a.expected,
    lower: a.lower,
    upper: a.upper,
    sigmas: a.sigmas,
    reason: a.reason,
    bucket: iso(a.bucket),
    count: a.anomalousCount,
  };
}

export function alertsTable(alerts: readonly Alert[]): string {
  const head = ["ID", "METRIC", "SERIES", "DETECTOR", "STATE", "SEVERITY", "STARTED_AT", "VALUE"];
  const rows = alerts.map((a) => [
    `#${a.id}`,
    a.metric,
    a.series || "-",
    a.detector,
    a.state,
    a.severity,
    new Date(a.startedAt).toISOString().replace(/\.\d+Z$/, "Z"),
    fmtNum(a.value),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n");
}

export async function alertsCommand(
  configPath: string,
  opts: { json: boolean; state?: AlertState; limit: number },
): Promise<number> {
  try {
    const db = await openStateDatabase(configPath);
    try {
      await migrate(db);
      const alerts = await new StateStore(db).listAlerts({ state: opts.state, limit: opts.limit });
      if (opts.json) process.stdout.write(`${JSON.stringify(alerts.map(alertJson), null, 2)}\n`);
      else process.stdout.write(alerts.length ? `${alertsTable(alerts)}\n` : "no alerts\n");
    } finally {
      await db.close();
    }
    return 0;
  } catch (err) {
    process.stderr.write(`vigil alerts: ${errorText(err)}\n`);
    return 1;
  }
}
