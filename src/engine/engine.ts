/**
 * The engine: one evaluation of a set of metrics = fetch the newly closed buckets, run the
 * detectors, apply the alert policy and lifecycle, and store the result together with the
 * deliveries it causes (one transaction per metric). It owns no timers: the scheduler calls it.
 */
import { DEFAULT_DETECTORS, getDetector } from "../../detectors/registry.js";
import { type Point, runBatch, type Verdict } from "../../detectors/types.js";
import type { Clock } from "../clock.js";
import type { MetricConfig, VigilConfig } from "../config/types.js";
import type { AlertNotification, ChartData, ChartRow } from "../delivery/notification.js";
import type { VigilMetrics } from "../http/metrics.js";
import type { Logger } from "../log.js";
import { scrubSecrets } from "../log.js";
import { activeMute } from "../mute.js";
import { AlertConflictError, type Silence, type StateStore } from "../store/state-store.js";
import { type Alert, type AlertEvent, fingerprintOf } from "./alert.js";
import { type FetchedSeries, type Fetcher, type FetchResult, type GroupFetcher, groupKey, lastClosedBucket } from "./fetcher.js";
import { clearMeta, type Identity, type LifecyclePolicy, observe, onTime, type Outcome, raiseMeta } from "./lifecycle.js";
import { passesPolicy } from "./policy.js";
import { describeDriver, type Driver } from "./root-cause.js";
import { FLAP_OPENS, FLAP_WINDOW_MS, planDeliveries } from "./notify-plan.js";
import { channelsFor } from "./routing.js";
import { type DetectorInstance, SeriesRuntime } from "./series-runtime.js";

export interface EngineDeps {
  store: StateStore;
  fetch: Fetcher;
  /** Reads metrics that share a scan with one query; absent = every metric is read on its own. */
  fetchGroup?: GroupFetcher;
  clock: Clock;
  log: Logger;
  metrics: VigilMetrics;
  /** Drill-down by `dimensions` for a firing alert (root cause); absent = no drill-down. */
  drill?: (metric: MetricConfig, bucket: number, filter: Record<string, string>) => Promise<Driver[]>;
  /** Sees every judged point's verdicts (backtests, tests); absent in production, so it costs nothing. */
  onJudged?: (metric: string, series: string, point: Point, verdicts: readonly Verdict[], anomalous: readonly boolean[]) => void;
}

export interface MetricReport {
  metric: string;
  ok: boolean;
  error?: string;
  series: number;
  points: number;
  anomalies: number;
  events: Array<{ alert: Alert & { id: number }; event: AlertEvent }>;
}

export interface TickReport {
  metrics: MetricReport[];
  failed: string[];
}

interface MetricRuntime {
  config: MetricConfig;
  signature: string;
  detectors: DetectorInstance[];
  series: Map<string, SeriesRuntime>;
  /** Start of the last judged bucket; null until the first evaluation. */
  watermark: number | null;
  /** Buckets up to here warm the detectors up and are not judged (set on first sight). */
  warmUntil: number | null;
  /** Still loading history (first sight), possibly over several passes. */
  loading: boolean;
}

/** How many recent points ride along in a notification for the chart. */
const CHART_POINTS = 336;
const WEEK_MS = 7 * 86_400_000;

/** A metric's window for one tick: read buckets from..lastClosed, judge those after judgeAfter. */
interface WindowPlan {
  now: number;
  lastClosed: number;
  from: number;
  judgeAfter: number;
  /** Part of the first sight of this metric in this process (history load). */
  fresh: boolean;
  /** More buckets are due after lastClosed: another pass follows (history load in chunks). */
  partial: boolean;
}

/** A history load reads this many buckets per metric per pass. */
const CHUNK_BUCKETS = 576;

/** A metric whose tick changed no alert: only its watermark is stored, with the others'. */
interface QuietWrite {
  metric: string;
  watermark: number;
}

export function buildDetectors(m: MetricConfig): DetectorInstance[] {
  const configured = m.detectors.length > 0 ? m.detectors : DEFAULT_DETECTORS;
  const seen = new Map<string, number>();
  return configured.map((dc) => {
    const def = getDetector(dc.type);
    if (!def) throw new Error(`metric ${m.name}: unknown detector type '${dc.type}'`);
    const { type: _type, ...rest } = dc;
    const raw: Record<string, unknown> = rest;
    // Detectors that reason about time get the metric's bucket size unless the config says otherwise.
    if ("granularity_ms" in def.params.shape && raw.granularity_ms === undefined) raw.granularity_ms = m.granularityMs;
    const params = def.params.parse(raw);
    const n = (seen.get(dc.type) ?? 0) + 1;
    seen.set(dc.type, n);
    const family = def.family ?? dc.type;
    return { family: n === 1 ? family : `${family}#${n}`, type: dc.type, def, params };
  });
}

function policyOf(m: MetricConfig): LifecyclePolicy {
  return { for: m.for, resolveAfter: m.resolveAfter, severity: m.severity, repeatEveryMs: m.repeatEveryMs };
}

export class Engine {
  private config: VigilConfig;
  private readonly runtimes = new Map<string, MetricRuntime>();
  /** (metric, series, kind) data problems already logged, so each is logged once. */
  private readonly loggedIssues = new Set<string>();

  constructor(
    config: VigilConfig,
    private readonly deps: EngineDeps,
  ) {
    this.config = config;
  }

  /** Swap the config between ticks; changed metrics rebuild their state from stored history. */
  setConfig(config: VigilConfig): void {
    const names = new Set(config.metrics.map((m) => m.name));
    for (const name of [...this.runtimes.keys()]) if (!names.has(name)) this.runtimes.delete(name);
    for (const m of config.metrics) {
      const rt = this.runtimes.get(m.name);
      if (rt && rt.signature !== JSON.stringify(m)) this.runtimes.delete(m.name);
      else if (rt) rt.config = m;
    }
    this.config = config;
  }

  getConfig(): VigilConfig {
    return this.config;
  }

  /** Recent history of one series (for charts, backtests and commands). */
  seriesHistory(metric: string, series: string, last = CHART_POINTS): Point[] {
    return this.runtimes.get(metric)?.series.get(series)?.history.toArray(last) ?? [];
  }

  /** Evaluate the named metrics (all when omitted), one after another. */
  async evaluate(names?: readonly string[]): Promise<TickReport> {
    const wanted = names ? new Set(names) : null;
    const report: TickReport = { metrics: [], failed: [] };
    const chosen = this.config.metrics.filter((m) => !wanted || wanted.has(m.name));
    // Open alerts are read fresh each tick (chat actions change them) and once for all metrics.
    const openByMetric = new Map<string, Alert[]>();
    let silences: Silence[] = [];
    try {
      silences = await this.deps.store.activeSilences(this.deps.clock.now());
      for (const a of await this.deps.store.openAlerts()) {
        const list = openByMetric.get(a.metric) ?? [];
        list.push(a);
        openByMetric.set(a.metric, list);
      }
    } catch (err) {
      const error = scrubSecrets(err instanceof Error ? err.message : String(err));
      this.deps.log.error({ err: error }, "cannot read alert state");
      for (const m of chosen) {
        report.metrics.push({ metric: m.name, ok: false, error, series: 0, points: 0, anomalies: 0, events: [] });
        report.failed.push(m.name);
      }
      return report;
    }
    // Passes: a steady tick is one pass. A history load is cut into chunks of CHUNK_BUCKETS buckets,
    // all metrics stepping through one chunk per pass, so that memory stays bounded by a chunk
    // instead of growing with lookback × series (the detectors keep their state between chunks).
    const reports = new Map<string, MetricReport>();
    let pending = chosen;
    for (let pass = 0; pending.length > 0; pass++) {
      if (pass > 0) {
        // Earlier passes may have stored alerts: read them again so that they are updated, not duplicated.
        try {
          openByMetric.clear();
          for (const a of await this.deps.store.openAlerts()) {
            const list = openByMetric.get(a.metric) ?? [];
            list.push(a);
            openByMetric.set(a.metric, list);
          }
        } catch (err) {
          const error = scrubSecrets(err instanceof Error ? err.message : String(err));
          for (const m of pending) {
            this.runtimes.delete(m.name);
            const r = reports.get(m.name);
            if (r) Object.assign(r, { ok: false, error });
          }
          break;
        }
      }
      // Decide every metric's window first, so that metrics sharing a scan can be read by one query.
      const plans = new Map<string, WindowPlan>();
      const planErrors = new Map<string, string>();
      for (const m of pending) {
        try {
          plans.set(m.name, await this.planWindow(m));
        } catch (err) {
          planErrors.set(m.name, scrubSecrets(err instanceof Error ? err.message : String(err)));
        }
      }
      const fetch = this.groupedFetch(pending, plans);
      // Ticks that change no alert only move the watermark: those are written together at the end.
      const quiet: QuietWrite[] = [];
      const again: MetricConfig[] = [];
      for (const m of pending) {
        let r: MetricReport;
        let partial = false;
        try {
          const planError = planErrors.get(m.name);
          if (planError !== undefined) throw new Error(planError);
          try {
            const plan = plans.get(m.name)!;
            partial = plan.partial;
            r = await this.evaluateMetric(m, openByMetric.get(m.name) ?? [], silences, plan, fetch, quiet);
          } catch (err) {
            if (!(err instanceof AlertConflictError)) throw err;
            // Someone acted on an alert of this metric mid-tick: nothing was stored, redo it on fresh state.
            this.deps.log.info({ metric: m.name, alert: err.alertId }, "alert changed during the tick; re-evaluating");
            const fresh = (await this.deps.store.openAlerts()).filter((a) => a.metric === m.name);
            const plan = await this.planWindow(m);
            partial = plan.partial;
            r = await this.evaluateMetric(m, fresh, silences, plan, this.deps.fetch, quiet);
          }
        } catch (err) {
          // The state database failed under this metric: report it, go on with the others.
          const error = scrubSecrets(err instanceof Error ? err.message : String(err));
          this.deps.log.error({ metric: m.name, err: error }, "evaluation failed");
          r = { metric: m.name, ok: false, error, series: 0, points: 0, anomalies: 0, events: [] };
        }
        const prev = reports.get(m.name);
        reports.set(
          m.name,
          prev
            ? {
                metric: m.name,
                ok: prev.ok && r.ok,
                ...(r.error ?? prev.error ? { error: r.error ?? prev.error } : {}),
                series: Math.max(prev.series, r.series),
                points: prev.points + r.points,
                anomalies: prev.anomalies + r.anomalies,
                events: [...prev.events, ...r.events],
              }
            : r,
        );
        if (r.ok && partial) again.push(m);
      }
      if (quiet.length > 0) await this.writeQuiet(quiet, reports);
      pending = again.filter((m) => reports.get(m.name)?.ok);
    }
    for (const m of chosen) {
      const r = reports.get(m.name)!;
      report.metrics.push(r);
      if (!r.ok) report.failed.push(m.name);
    }
    return report;
  }

  /** Forget the in-memory state of these metrics (another replica took their shard over). */
  forget(names: Iterable<string>): void {
    for (const n of names) this.runtimes.delete(n);
  }

  /** One statement for the watermarks of every metric whose tick changed no alert. */
  private async writeQuiet(quiet: readonly QuietWrite[], reports: ReadonlyMap<string, MetricReport>): Promise<void> {
    try {
      await this.deps.store.write({ outcomes: [], watermarks: quiet.map((q) => ({ metric: q.metric, series: "", watermark: q.watermark })) });
    } catch (err) {
      // Nothing was stored: forget the in-memory progress so the next tick redoes it from the database.
      const error = scrubSecrets(err instanceof Error ? err.message : String(err));
      this.deps.log.error({ metrics: quiet.length, err: error }, "storing watermarks failed");
      for (const q of quiet) {
        this.runtimes.delete(q.metric);
        const r = reports.get(q.metric);
        if (r?.ok) {
          r.ok = false;
          r.error = error;
        }
      }
    }
  }

  /**
   * A Fetcher that serves metrics sharing a scan (same table, time column, granularity, filter,
   * split and window) from one query, issued when the first of them is evaluated. If that query
   * fails, each metric is read on its own, so one broken `value` expression fails only its metric.
   */
  private groupedFetch(metrics: readonly MetricConfig[], plans: ReadonlyMap<string, WindowPlan>): Fetcher {
    const fetchGroup = this.deps.fetchGroup;
    if (!fetchGroup) return this.deps.fetch;
    interface Group {
      metrics: MetricConfig[];
      window: { from: number; to: number };
      result?: Promise<Array<FetchResult | null> | null>;
    }
    const groups = new Map<string, Group>();
    const member = new Map<string, { group: Group; index: number }>();
    for (const m of metrics) {
      const plan = plans.get(m.name);
      const key = groupKey(m);
      if (!plan || key === null || plan.from > plan.lastClosed) continue;
      const window = { from: plan.from, to: plan.lastClosed + m.granularityMs };
      const k = `${key}\u001f${window.from}\u001f${window.to}`;
      let g = groups.get(k);
      if (!g) {
        g = { metrics: [], window };
        groups.set(k, g);
      }
      member.set(m.name, { group: g, index: g.metrics.length });
      g.metrics.push(m);
    }
    return async (m, window) => {
      const mem = member.get(m.name);
      const g = mem?.group;
      if (!mem || !g || g.metrics.length < 2 || g.window.from !== window.from || g.window.to !== window.to) return this.deps.fetch(m, window);
      g.result ??= fetchGroup(g.metrics, g.window).then(
        (rs): Array<FetchResult | null> => rs,
        (err: unknown) => {
          this.deps.log.warn(
            { metrics: g.metrics.map((x) => x.name), err: scrubSecrets(err instanceof Error ? err.message : String(err)) },
            "shared query failed; reading these metrics one by one",
          );
          return null;
        },
      );
      const rs = await g.result;
      const r = rs?.[mem.index];
      if (!rs || !r) return this.deps.fetch(m, window);
      rs[mem.index] = null; // handed over: let it be collected once the metric is done
      return r;
    };
  }

  private runtimeFor(m: MetricConfig): MetricRuntime {
    let rt = this.runtimes.get(m.name);
    if (!rt) {
      rt = { config: m, signature: JSON.stringify(m), detectors: buildDetectors(m), series: new Map(), watermark: null, warmUntil: null, loading: false };
      this.runtimes.set(m.name, rt);
    }
    return rt;
  }

  /** Which buckets this tick reads (from..lastClosed) and which of them it judges (after judgeAfter). */
  private async planWindow(m: MetricConfig): Promise<WindowPlan> {
    const now = this.deps.clock.now();
    const g = m.granularityMs;
    const lastClosed = lastClosedBucket(now, g, m.delayMs);
    const capacity = Math.max(2, Math.ceil(m.lookbackMs / g));
    const rt = this.runtimeFor(m);
    // The whole lookback on first sight (history = baseline), else only new buckets.
    let from: number;
    if (rt.watermark === null) {
      const stored = await this.deps.store.watermarks(m.name);
      const w = stored.size > 0 ? Math.max(...stored.values()) : null;
      from = lastClosed - (capacity - 1) * g;
      if (w !== null && w < from) this.deps.log.info({ metric: m.name }, "stored watermark is older than lookback; judging only the last closed bucket");
      rt.warmUntil = w !== null && w >= from ? w : lastClosed - g;
      rt.loading = true;
    } else from = rt.watermark + g;
    // Buckets up to warmUntil only warm the detectors up (history load); they are never judged.
    const judgeAfter = Math.max(from - g, rt.warmUntil ?? Number.NEGATIVE_INFINITY);
    const partial = lastClosed - from >= CHUNK_BUCKETS * g;
    const end = partial ? from + (CHUNK_BUCKETS - 1) * g : lastClosed;
    return { now, lastClosed: end, from, judgeAfter, fresh: rt.loading, partial };
  }

  private async evaluateMetric(
    m: MetricConfig,
    openAlerts: readonly Alert[],
    silences: readonly Silence[],
    plan: WindowPlan,
    fetch: Fetcher,
    quiet: QuietWrite[],
  ): Promise<MetricReport> {
    const { log, metrics } = this.deps;
    const { now, lastClosed, from, judgeAfter, fresh } = plan;
    const g = m.granularityMs;
    const report: MetricReport = { metric: m.name, ok: true, series: 0, points: 0, anomalies: 0, events: [] };
    const rt = this.runtimeFor(m);
    // Only what charts and "same time last week" need is remembered, not the whole lookback:
    // detectors carry their own state.
    const capacity = Math.min(Math.max(2, Math.ceil(m.lookbackMs / g)), Math.max(CHART_POINTS, Math.ceil(WEEK_MS / g) + 1));
    const open = new Map<string, Alert>();
    for (const a of openAlerts) open.set(a.fingerprint, a);

    // One slot per alert touched this tick; a fingerprint that resolves and re-opens within one
    // tick (catching up after downtime) gets a second slot, so the first alert's end is stored too.
    const outcomes: Outcome[] = [];
    const slotOf = new Map<string, number>();
    const record = (fp: string, out: Outcome) => {
      if (out.events.length === 0 && out.alert === (open.get(fp) ?? null)) return;
      const i = slotOf.get(fp);
      const prev = i === undefined ? undefined : outcomes[i];
      const reopened = prev?.alert?.state === "resolved" && out.alert !== null && out.alert.id === null && out.alert !== prev.alert;
      if (prev && !reopened) outcomes[i!] = { alert: out.alert, events: [...prev.events, ...out.events] };
      else {
        slotOf.set(fp, outcomes.length);
        outcomes.push(out);
      }
      if (out.alert) open.set(fp, out.alert);
    };
    const sourceFp = fingerprintOf(m.name, "", "source");

    if (from <= lastClosed) {
      let fetched: FetchedSeries[];
      try {
        const res = await fetch(m, { from, to: lastClosed + g });
        fetched = res.series;
        for (const issue of res.issues) {
          const k = `${m.name}\u001f${issue.key}\u001f${issue.kind}`;
          if (this.loggedIssues.has(k)) continue;
          this.loggedIssues.add(k);
          log.warn({ metric: m.name, series: issue.key, kind: issue.kind, count: issue.count }, "bad data treated as missing");
        }
      } catch (err) {
        const msg = scrubSecrets(err instanceof Error ? err.message : String(err));
        metrics.sourceErrors.inc({ metric: m.name });
        log.error({ metric: m.name, err: msg }, "metric query failed");
        report.ok = false;
        report.error = msg;
        const id: Identity = {
          fingerprint: sourceFp,
          kind: "meta",
          metric: m.name,
          series: "",
          detector: "source",
          details: { description: `the query for ${m.name} failed`, runbook: m.runbook },
        };
        record(sourceFp, raiseMeta(open.get(sourceFp) ?? null, id, `query failed: ${msg}`, now));
        await this.persist(m, outcomes, null, report, silences);
        return report;
      }
      record(sourceFp, clearMeta(open.get(sourceFp) ?? null, now, "query works again"));

      let withData = 0;
      const policy = policyOf(m);
      const buckets = (lastClosed - from) / g + 1;
      // One grid of values per series, reused: bucket i of this tick is from + i*g (NaN = missing).
      const grid = new Float64Array(buckets);
      const knownBefore = rt.series.size;
      let known = 0;
      const judgeSeries = (key: string, labels: Record<string, string>, points: readonly Point[]): void => {
        let sr = rt.series.get(key);
        if (sr) known++;
        else {
          sr = new SeriesRuntime(key, labels, rt.detectors, capacity, g);
          rt.series.set(key, sr);
        }
        sr.fingerprints ??= rt.detectors.map((d) => fingerprintOf(m.name, key, d.family));
        const fps = sr.fingerprints;
        grid.fill(Number.NaN);
        for (const p of points) {
          const i = Math.floor(p.t / g) - from / g;
          if (i >= 0 && i < buckets) grid[i] = p.v === null ? Number.NaN : p.v;
        }
        let judged = 0;
        for (let b = 0; b < buckets; b++) {
          const t = from + b * g;
          const x = grid[b]!;
          const p: Point = { t, v: Number.isNaN(x) ? null : x };
          const verdicts = sr.step(p);
          if (t <= judgeAfter) continue;
          judged++;
          if (p.v !== null) withData++;
          const flags: boolean[] | null = this.deps.onJudged ? [] : null;
          for (let i = 0; i < verdicts.length; i++) {
            const v = verdicts[i]!;
            const anomalous = passesPolicy(v, p.v, m);
            flags?.push(anomalous);
            if (anomalous) {
              report.anomalies++;
              metrics.anomalies.inc({ metric: m.name });
            }
            const fp = fps[i]!;
            // The common case, a normal point and no open alert, changes nothing: skip the lifecycle.
            if (!anomalous && !open.has(fp)) continue;
            const d = rt.detectors[i]!;
            const id: Identity = {
              fingerprint: fp,
              kind: "metric",
              metric: m.name,
              series: key,
              detector: d.family,
              details: {
                description: m.description,
                runbook: m.runbook,
                granularityMs: g,
                labels: sr.labels,
              },
            };
            const obs = {
              bucket: t,
              anomalous,
              value: p.v,
              expected: v.expected,
              lower: v.lower,
              upper: v.upper,
              sigmas: v.sigmas,
              reason: v.reason,
            };
            record(fp, observe(open.get(fp) ?? null, id, obs, policy, now));
          }
          if (flags) this.deps.onJudged?.(m.name, key, p, verdicts, flags);
        }
        if (judged > 0) {
          report.series++;
          report.points += judged;
        }
      };
      for (const s of fetched) judgeSeries(s.key, s.labels, s.points);
      // Series known from earlier ticks that returned no row this time: their buckets are missing.
      if (known < knownBefore) {
        const got = new Set(fetched.map((s) => s.key));
        for (const [key, sr] of [...rt.series]) if (!got.has(key)) judgeSeries(key, sr.labels, []);
      }
      metrics.seriesEvaluated.inc(report.series);
      metrics.pointsEvaluated.inc(report.points);
      // no_data: buckets were due but not one series had a value in any of them.
      const noDataFp = fingerprintOf(m.name, "", "no_data");
      if ((report.points > 0 && withData === 0) || (fresh && !plan.partial && rt.series.size === 0)) {
        const id: Identity = { fingerprint: noDataFp, kind: "meta", metric: m.name, series: "", detector: "no_data", details: { runbook: m.runbook } };
        record(noDataFp, raiseMeta(open.get(noDataFp) ?? null, id, `no data in the last ${report.points === 1 ? "bucket" : `${report.points} bucket-series`} of ${m.name}`, now));
      } else if (withData > 0) {
        record(noDataFp, clearMeta(open.get(noDataFp) ?? null, now, "data is flowing again"));
      }
    }

    // Time-driven transitions (snooze expiry, reminders) for this metric's open alerts.
    const policy = policyOf(m);
    for (const [fp, a] of open) if (a.kind === "metric" && a.state !== "resolved") record(fp, onTime(a, policy, now));

    const newWatermark = from <= lastClosed ? lastClosed : (rt.watermark ?? judgeAfter);
    if (!plan.partial) rt.loading = false;
    if (outcomes.every((o) => o.alert === null)) {
      // Nothing but the watermark to store: batched with the other quiet metrics of this tick.
      rt.watermark = newWatermark;
      quiet.push({ metric: m.name, watermark: newWatermark });
      return report;
    }
    try {
      await this.persist(m, outcomes, newWatermark, report, silences);
      rt.watermark = newWatermark;
    } catch (err) {
      // Nothing was stored: forget the in-memory progress so the next tick redoes it from the database.
      this.runtimes.delete(m.name);
      throw err;
    }
    return report;
  }

  /**
   * Raise (on = true) or clear a meta-alert about vigil itself: `config`, `delivery`, `no_data`...
   * It goes through the same lifecycle and outbox as metric alerts.
   */
  async meta(kind: string, on: boolean, reason: string, subject = "vigil", excludeChannel?: string): Promise<void> {
    const { store, clock } = this.deps;
    const fp = fingerprintOf(subject, "", kind);
    const current = (await store.openAlerts()).find((a) => a.fingerprint === fp) ?? null;
    const now = clock.now();
    const id: Identity = { fingerprint: fp, kind: "meta", metric: subject, series: "", detector: kind, details: {} };
    const out = on ? raiseMeta(current, id, reason, now) : clearMeta(current, now, reason);
    if (!out.alert || (out.events.length === 0 && !on)) return;
    // A channel that cannot deliver is not told about itself: the others are.
    const channels = this.metaChannels().filter((c) => c !== excludeChannel);
    await store.write({
      outcomes: [{ alert: out.alert, events: out.events }],
      watermarks: [],
      deliveriesFor: (alert, event, historyId) =>
        event.notify
          ? channels.map((channel) => ({
              channel,
              kind: event.notify ?? "update",
              payload: {
                type: "alert",
                event: event.notify ?? "update",
                alert,
                previousState: event.from,
                actor: event.actor,
                note: event.note,
                at: alert.updatedAt,
              } satisfies AlertNotification,
              key: `${historyId}:${channel}`,
            }))
          : [],
    });
  }

  /**
   * Context for a firing alert: the same time last week (from the history window) and, for metrics
   * with `dimensions`, the slices that explain the deviation. Only done when an alert fires.
   */
  private async addContext(m: MetricConfig, alert: Alert): Promise<void> {
    if (alert.kind !== "metric" || alert.bucket === null) return;
    const sr = this.runtimes.get(m.name)?.series.get(alert.series);
    const weekAgo = alert.bucket - 7 * 86_400_000;
    const past = sr?.history.valueAt(weekAgo);
    if (past !== undefined && past !== null) alert.details = { ...alert.details, lastWeek: past };
    if (!this.deps.drill || !m.source?.dimensions.length) return;
    try {
      const drivers = await this.deps.drill(m, alert.bucket, sr?.labels ?? {});
      const direction = alert.value !== null && alert.expected !== null && alert.value < alert.expected ? "drop" : "rise";
      alert.details = { ...alert.details, drivers, contributors: drivers.map((d) => describeDriver(d, direction)) };
    } catch (err) {
      this.deps.log.warn({ metric: m.name, err: scrubSecrets(String(err)) }, "drill-down failed; alert sent without it");
    }
  }

  /**
   * The chart of an alert: the recent history replayed through the detector that fired (detectors
   * are pure, so this reproduces the band exactly). Done only when a notification needs it.
   */
  chartFor(m: MetricConfig, alert: Alert): ChartData | null {
    const rt = this.runtimes.get(m.name);
    const points = rt?.series.get(alert.series)?.history.toArray() ?? [];
    const d = rt?.detectors.find((x) => x.family === alert.detector);
    if (!rt || !d || points.length === 0) return null;
    const verdicts = runBatch(d.def, d.params, points);
    const from = Math.max(0, points.length - CHART_POINTS);
    const rows: ChartRow[] = [];
    for (let i = from; i < points.length; i++) {
      const p = points[i]!;
      const v = verdicts[i]!;
      rows.push([p.t, p.v, v.expected, v.lower, v.upper, passesPolicy(v, p.v, m) ? 1 : 0]);
    }
    const chart: ChartData = { rows, granularityMs: m.granularityMs };
    if (d.type === "threshold") {
      const params = d.params as { min?: number; max?: number };
      chart.thresholds = { ...(params.min === undefined ? {} : { min: params.min }), ...(params.max === undefined ? {} : { max: params.max }) };
    }
    return chart;
  }

  /** Meta-alerts go to the default channels and the critical ones; to every channel if none is set. */
  private metaChannels(): string[] {
    const chosen = channelsFor(this.config, this.config.defaults.notify, "critical");
    return chosen.length > 0 ? chosen : Object.keys(this.config.channels);
  }

  private async persist(
    m: MetricConfig,
    outcomes: readonly Outcome[],
    watermark: number | null,
    report: MetricReport,
    silences: readonly Silence[],
  ): Promise<void> {
    const { store, clock } = this.deps;
    const now = clock.now();
    const toStore = outcomes.filter((o): o is Outcome & { alert: Alert } => o.alert !== null);
    // All series of a metric share its bucket grid, so one watermark per metric is enough and keeps
    // the write O(1) per tick however many series there are.
    const watermarks = watermark === null ? [] : [{ metric: m.name, series: "", watermark }];
    const firing = toStore.filter((o) => o.events.some((e) => e.notify === "firing"));
    // Flapping: how often each notifying fingerprint opened in the window (an opening counts itself).
    const notifying = toStore.filter((o) => o.alert.kind === "metric" && o.events.some((e) => e.notify === "firing" || e.notify === "resolved"));
    const opens = await store.opensSince(
      notifying.map((o) => o.alert.fingerprint),
      now - FLAP_WINDOW_MS,
    );
    for (const o of firing) {
      const opensNow = o.events.some((e) => e.notify === "firing" && (e.from === null || e.from === "pending"));
      if (opensNow) opens.set(o.alert.fingerprint, (opens.get(o.alert.fingerprint) ?? 0) + 1);
    }
    const flapping = [...opens].filter(([, k]) => k > FLAP_OPENS).map(([fp]) => fp);
    const flapNoticed = await store.flapNoticesSince(flapping, now - FLAP_WINDOW_MS);
    const load = firing.length > 0 ? await store.channelLoad(now) : new Map();
    const muted = activeMute([...m.mute, ...this.config.mute], now, this.config.timezone) !== undefined;
    for (const o of firing) await this.addContext(m, o.alert);
    await store.write({
      outcomes: toStore.map((o) => ({ alert: o.alert, events: o.events })),
      watermarks,
      plan: (events) => {
        for (const e of events) if (e.event.notify) report.events.push({ alert: e.alert, event: e.event });
        return planDeliveries(events, {
          config: this.config,
          metric: m,
          now,
          silences,
          muted,
          load,
          opens,
          flapNoticed,
          chartFor: (alert) => this.chartFor(m, alert),
        });
      },
    });
  }


}
