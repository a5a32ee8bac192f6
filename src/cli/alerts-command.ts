/** `vigil alerts [--json] [--state STATE]` lists alerts; `vigil alerts ID [--json]` shows one. */
import { parseAlertId } from "../actions.js";
import { errorText } from "../log.js";
import type { Alert, AlertState } from "../model/alert.js";
import { fmtNum } from "../model/format.js";
import { alertDetailJson, alertDetailText, isoSeconds } from "./alert-detail.js";
import { withState } from "./state-access.js";
import { textTable } from "./text-table.js";

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
    isoSeconds(a.startedAt),
    fmtNum(a.value),
  ]);
  return textTable(head, rows);
}

const print = (json: boolean, value: unknown, text: string) =>
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);

export async function alertsCommand(
  configPath: string,
  opts: { json: boolean; state?: AlertState; limit: number; id?: string },
): Promise<number> {
  const fail = (code: number, message: string): number => {
    process.stderr.write(`vigil alerts: ${message}\n`);
    return code;
  };
  const id = opts.id === undefined ? null : parseAlertId(opts.id);
  if (opts.id !== undefined && id === null) return fail(2, `not an alert id: '${opts.id}'`);
  if (id !== null && opts.state) return fail(2, "--state lists alerts; it does not go with an alert id");
  try {
    return await withState(configPath, async ({ store }) => {
      if (id === null) {
        const alerts = await store.listAlerts({ state: opts.state, limit: opts.limit });
        print(opts.json, alerts.map(alertJson), alerts.length ? alertsTable(alerts) : "no alerts");
        return 0;
      }
      const alert = await store.getAlert(id);
      if (alert === null) return fail(1, `no alert #${id}`);
      const detail = { alert: { ...alert, id }, history: await store.history(id), messages: await store.deliveriesAbout(id) };
      print(opts.json, { ...alertJson(alert), ...alertDetailJson(detail) }, alertDetailText(detail));
      return 0;
    });
  } catch (err) {
    return fail(1, errorText(err));
  }
}
