/**
 * Turns one tick's alert events into deliveries, applying the noise controls an on-call engineer
 * expects: silences and mute windows (state changes, nothing is sent), grouping (several series of
 * one metric opened in one tick go out as one message), storm collapse (more than `storm_limit` new
 * alerts for a channel within a minute become one summary) and flapping (an alert that keeps
 * opening and closing is reported once, then kept quiet). Webhooks get every event, ungrouped:
 * machines want the full stream. A channel's deliveries are queued in the order the events
 * happened, so that a tick judging several buckets sends an alert's FIRING before its RESOLVED.
 */
import { silencedBy } from "../actions.js";
import type { MetricConfig, VigilConfig } from "../config/types.js";
import type { Alert, AlertEvent } from "../model/alert.js";
import { fmtNum, seriesLabel } from "../model/format.js";
import type { AlertNotification, ChartData, GroupNotification, TextNotification } from "../model/notification.js";
import type { Silence } from "../model/silence.js";
import type { DeliveryDraft } from "../store/state-store.js";
import { channelsFor, sendsResolved } from "./routing.js";

export interface StoredEvent {
  alert: Alert & { id: number };
  event: AlertEvent;
  historyId: number;
}

export interface ChannelLoad {
  /** New alerts notified on the channel in the last minute. */
  alerts: number;
  /** Whether a storm summary already went out in that minute. */
  stormSent: boolean;
}

export interface PlanContext {
  config: VigilConfig;
  metric: Pick<MetricConfig, "name" | "notify">;
  now: number;
  silences: readonly Silence[];
  muted: boolean;
  load: ReadonlyMap<string, ChannelLoad>;
  /** Opens of each fingerprint in the flapping window, for alerts that fire in this tick. */
  opens: ReadonlyMap<string, number>;
  /** Fingerprints whose flapping notice already went out within the flapping window. */
  flapNoticed: ReadonlySet<string>;
  chartFor?: (alert: Alert) => ChartData | null;
}

/** More opens than this within FLAP_WINDOW_MS make a fingerprint "flapping". */
export const FLAP_OPENS = 4;
export const FLAP_WINDOW_MS = 24 * 3_600_000;

function alertPayload(s: StoredEvent, chart: ChartData | null | undefined): AlertNotification {
  const n: AlertNotification = {
    type: "alert",
    event: s.event.notify ?? "update",
    alert: s.alert,
    previousState: s.event.from,
    actor: s.event.actor,
    note: s.event.note,
    at: s.alert.updatedAt,
  };
  if (chart) n.chart = chart;
  return n;
}

/** Channels that draw an alert's chart; the others would only store its points in the outbox. */
const DRAWS_CHARTS = new Set(["telegram", "slack"]);

const isOpening = (e: AlertEvent) => e.notify === "firing" && (e.from === null || e.from === "pending");

/**
 * Events in the order they happened: each alert's own are in order already, but a tick judges one
 * series after another, so across alerts the bucket of each event decides (stable for equal ones).
 */
function inOrder(events: readonly StoredEvent[]): StoredEvent[] {
  const when = (s: StoredEvent) => s.alert.bucket ?? Number.POSITIVE_INFINITY;
  return [...events].sort((a, b) => when(a) - when(b));
}

export function planDeliveries(events: readonly StoredEvent[], ctx: PlanContext): DeliveryDraft[] {
  const { config } = ctx;
  // null: the place of a channel's alerts opened in this tick, filled once all of them are known
  const out: Array<DeliveryDraft | null> = [];
  const firingByChannel = new Map<string, { at: number; list: StoredEvent[] }>();
  const minute = Math.floor(ctx.now / 60_000);
  for (const s of inOrder(events)) {
    const notify = s.event.notify;
    if (!notify) continue;
    if (ctx.muted || silencedBy(ctx.silences, s.alert.metric, s.alert.series)) continue;
    const opens = ctx.opens.get(s.alert.fingerprint) ?? 0;
    const flapping = s.alert.kind === "metric" && opens > FLAP_OPENS;
    for (const channel of channelsFor(config, ctx.metric.notify, s.alert.severity)) {
      const type = config.channels[channel]?.type;
      if (notify === "resolved" && !sendsResolved(config, channel)) continue;
      if (flapping) {
        // One notice per flapping episode; the alert's own events stay quiet.
        if (isOpening(s.event) && !ctx.flapNoticed.has(s.alert.fingerprint)) {
          const notice: TextNotification = {
            type: "text",
            title: `〰️ FLAPPING ${seriesLabel(s.alert.metric, s.alert.series)}`,
            text: `opened ${opens} times in the last 24h (${s.alert.detector}); further alerts for it are not sent until it settles. Latest: #${s.alert.id}, ${fmtNum(s.alert.value)} vs expected ${fmtNum(s.alert.expected)}.`,
            at: ctx.now,
          };
          out.push({ channel, kind: "flapping", payload: notice, key: `flap:${s.historyId}:${channel}`, fingerprint: s.alert.fingerprint });
        }
        continue;
      }
      if (notify === "firing" && s.alert.kind === "metric" && type !== "webhook") {
        // They go out at the first one's place: ahead of any later change of them in this tick.
        const opened = firingByChannel.get(channel);
        if (opened) opened.list.push(s);
        else {
          firingByChannel.set(channel, { at: out.length, list: [s] });
          out.push(null);
        }
        continue;
      }
      const chart =
        (notify === "firing" || notify === "reminder") && type !== undefined && DRAWS_CHARTS.has(type) ? ctx.chartFor?.(s.alert) : null;
      out.push({ channel, kind: notify, payload: alertPayload(s, chart), key: `${s.historyId}:${channel}` });
    }
  }
  const limit = config.defaults.storm_limit;
  for (const [channel, { at, list }] of firingByChannel) {
    const load = ctx.load.get(channel) ?? { alerts: 0, stormSent: false };
    if (load.alerts + list.length > limit) {
      if (load.stormSent) continue; // the summary for this minute is out; /status lists the rest
      const worst = [...list].sort((a, b) => Math.abs(b.alert.sigmas ?? 0) - Math.abs(a.alert.sigmas ?? 0)).slice(0, 5);
      const storm: TextNotification = {
        type: "text",
        title: `🌩️ ALERT STORM: ${load.alerts + list.length} new alerts in the last minute`,
        text: [
          `More than ${limit} alerts opened for this channel within a minute; they are collapsed into this message. Worst:`,
          ...worst.map(
            (s) =>
              `#${s.alert.id} ${seriesLabel(s.alert.metric, s.alert.series)}: ${fmtNum(s.alert.value)} vs expected ${fmtNum(s.alert.expected)}`,
          ),
          "See all open alerts with /status (or `vigil alerts`).",
        ].join("\n"),
        at: ctx.now,
      };
      out[at] = { channel, kind: "storm", payload: storm, key: `storm:${minute}:${channel}` };
      continue;
    }
    if (list.length === 1) {
      const s = list[0]!;
      out[at] = { channel, kind: "firing", payload: alertPayload(s, ctx.chartFor?.(s.alert)), key: `${s.historyId}:${channel}` };
      continue;
    }
    const group: GroupNotification = {
      type: "group",
      metric: ctx.metric.name,
      alerts: list.map((s) => alertPayload(s, null)),
      at: ctx.now,
    };
    out[at] = { channel, kind: "group", payload: group, key: `g${list[0]!.historyId}:${channel}` };
  }
  return out.filter((d): d is DeliveryDraft => d !== null);
}
