/**
 * Turns one tick's alert events into deliveries, applying the noise controls an on-call engineer
 * expects: silences and mute windows (state changes, nothing is sent), grouping (several series of
 * one metric opened in one tick go out as one message), storm collapse (more than `storm_limit` new
 * alerts for a channel within a minute become one summary) and flapping (an alert that keeps
 * opening and closing is reported once, then kept quiet). Webhooks get every event, ungrouped:
 * machines want the full stream. A channel's deliveries are queued in the order the events
 * happened, so that a tick judging several buckets sends an alert's FIRING before its RESOLVED.
 */

import { drawsCharts } from "../../notifiers/registry.js";
import type { MetricConfig, VigilConfig } from "../config/types.js";
import type { AlertEvent, StoredEvent } from "../model/alert.js";
import { fmtNum, seriesLabel } from "../model/format.js";
import {
  alertNotification,
  type ChartData,
  type DeliveryDraft,
  type GroupNotification,
  type TextNotification,
} from "../model/notification.js";
import { type Silence, silencedBy } from "../model/silence.js";
import { channelsFor, sendsResolved } from "./routing.js";

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
  /** Charts made before the plan (outside any transaction), by the event whose message carries them. */
  charts?: ReadonlyMap<AlertEvent, ChartData | null>;
}

/** More opens than this within FLAP_WINDOW_MS make a fingerprint "flapping". */
export const FLAP_OPENS = 4;
export const FLAP_WINDOW_MS = 24 * 3_600_000;

/** One stored event told, as it is, to each of `channels` (chat edits, meta-alerts). */
export function eventMessages(s: StoredEvent, channels: readonly string[]): DeliveryDraft[] {
  const payload = alertNotification(s);
  return channels.map((channel) => ({ channel, kind: s.event.notify ?? "update", payload, key: `${s.historyId}:${channel}` }));
}

const isOpening = (e: AlertEvent) => e.notify === "firing" && (e.from === null || e.from === "pending");

/**
 * Events in the order they happened: each alert's own are in order already, but a tick judges one
 * series after another, so across alerts the bucket of each event decides (stable for equal ones).
 */
function inOrder(events: readonly StoredEvent[]): StoredEvent[] {
  const when = (s: StoredEvent) => s.alert.bucket ?? Number.POSITIVE_INFINITY;
  return [...events].sort((a, b) => when(a) - when(b));
}

/** Stage 1, silence and mute: state changes stand, no message goes out. */
function suppressed(s: StoredEvent, ctx: PlanContext): boolean {
  return ctx.muted || silencedBy(ctx.silences, s.alert.metric, s.alert.series) !== undefined;
}

/** Stage 2, flapping: one notice per flapping episode on the alert's opening, its own events quiet. */
function flapNotice(s: StoredEvent, opens: number, channel: string, ctx: PlanContext): DeliveryDraft | null {
  if (!isOpening(s.event) || ctx.flapNoticed.has(s.alert.fingerprint)) return null;
  const notice: TextNotification = {
    type: "text",
    title: `〰️ FLAPPING ${seriesLabel(s.alert.metric, s.alert.series)}`,
    text: `opened ${opens} times in the last 24h (${s.alert.detector}); further alerts for it are not sent until it settles. Latest: #${s.alert.id}, ${fmtNum(s.alert.value)} vs expected ${fmtNum(s.alert.expected)}.`,
    at: ctx.now,
  };
  return { channel, kind: "flapping", payload: notice, key: `flap:${s.historyId}:${channel}`, fingerprint: s.alert.fingerprint };
}

function stormSummary(list: readonly StoredEvent[], load: ChannelLoad, limit: number, now: number): TextNotification {
  const worst = [...list].sort((a, b) => Math.abs(b.alert.sigmas ?? 0) - Math.abs(a.alert.sigmas ?? 0)).slice(0, 5);
  return {
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
    at: now,
  };
}

/**
 * Stage 4, storm and group: a channel's alerts opened in this tick become one message (a storm
 * summary over `storm_limit` a minute, nothing once that summary is out), or stay one alert.
 */
function openedMessage(channel: string, list: readonly StoredEvent[], ctx: PlanContext): DeliveryDraft | null {
  const limit = ctx.config.defaults.storm_limit;
  const load = ctx.load.get(channel) ?? { alerts: 0, stormSent: false };
  if (load.alerts + list.length > limit) {
    if (load.stormSent) return null; // the summary for this minute is out; /status lists the rest
    const minute = Math.floor(ctx.now / 60_000);
    return { channel, kind: "storm", payload: stormSummary(list, load, limit, ctx.now), key: `storm:${minute}:${channel}` };
  }
  if (list.length === 1) {
    const s = list[0]!;
    return { channel, kind: "firing", payload: alertNotification(s, ctx.charts?.get(s.event)), key: `${s.historyId}:${channel}` };
  }
  const group: GroupNotification = {
    type: "group",
    metric: ctx.metric.name,
    alerts: list.map((s) => alertNotification(s, null)),
    at: ctx.now,
  };
  return { channel, kind: "group", payload: group, key: `g${list[0]!.historyId}:${channel}` };
}

/** The stages in order: silence and mute → flapping → route (channels, send_resolved) → storm and group. */
export function planDeliveries(events: readonly StoredEvent[], ctx: PlanContext): DeliveryDraft[] {
  const { config } = ctx;
  // null: the place of a channel's alerts opened in this tick, filled once all of them are known
  const out: Array<DeliveryDraft | null> = [];
  const openedByChannel = new Map<string, { at: number; list: StoredEvent[] }>();
  for (const s of inOrder(events)) {
    const notify = s.event.notify;
    if (!notify || suppressed(s, ctx)) continue;
    const opens = ctx.opens.get(s.alert.fingerprint) ?? 0;
    const flapping = s.alert.kind === "metric" && opens > FLAP_OPENS;
    for (const channel of channelsFor(config, ctx.metric.notify, s.alert.severity)) {
      const type = config.channels[channel]?.type;
      if (notify === "resolved" && !sendsResolved(config, channel)) continue;
      if (flapping) {
        const notice = flapNotice(s, opens, channel, ctx);
        if (notice) out.push(notice);
        continue;
      }
      if (notify === "firing" && s.alert.kind === "metric" && type !== "webhook") {
        // They go out at the first one's place: ahead of any later change of them in this tick.
        const opened = openedByChannel.get(channel);
        if (opened) opened.list.push(s);
        else {
          openedByChannel.set(channel, { at: out.length, list: [s] });
          out.push(null);
        }
        continue;
      }
      const chart = (notify === "firing" || notify === "reminder") && drawsCharts(type) ? ctx.charts?.get(s.event) : null;
      out.push({ channel, kind: notify, payload: alertNotification(s, chart), key: `${s.historyId}:${channel}` });
    }
  }
  for (const [channel, { at, list }] of openedByChannel) out[at] = openedMessage(channel, list, ctx);
  return out.filter((d): d is DeliveryDraft => d !== null);
}
