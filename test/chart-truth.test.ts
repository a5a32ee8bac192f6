/**
 * An alert's chart says what its message says (issue 21): the data the PNG is drawn from marks
 * exactly the alert's own buckets, has the message's expected value and band at the bucket the
 * message reports, draws the band of the detector as the daemon ran it, a threshold alert's line,
 * and a count's band no lower than zero.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { replay } from "../src/cli/backtest/replay.js";
import { backtestChart } from "../src/cli/backtest-chart.js";
import { alertJson } from "../src/cli/backtest-command.js";
import { ManualClock } from "../src/clock.js";
import type { MetricConfig } from "../src/config/types.js";
import { Engine } from "../src/engine/engine.js";
import { silentLogger } from "../src/log.js";
import { alertLines, fmtNum } from "../src/model/format.js";
import type { AlertNotification, ChartData, ChartRow } from "../src/model/notification.js";
import { makeFetcher } from "../src/source-fetcher.js";
import type { SeriesBatch } from "../src/sources/index.js";
import { migrate } from "../src/store/migrations.js";
import { StateStore } from "../src/store/state-store.js";
import { VigilMetrics } from "../src/telemetry/metrics.js";
import { metric as baseMetric, DAY, HOUR, vigilConfig } from "./helpers/config.js";
import { openTestDatabase, type TestDatabase } from "./helpers/db.js";
import { createMetricTable, insertRows, noise, type Row } from "./helpers/series.js";

const T0 = Date.UTC(2026, 0, 5);
/** The daemon starts on day 16 (its detectors learn the 14 days before), the series drops on day 25 at 03:00 for three hours. */
const START = T0 + 16 * DAY;
const DROP = T0 + 25 * DAY + 3 * HOUR;
const END = DROP + 3 * HOUR;

function metric(name: string, where: string, overrides: Partial<MetricConfig>): MetricConfig {
  return baseMetric({
    name,
    source: { table: "chart_truth", time_column: "ts", value: "sum(v)", where, split_by: [], dimensions: [] },
    lookbackMs: 14 * DAY,
    for: 2,
    notify: ["oncall"],
    ...overrides,
  });
}

const METRICS = [
  // the default ensemble: its state reaches back further than the chart's two weeks
  metric("users", "series = 'users'", { detectors: [] }),
  metric("users_floor", "series = 'users'", { detectors: [{ type: "threshold", min: 300 }] }),
  // a count of a few a bucket: a band of mean ± k sigma reaches below zero
  metric("signups", "series = 'signups'", { detectors: [{ type: "zscore", window: 48, k: 3, min_points: 24 }], for: 1 }),
];

function rows(): Row[] {
  const rnd = noise(11);
  const out: Row[] = [];
  for (let h = 0; h < 26 * 24; h++) {
    const t = T0 + h * HOUR;
    const base = 1000 + 400 * Math.sin((2 * Math.PI * (h % 24)) / 24) + 60 * rnd();
    // a one-bucket spike the daemon judges (with `for: 2` no alert), and the drop
    const v = h === 20 * 24 + 12 ? base * 3 : t >= DROP && t < END ? base * 0.2 : base;
    out.push({ ts: t + 60_000, v, series: "users" });
    const signups = h === 22 * 24 + 9 ? 40 : Math.max(0, Math.round(3 + 4 * rnd()));
    out.push({ ts: t + 60_000, v: signups, series: "signups" });
  }
  return out;
}

interface Told {
  n: AlertNotification;
  chart: ChartData;
  /** The numbers of the message's "value vs expected (band lower – upper)" line, as printed. */
  text: { value: string; expected: string; lower: string; upper: string };
}

function told(n: AlertNotification): Told {
  const line = alertLines(n).find((l) => / vs expected /.test(l)) ?? "";
  const m = /^(\S+) vs expected (\S+) \(band (\S+) – (\S+)\)/.exec(line);
  if (!m || !n.chart) throw new Error(`no band line or no chart: ${line}`);
  return { n, chart: n.chart, text: { value: m[1]!, expected: m[2]!, lower: m[3]!, upper: m[4]! } };
}

const marked = (c: ChartData) => c.rows.filter((r) => r[5] === 1).map((r) => r[0]);
const rowAt = (c: ChartData, t: number | null): ChartRow => {
  const r = c.rows.find((x) => x[0] === t);
  if (!r) throw new Error(`no row at ${t}`);
  return r;
};

describe("an alert's chart against its message", () => {
  let t: TestDatabase;
  let firing: Told[];
  /** The daemon's own verdict per (metric, bucket): expected, lower, upper. */
  const live = new Map<string, [number | null, number | null, number | null]>();

  beforeAll(async () => {
    t = await openTestDatabase();
    await migrate(t.db, "vigil");
    await createMetricTable(t.db, "chart_truth");
    await insertRows(t.db, "chart_truth", rows());
    const store = new StateStore(t.db, "vigil");
    const clock = new ManualClock(START);
    // a chat channel: webhooks get no chart
    const config = vigilConfig(METRICS, { channels: { oncall: { type: "telegram", chat_id: "-1", send_resolved: true } } });
    const engine = new Engine(config, {
      store,
      fetch: makeFetcher(t.db, silentLogger()),
      clock,
      log: silentLogger(),
      metrics: new VigilMetrics({ defaultMetrics: false }),
      onJudged: (m, _s, p, v) => live.set(`${m}|${p.t}`, [v[0]!.expected, v[0]!.lower, v[0]!.upper]),
    });
    for (; clock.now() <= END; clock.advance(HOUR)) expect((await engine.evaluate()).failed).toEqual([]);
    firing = (await store.deliveries()).filter((d) => d.kind === "firing").map((d) => told(d.payload as AlertNotification));
  });

  afterAll(async () => {
    await t.close();
  });

  const alertOf = (name: string): Told => {
    const x = firing.filter((f) => f.n.alert.metric === name);
    expect(x, name).toHaveLength(1);
    return x[0]!;
  };

  it("marks exactly the alert's buckets: not the spike that never alerted, nor what a replay finds", () => {
    const { n, chart } = alertOf("users");
    // `for: 2`: pending on the first bucket of the drop, firing on the second
    expect(n.alert.bucket).toBe(DROP + HOUR);
    expect(marked(chart)).toEqual([DROP, DROP + HOUR]);
    expect(chart.rows.at(-1)![0]).toBe(DROP + HOUR);
  });

  it("has the message's value, expected value and band at the bucket it reports", () => {
    for (const { n, chart, text } of firing) {
      const [, value, expected, lower, upper] = rowAt(chart, n.alert.bucket);
      expect({ value: fmtNum(value), expected: fmtNum(expected), lower: fmtNum(lower), upper: fmtNum(upper) }, n.alert.metric).toEqual(
        text,
      );
    }
  });

  it("draws the band of the detector as the daemon ran it, on every bucket the daemon judged", () => {
    const { chart } = alertOf("users");
    let compared = 0;
    for (const [t, , expected, lower, upper] of chart.rows) {
      const v = live.get(`users|${t}`);
      if (!v || v[0] === null) continue;
      compared++;
      expect(expected, new Date(t).toISOString()).toBeCloseTo(v[0], 6);
      expect(lower).toBeCloseTo(v[1]!, 6);
      expect(upper).toBeCloseTo(v[2]!, 6);
    }
    expect(compared).toBeGreaterThan(9 * 24);
    // two weeks of it, the first days from before the daemon's start (its history load learned them)
    expect(chart.rows).toHaveLength(14 * 24);
    expect(chart.rows.filter((r) => r[0] < START && r[2] !== null).length).toBeGreaterThan(4 * 24);
  });

  it("an alert of a threshold draws its line", () => {
    const { n, chart, text } = alertOf("users_floor");
    expect(chart.thresholds).toEqual({ min: 300 });
    expect(text.lower).toBe("300");
    expect(marked(chart)).toEqual(
      n.alert.details.anomalous!.flatMap(([a, b]) => Array.from({ length: (b - a) / HOUR + 1 }, (_, i) => a + i * HOUR)),
    );
  });

  it("a count's band stops at zero, in the message and in the chart", () => {
    const { n, chart, text } = alertOf("signups");
    expect(n.alert.bucket).toBe(T0 + 22 * DAY + 9 * HOUR);
    expect(marked(chart)).toEqual([n.alert.bucket]);
    // the detector's own band went below zero
    expect(live.get(`signups|${n.alert.bucket}`)![1]).toBeLessThan(0);
    expect(text.lower).toBe("0");
    expect(n.alert.lower).toBe(0);
    const lows = chart.rows.map((r) => r[3]).filter((x): x is number => x !== null);
    expect(lows.length).toBeGreaterThan(100);
    expect(Math.min(...lows)).toBe(0);
  });
});

describe("vigil backtest --chart against the alerts it prints", () => {
  const hours = 14 * 24;
  const batch = (value: (h: number) => number): SeriesBatch[] => [
    { key: "", labels: {}, points: Array.from({ length: hours }, (_, h) => ({ t: T0 + h * HOUR, v: value(h) })) },
  ];
  const rnd = noise(5);
  const level = Array.from({ length: hours }, () => 100 + 10 * rnd());
  const spikes: Record<number, number> = { 100: 400, 101: 420, 102: 410, 200: 390 };

  it("marks the buckets of the alerts it printed, with their numbers at the bucket each fired on", () => {
    const m = baseMetric({ name: "m", detectors: [{ type: "zscore", window: 48, k: 4, min_points: 24 }], for: 2 });
    const r = replay(
      m,
      batch((h) => spikes[h] ?? level[h]!),
      T0,
      T0 + hours * HOUR,
      true,
    );
    expect(r.alerts).toHaveLength(1);
    const { chart, subtitle } = backtestChart(m, r);
    // hour 200 was anomalous too, but one bucket does not meet `for: 2`: no alert, no mark
    expect(marked(chart)).toEqual([100, 101, 102].map((h) => T0 + h * HOUR));
    const a = alertJson(r.alerts[0]!);
    const [, value, expected, lower, upper] = rowAt(chart, T0 + 101 * HOUR);
    expect({ value, expected, lower, upper }).toEqual({ value: a.value, expected: a.expected, lower: a.lower, upper: a.upper });
    expect(subtitle).toBe("backtest · zscore: 1 alert marked");
  });

  it("draws the line of a threshold that alerted, and stops a count's band at zero", () => {
    const counts = batch((h) => (h === 150 ? 30 : Math.round(3 + 0.4 * (level[h]! - 100))));
    const limit = baseMetric({ name: "c", detectors: [{ type: "threshold", max: 20 }] });
    const t = backtestChart(limit, replay(limit, counts, T0, T0 + hours * HOUR, true));
    expect(t.subtitle).toBe("backtest · threshold: 1 alert marked");
    expect(t.chart.thresholds).toEqual({ max: 20 });
    expect(marked(t.chart)).toEqual([T0 + 150 * HOUR]);
    // mean ± 3 sigma of a count of a few goes below zero, and is drawn from zero
    const spread = baseMetric({ name: "c", detectors: [{ type: "zscore", window: 48, k: 3, min_points: 24 }] });
    const r = replay(spread, counts, T0, T0 + hours * HOUR, true);
    expect(r.traces.get("")!.filter((x) => (x.bands[0]!.lower ?? 0) < 0).length).toBeGreaterThan(100);
    expect(r.alerts[0]!.lower).toBe(0);
    const lows = backtestChart(spread, r)
      .chart.rows.map((x) => x[3])
      .filter((x): x is number => x !== null);
    expect(Math.min(...lows)).toBe(0);
  });
});
