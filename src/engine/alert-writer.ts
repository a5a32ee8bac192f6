/**
 * Storing a metric's alert changes: the alerts, their events and the deliveries they cause, with
 * the metric's watermark, in one transaction; and the meta-alerts about vigil itself.
 */
import type { Clock } from "../clock.js";
import type { MetricConfig, VigilConfig } from "../config/types.js";
import { type Alert, type AlertEvent, fingerprintOf } from "../model/alert.js";
import { clearMeta, type Identity, type Outcome, raiseMeta } from "../model/lifecycle.js";
import type { ChartData } from "../model/notification.js";
import { type Silence, silencedBy } from "../model/silence.js";
import { activeMute } from "../notify/mute.js";
import { eventMessages, FLAP_OPENS, FLAP_WINDOW_MS, planDeliveries } from "../notify/plan.js";
import { channelsFor } from "../notify/routing.js";
import type { StateStore } from "../store/state-store.js";
import { type AlertContext, type AlertHistory, NO_HISTORY } from "./alert-context.js";
import type { MetricReport } from "./reports.js";

type StoredOutcome = Outcome & { alert: Alert };

/** Whether any event of the outcome notifies one of `kinds`. */
function notifies(o: Outcome, ...kinds: string[]): boolean {
  return o.events.some((e) => e.notify !== null && kinds.includes(e.notify));
}

export class AlertWriter {
  constructor(
    private readonly store: StateStore,
    private readonly clock: Clock,
    private readonly config: () => VigilConfig,
    private readonly context: AlertContext,
  ) {}

  /** Store a metric's outcomes (and its watermark, unless null); the events that notify are added to `report`. */
  async persist(
    m: MetricConfig,
    outcomes: readonly Outcome[],
    watermark: number | null,
    report: MetricReport,
    silences: readonly Silence[],
  ): Promise<void> {
    const now = this.clock.now();
    const toStore = outcomes.filter((o): o is StoredOutcome => o.alert !== null);
    const firing = toStore.filter((o) => notifies(o, "firing"));
    const flaps = await this.flapsOf(toStore, firing, now);
    const load = firing.length > 0 ? await this.store.channelLoad(now) : new Map();
    const config = this.config();
    const muted = activeMute([...m.mute, ...config.mute], now, config.timezone) !== undefined;
    const history = await this.historyFor(m, toStore, watermark);
    await this.context.addAll(m, firing, history);
    const charts = muted ? undefined : this.chartsFor(m, toStore, history, silences);
    if (toStore.length === 0 && watermark === null) return;
    await this.store.commit(async (uow) => {
      const { events } = await uow.saveOutcomes(toStore.map((o) => ({ alert: o.alert, events: o.events })));
      for (const e of events) if (e.event.notify) report.events.push({ alert: e.alert, event: e.event });
      await uow.enqueue(planDeliveries(events, { config: this.config(), metric: m, now, silences, muted, load, ...flaps, charts }));
      // All series of a metric share its bucket grid, so one watermark per metric is enough.
      if (watermark !== null) await uow.saveWatermarks([{ metric: m.name, series: "", watermark }]);
    });
  }

  /** The chart of each firing or reminder event whose message may carry one: replayed before the transaction, not in it. */
  private chartsFor(m: MetricConfig, toStore: readonly StoredOutcome[], history: AlertHistory, silences: readonly Silence[]) {
    const config = this.config();
    const charts = new Map<AlertEvent, ChartData | null>();
    for (const o of toStore) {
      if (o.alert.kind !== "metric" || silencedBy(silences, o.alert.metric, o.alert.series)) continue;
      // webhooks carry no chart: a metric notifying only webhooks needs none
      if (channelsFor(config, m.notify, o.alert.severity).every((c) => config.channels[c]?.type === "webhook")) continue;
      for (const e of o.events)
        if (e.notify === "firing" || e.notify === "reminder") charts.set(e, this.context.chartFor(m, e.snapshot ?? o.alert, history));
    }
    return charts;
  }

  /** Flapping: how often each notifying fingerprint opened in the window (an opening counts itself), and those already noticed. */
  private async flapsOf(toStore: readonly StoredOutcome[], firing: readonly StoredOutcome[], now: number) {
    const notifying = toStore.filter((o) => o.alert.kind === "metric" && notifies(o, "firing", "resolved"));
    const opens = await this.store.opensSince(
      notifying.map((o) => o.alert.fingerprint),
      now - FLAP_WINDOW_MS,
    );
    for (const o of firing) {
      const opensNow = o.events.some((e) => e.notify === "firing" && (e.from === null || e.from === "pending"));
      if (opensNow) opens.set(o.alert.fingerprint, (opens.get(o.alert.fingerprint) ?? 0) + 1);
    }
    const flapping = [...opens].filter(([, k]) => k > FLAP_OPENS).map(([fp]) => fp);
    const flapNoticed = await this.store.flapNoticesSince(flapping, now - FLAP_WINDOW_MS);
    return { opens, flapNoticed };
  }

  /** Charts and "same time last week" for what notifies now (firing, reminders), each at its own bucket. */
  private async historyFor(m: MetricConfig, toStore: readonly StoredOutcome[], watermark: number | null): Promise<AlertHistory> {
    const told = toStore.flatMap((o) =>
      o.alert.kind === "metric"
        ? o.events.filter((e) => e.notify === "firing" || e.notify === "reminder").map((e) => e.snapshot ?? o.alert)
        : [],
    );
    return told.length > 0 && watermark !== null ? this.context.history(m, told, watermark) : NO_HISTORY;
  }

  /**
   * Raise (on = true) or clear a meta-alert about vigil itself: `config`, `delivery`, `no_data`...
   * It goes through the same lifecycle and outbox as metric alerts.
   */
  async meta(kind: string, on: boolean, reason: string, subject: string, excludeChannel?: string): Promise<void> {
    const fp = fingerprintOf(subject, "", kind);
    const current = (await this.store.openAlerts()).find((a) => a.fingerprint === fp) ?? null;
    const now = this.clock.now();
    const id: Identity = { fingerprint: fp, kind: "meta", metric: subject, series: "", detector: kind, details: {} };
    const out = on ? raiseMeta(current, id, reason, now) : clearMeta(current, now, reason);
    if (!out.alert || (out.events.length === 0 && !on)) return;
    // A channel that cannot deliver is not told about itself: the others are.
    const channels = this.metaChannels().filter((c) => c !== excludeChannel);
    await this.store.commit(async (uow) => {
      const stored = (await uow.saveOutcomes([{ alert: out.alert!, events: out.events }])).events;
      await uow.enqueue(stored.flatMap((s) => (s.event.notify ? eventMessages(s, channels) : [])));
    });
  }

  /** Meta-alerts go to the default channels and the critical ones; to every channel if none is set. */
  private metaChannels(): string[] {
    const config = this.config();
    const chosen = channelsFor(config, config.defaults.notify, "critical");
    return chosen.length > 0 ? chosen : Object.keys(config.channels);
  }
}
