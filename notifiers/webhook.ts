/**
 * The webhook channel: POSTs one JSON object per alert state change, with an Idempotency-Key header
 * unique per delivery, so a receiver can drop the one duplicate a crash mid-send may cause.
 */
import type { Notification } from "../src/model/notification.js";
import { httpStatusError, networkError, redirectError } from "./http-error.js";
import type { Notifier, NotifierFactory, SendContext, SendResult } from "./notifier.js";

const TIMEOUT_MS = 10_000;

export function webhookBody(n: Notification): Record<string, unknown> {
  if (n.type === "text") return { type: "text", title: n.title, text: n.text, at: new Date(n.at).toISOString() };
  // Webhooks are never sent groups (see notify-plan), but stay total over the union.
  if (n.type === "group") return { type: "group", metric: n.metric, alerts: n.alerts.map((a) => webhookBody(a)) };
  const a = n.alert;
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    id: a.id,
    fingerprint: a.fingerprint,
    state: a.state,
    previous_state: n.previousState,
    event: n.event,
    kind: a.kind,
    metric: a.metric,
    series: a.series,
    detector: a.detector,
    severity: a.severity,
    value: a.value,
    expected: a.expected,
    lower: a.lower,
    upper: a.upper,
    sigmas: a.sigmas,
    reason: a.reason,
    bucket: iso(a.bucket),
    started_at: iso(a.startedAt),
    at: iso(n.at),
    actor: n.actor,
    url: a.details.runbook ?? null,
  };
}

export const createWebhookNotifier: NotifierFactory = (channel, config, deps): Notifier => {
  if (config.type !== "webhook") throw new Error(`channel '${channel}' is not a webhook`);
  return {
    channel,
    type: "webhook",
    async send(n: Notification, ctx: SendContext): Promise<SendResult> {
      let res: Response;
      try {
        res = await fetch(config.url, {
          method: "POST",
          headers: { "content-type": "application/json", "idempotency-key": ctx.key, ...config.headers },
          body: JSON.stringify(webhookBody(n)),
          signal: AbortSignal.timeout(deps.httpTimeoutMs ?? TIMEOUT_MS),
          // A followed 301 turns the POST into an empty GET, and a 307 elsewhere would carry the headers there.
          redirect: "manual",
        });
      } catch (err) {
        throw networkError(`webhook ${channel}`, err);
      }
      const text = await res.text().catch(() => "");
      if (res.status >= 300 && res.status < 400) throw redirectError(`webhook ${channel}`, res.status, res.headers.get("location"));
      if (!res.ok) throw httpStatusError(`webhook ${channel}`, res.status, text, res.headers.get("retry-after"));
      return {};
    },
  };
};
