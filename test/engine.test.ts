import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { getDetector } from "../detectors/registry.js";
import { runBatch } from "../detectors/types.js";
import { ManualClock } from "../src/clock.js";
import type { MetricConfig } from "../src/config/types.js";
import { Engine } from "../src/engine/engine.js";
import { silentLogger } from "../src/log.js";
import type { AlertNotification } from "../src/model/notification.js";
import { makeFetcher } from "../src/source-fetcher.js";
import { migrate } from "../src/store/migrations.js";
import { StateStore } from "../src/store/state-store.js";
import { VigilMetrics } from "../src/telemetry/metrics.js";
import { until } from "./helpers/cli.js";
import { metric as baseMetric, DAY, HOUR, vigilConfig } from "./helpers/config.js";
import { openTestDatabase, type TestDatabase } from "./helpers/db.js";
import { createMetricTable, insertRows, noise, type Row } from "./helpers/series.js";

const T0 = Date.UTC(2026, 0, 5); // a Monday, on the hour grid
// One database per file (PGlite start-up is slow); each test gets its own state schema and table.
let schema = "vigil";
let table = "metric_data";
let n = 0;

function metric(overrides: Partial<MetricConfig> & { name: string }): MetricConfig {
  return baseMetric({
    source: { table, time_column: "ts", value: "sum(v)", split_by: [], dimensions: [] },
    ...overrides,
  });
}

function makeEngine(t: TestDatabase, clock: ManualClock, metrics: MetricConfig[], judged?: Map<string, boolean>) {
  const store = new StateStore(t.db, schema);
  const engine = new Engine(vigilConfig(metrics), {
    store,
    fetch: makeFetcher(t.db, silentLogger()),
    clock,
    log: silentLogger(),
    metrics: new VigilMetrics({ defaultMetrics: false }),
    onJudged: judged
      ? (m, s, p, _v, flags) => {
          const key = `${m}|${s}|${p.t}`;
          expect(judged.has(key), `bucket ${new Date(p.t).toISOString()} judged twice`).toBe(false);
          judged.set(key, flags[0]!);
        }
      : undefined,
  });
  return { store, engine };
}

/** 10 days of hourly values around 100 with noise, and spikes at chosen hours. */
function hourly(days: number, spikes: Record<number, number> = {}, seed = 1): Row[] {
  const rnd = noise(seed);
  const rows: Row[] = [];
  for (let h = 0; h < days * 24; h++) rows.push({ ts: T0 + h * HOUR + 60_000, v: spikes[h] ?? 100 + rnd() * 10 });
  return rows;
}

describe("engine", () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await openTestDatabase();
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(async () => {
    n++;
    schema = `state_${n}`;
    table = `metric_data_${n}`;
    await migrate(t.db, schema);
    await createMetricTable(t.db, table);
  });

  it("judges only the last closed bucket on first sight, never the one still filling", async () => {
    // spike in hour 200 (closed at now) and a bigger one in hour 201 (still filling)
    await insertRows(t.db, table, hourly(9, { 200: 500, 201: 900 }));
    const clock = new ManualClock(T0 + 201 * HOUR + 30 * 60_000);
    const judged = new Map<string, boolean>();
    const { engine, store } = makeEngine(t, clock, [metric({ name: "m" })], judged);
    const report = await engine.evaluate();
    expect(report.failed).toEqual([]);
    expect([...judged.keys()]).toEqual([`m||${T0 + 200 * HOUR}`]);
    const alerts = await store.listAlerts();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ metric: "m", series: "", state: "firing", value: 500 });
  });

  it("respects delay: a bucket is closed only once now >= end + delay", async () => {
    await insertRows(t.db, table, hourly(9, { 200: 500 }));
    const clock = new ManualClock(T0 + 201 * HOUR + 10 * 60_000);
    const judged = new Map<string, boolean>();
    const { engine } = makeEngine(t, clock, [metric({ name: "m", delayMs: 15 * 60_000 })], judged);
    await engine.evaluate();
    expect([...judged.keys()]).toEqual([`m||${T0 + 199 * HOUR}`]);
    clock.set(T0 + 201 * HOUR + 15 * 60_000);
    await engine.evaluate();
    expect([...judged.keys()]).toEqual([`m||${T0 + 199 * HOUR}`, `m||${T0 + 200 * HOUR}`]);
  });

  it("incremental ticks give the same verdicts as a full recompute and as the batch detector", async () => {
    const spikes = { 150: 400, 151: 20, 170: 260, 190: 330 };
    const rows = hourly(9, spikes, 7);
    await insertRows(t.db, table, rows);
    const m = metric({ name: "m", lookbackMs: 30 * DAY });
    // incremental: start at hour 120, then ticks of 1-3 hours until hour 215
    const inc = new Map<string, boolean>();
    const clock = new ManualClock(T0 + 121 * HOUR);
    const a = makeEngine(t, clock, [m], inc);
    await a.engine.evaluate();
    const steps = [1, 2, 3, 1, 1, 3, 2];
    for (let i = 0; clock.now() < T0 + 216 * HOUR; i++) {
      clock.advance(steps[i % steps.length]! * HOUR);
      await a.engine.evaluate();
    }
    // full recompute: a fresh engine on the same watermark state judges everything after it at once
    const judgedInc = [...inc.entries()].filter(([k]) => Number(k.split("|")[2]) > T0 + 120 * HOUR);
    // batch reference over the whole series
    const def = getDetector("zscore")!;
    const params = def.params.parse({ window: 48, k: 4, min_points: 24 });
    const verdicts = runBatch(
      def,
      params,
      rows.map((r) => ({ t: Math.floor(r.ts / HOUR) * HOUR, v: r.v })),
    );
    const inData = judgedInc.filter(([k]) => Number(k.split("|")[2]) < T0 + 216 * HOUR);
    for (const [key, flag] of inData) {
      const h = (Number(key.split("|")[2]) - T0) / HOUR;
      expect(flag, `hour ${h}`).toBe(verdicts[h]!.anomaly);
    }
    expect(inData.length).toBe(215 - 120);
    expect(judgedInc.filter(([, f]) => f).length).toBeGreaterThanOrEqual(2);

    // a restart (new engine, same store) re-judges nothing already judged
    const again = new Map<string, boolean>();
    const b = makeEngine(t, clock, [m], again);
    await b.engine.evaluate();
    expect(again.size).toBe(0);
  });

  it("a restart resumes after the stored watermark without re-alerting", async () => {
    await insertRows(t.db, table, hourly(9, { 200: 500 }));
    const clock = new ManualClock(T0 + 201 * HOUR + 60_000);
    const first = makeEngine(t, clock, [metric({ name: "m" })]);
    const r1 = await first.engine.evaluate();
    expect(r1.metrics[0]!.events.map((e) => e.event.to)).toEqual(["firing"]);
    const second = makeEngine(t, clock, [metric({ name: "m" })]);
    const r2 = await second.engine.evaluate();
    expect(r2.metrics[0]!.events).toEqual([]);
    expect((await first.store.deliveries()).length).toBe(1);
  });

  it("quiet 5-minute metrics store their watermarks in slices, at most an hour behind; a crash re-judges only that, a stop stores all", async () => {
    const MIN5 = 300_000;
    const rnd = noise(3);
    const rows: Row[] = [];
    for (let b = 0; b < 3 * 288; b++) rows.push({ ts: T0 + b * MIN5 + 1000, v: 100 + rnd() * 10 });
    await insertRows(t.db, table, rows);
    const names = Array.from({ length: 24 }, (_, i) => `q${i}`);
    const ms = names.map((name) => metric({ name, granularityMs: MIN5, lookbackMs: DAY }));
    const clock = new ManualClock(T0 + 2 * DAY);
    const judged = new Map<string, boolean>();
    const a = makeEngine(t, clock, ms, judged);
    await a.engine.evaluate(); // first sight: every watermark is stored
    const stored = async () => {
      // a tick returns before its last batch of quiet watermarks is written: the next tick (or this) waits for it
      await a.engine.settled();
      const out: number[] = [];
      for (const n of names) out.push(Math.max(...(await a.store.watermarks(n)).values()));
      return out;
    };
    expect(new Set(await stored()).size).toBe(1);
    let perTick = 0;
    for (let k = 0; k < 30; k++) {
      const before = await stored();
      clock.advance(MIN5);
      await a.engine.evaluate();
      const after = await stored();
      perTick = Math.max(perTick, after.filter((w, i) => w !== before[i]).length);
      // never more than an hour (12 buckets) behind what was judged
      const last = Math.floor(clock.now() / MIN5) * MIN5 - MIN5;
      for (const w of after) expect(last - w).toBeLessThan(HOUR);
    }
    // each tick writes a slice of the quiet metrics, not all of them
    expect(perTick).toBeGreaterThan(0);
    expect(perTick).toBeLessThan(names.length / 2);
    expect(await a.store.listAlerts()).toEqual([]);

    // a crash: the next process judges again only the quiet buckets since each stored watermark
    const lags = (await stored()).map((w) => (Math.floor(clock.now() / MIN5) * MIN5 - MIN5 - w) / MIN5);
    const again = new Map<string, boolean>();
    const b = makeEngine(t, clock, ms, again);
    await b.engine.evaluate();
    await b.engine.settled();
    expect(again.size).toBe(lags.reduce((x, y) => x + y, 0));
    expect([...again.values()].filter(Boolean)).toEqual([]);
    expect(await b.store.listAlerts()).toEqual([]);

    // a graceful stop stores every judged watermark
    clock.advance(MIN5);
    await b.engine.evaluate();
    await b.engine.flushWatermarks();
    const last = Math.floor(clock.now() / MIN5) * MIN5 - MIN5;
    expect(new Set(await stored())).toEqual(new Set([last]));
  });

  it("an alert's chart and 'same time last week' are read from the source; charts for at most 20 metrics a tick", async () => {
    await insertRows(t.db, table, hourly(9, { 32: 77, 200: 500 }));
    const names = Array.from({ length: 25 }, (_, i) => `c${String(i).padStart(2, "0")}`);
    const ms = names.map((name) => metric({ name, notify: ["oncall"] }));
    const clock = new ManualClock(T0 + 201 * HOUR + 60_000);
    const store = new StateStore(t.db, schema);
    const engine = new Engine(
      vigilConfig(ms, {
        channels: { oncall: { type: "telegram", chat_id: "-1", send_resolved: true } },
        // 25 alerts in one minute: not collapsed into a storm summary here
        defaults: { schedule: "*/5 * * * *", notify: ["oncall"], severity_channels: {}, storm_limit: 100 },
      }),
      { store, fetch: makeFetcher(t.db, silentLogger()), clock, log: silentLogger(), metrics: new VigilMetrics({ defaultMetrics: false }) },
    );
    await engine.evaluate();
    const firing = (await store.deliveries()).filter((d) => d.kind === "firing");
    expect(firing).toHaveLength(25);
    const payloads = firing.map((d) => d.payload as AlertNotification);
    // hour 200 - 168 = 32: the same hour a week before, as stored in the table
    for (const p of payloads) expect(p.alert.details.lastWeek).toBe(77);
    const charted = payloads.filter((p) => p.chart);
    expect(charted).toHaveLength(20);
    const rows = charted[0]!.chart!.rows;
    // from where the detectors' state starts (the history load: the 7-day lookback), ending with the spike, and the band of the detector that fired
    expect(rows).toHaveLength(7 * 24);
    expect(rows[0]![0]).toBe(T0 + 33 * HOUR);
    expect(rows.at(-1)!.slice(0, 2)).toEqual([T0 + 200 * HOUR, 500]);
    expect(rows.at(-1)![5]).toBe(1);
    expect(rows.at(-2)![1]).toBeCloseTo(rows.at(-2)![2]!, -2);
  });

  it("a tick that fires and resolves an alert queues FIRING as of the spike (value, band, last week), then RESOLVED", async () => {
    // a week before hours 200 and 201: 77 and 88
    await insertRows(t.db, table, hourly(9, { 32: 77, 33: 88, 200: 500 }));
    const clock = new ManualClock(T0 + 200 * HOUR + 60_000);
    const { engine, store } = makeEngine(t, clock, [metric({ name: "m", resolveAfter: 1 })]);
    await engine.evaluate();
    // one tick judges the spike (hour 200) and the normal hour after it
    clock.advance(2 * HOUR);
    await engine.evaluate();
    const queued = (await store.deliveries()).map((d) => d.payload as AlertNotification);
    expect(queued.map((p) => [p.event, p.alert.state, p.alert.value, p.alert.bucket])).toEqual([
      ["firing", "firing", 500, T0 + 200 * HOUR],
      ["resolved", "resolved", queued[1]!.alert.value, T0 + 201 * HOUR],
    ]);
    const [firing, resolved] = queued;
    expect(firing!.alert.upper!).toBeLessThan(500);
    expect(resolved!.alert.value!).toBeLessThan(200);
    expect(firing!.alert.details.lastWeek).toBe(77);
    expect(firing!.chart!.rows.find((r) => r[0] === T0 + 200 * HOUR)?.[5]).toBe(1);
    // the context of the bucket that fired stays with the alert, as it does across ticks
    expect(resolved!.alert.details.lastWeek).toBe(77);
    expect((await store.listAlerts())[0]!.details.lastWeek).toBe(77);
  });

  it("a history read that hangs or fails holds no alert back: it goes out without the chart", async () => {
    await insertRows(t.db, table, hourly(9, { 200: 500 }));
    const clock = new ManualClock(T0 + 201 * HOUR + 60_000);
    const real = makeFetcher(t.db, silentLogger());
    for (const broken of ["hangs", "fails"] as const) {
      const schemaHere = `${schema}_${broken}`;
      await migrate(t.db, schemaHere);
      const store = new StateStore(t.db, schemaHere);
      let historyReads = 0;
      const engine = new Engine(vigilConfig([metric({ name: "m" })]), {
        store,
        // the tick's own reads work; the alert's history read (the one for given series) hangs or fails
        fetch: (m, w, series) => {
          if (series === undefined) return real(m, w);
          historyReads++;
          return broken === "hangs" ? new Promise(() => {}) : Promise.reject(new Error("statement timeout"));
        },
        clock,
        log: silentLogger(),
        metrics: new VigilMetrics({ defaultMetrics: false }),
        alertHistoryBudgetMs: 50,
      });
      const started = Date.now();
      const r = await engine.evaluate();
      expect(Date.now() - started).toBeLessThan(2000);
      expect(historyReads).toBe(1);
      expect(r.metrics[0]!.events.map((e) => e.event.notify)).toEqual(["firing"]);
      const [d] = await store.deliveries();
      expect(d!.kind).toBe("firing");
      expect((d!.payload as AlertNotification).chart).toBeUndefined();
    }
  });

  it("for: pending then firing; resolve_after: resolved only after enough normal buckets", async () => {
    await insertRows(t.db, table, hourly(9, { 200: 500, 201: 520, 202: 510 }));
    const clock = new ManualClock(T0 + 201 * HOUR + 60_000);
    const { engine, store } = makeEngine(t, clock, [metric({ name: "m", for: 2, resolveAfter: 2 })]);
    await engine.evaluate();
    expect((await store.listAlerts())[0]!.state).toBe("pending");
    expect(await store.deliveries()).toHaveLength(0);
    clock.advance(HOUR);
    await engine.evaluate();
    expect((await store.listAlerts())[0]!.state).toBe("firing");
    clock.advance(2 * HOUR); // 202 anomalous (update), 203 normal
    await engine.evaluate();
    const a = (await store.listAlerts())[0]!;
    expect(a.state).toBe("firing");
    expect(a.anomalousCount).toBe(3);
    clock.advance(HOUR); // 204 normal -> second in-band bucket
    await engine.evaluate();
    const resolved = (await store.listAlerts())[0]!;
    expect(resolved.state).toBe("resolved");
    const kinds = (await store.deliveries()).map((d) => d.kind);
    expect(kinds).toEqual(["firing", "resolved"]);
    const hist = await store.history(resolved.id!);
    expect(hist.map((h) => `${h.from}->${h.to}`)).toEqual(["null->pending", "pending->firing", "firing->resolved"]);
  });

  it("direction and min_change filter verdicts", async () => {
    await insertRows(t.db, table, hourly(9, { 200: 40 }));
    const clock = new ManualClock(T0 + 201 * HOUR + 60_000);
    const up = makeEngine(t, clock, [metric({ name: "up", direction: "up" })]);
    await up.engine.evaluate();
    expect(await up.store.listAlerts()).toHaveLength(0);
    const big = makeEngine(t, clock, [metric({ name: "big", minChange: { kind: "relative", value: 0.8 } })]);
    await big.engine.evaluate();
    expect(await big.store.listAlerts()).toHaveLength(0);
    const down = makeEngine(t, clock, [metric({ name: "down", direction: "down", minChange: { kind: "relative", value: 0.5 } })]);
    await down.engine.evaluate();
    expect(await down.store.listAlerts()).toHaveLength(1);
  });

  it("a failing metric raises a source meta-alert; the others go on; it clears when the SQL works", async () => {
    await insertRows(t.db, table, hourly(9, { 200: 500 }));
    const clock = new ManualClock(T0 + 201 * HOUR + 60_000);
    const broken = metric({
      name: "broken",
      source: { table: `no_such_table_${n}`, time_column: "ts", value: "sum(v)", split_by: [], dimensions: [] },
    });
    const { engine, store } = makeEngine(t, clock, [broken, metric({ name: "ok" })]);
    const r = await engine.evaluate();
    expect(r.failed).toEqual(["broken"]);
    expect(r.metrics[0]!.error).toMatch(/no_such_table/);
    const alerts = await store.listAlerts();
    expect(alerts.map((a) => `${a.metric}/${a.kind}/${a.detector}/${a.state}`).sort()).toEqual([
      "broken/meta/source/firing",
      "ok/metric/zscore/firing",
    ]);
    await t.db.exec(`CREATE TABLE no_such_table_${n} (ts timestamptz, v float8)`);
    clock.advance(HOUR);
    const r2 = await engine.evaluate();
    expect(r2.failed).toEqual([]);
    const meta = (await store.listAlerts()).find((a) => a.detector === "source")!;
    expect(meta.state).toBe("resolved");
  });

  it("raises a no_data meta-alert when due buckets have no rows at all, and clears it when data returns", async () => {
    const rows = hourly(9).filter((r) => r.ts < T0 + 200 * HOUR || r.ts >= T0 + 203 * HOUR);
    await insertRows(t.db, table, rows);
    const clock = new ManualClock(T0 + 200 * HOUR);
    const { engine, store } = makeEngine(t, clock, [metric({ name: "m" })]);
    await engine.evaluate();
    expect(await store.openAlerts()).toEqual([]);
    clock.advance(2 * HOUR);
    await engine.evaluate();
    const meta = (await store.openAlerts()).find((a) => a.detector === "no_data");
    expect(meta).toMatchObject({ kind: "meta", metric: "m", state: "firing" });
    clock.advance(2 * HOUR);
    await engine.evaluate();
    expect((await store.listAlerts()).find((a) => a.detector === "no_data")!.state).toBe("resolved");
  });

  it("splits series and keeps per-series alerts apart", async () => {
    const rows: Row[] = [];
    const rnd = noise(3);
    for (let h = 0; h < 9 * 24; h++) {
      for (const s of ["x", "y"]) rows.push({ ts: T0 + h * HOUR, series: s, v: h === 200 && s === "y" ? 900 : 100 + rnd() * 10 });
    }
    await insertRows(t.db, table, rows);
    const clock = new ManualClock(T0 + 201 * HOUR);
    const m = metric({ name: "split", source: { table, time_column: "ts", value: "sum(v)", split_by: ["series"], dimensions: [] } });
    const { engine, store } = makeEngine(t, clock, [m]);
    await engine.evaluate();
    const alerts = await store.listAlerts();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.series).toBe("series=y");
  });

  it("a process killed during its history load does not judge the loaded days as new at the next start", async () => {
    const days = 15;
    const end = T0 + days * DAY;
    // a spike 5 days before the end: history by the time of the first start
    await insertRows(t.db, table, hourly(days, { [days * 24 - 5 * 24]: 5000 }));
    const clock = new ManualClock(end + 60_000);
    const m = metric({ name: "loading", lookbackMs: 14 * DAY });
    const store = new StateStore(t.db, schema);
    const real = makeFetcher(t.db, silentLogger());
    let calls = 0;
    // the first process dies while its third chunk is read
    const dying = new Engine(vigilConfig([m]), {
      store,
      fetch: (metric, window, series) => (++calls === 3 ? Promise.reject(new Error("killed")) : real(metric, window, series)),
      clock,
      log: silentLogger(),
      metrics: new VigilMetrics({ defaultMetrics: false }),
    });
    await dying.evaluate();
    expect(calls).toBe(3);
    expect(await store.watermarks("loading")).toEqual(new Map());
    const { engine } = makeEngine(t, clock, [m]);
    await engine.evaluate();
    await engine.settled();
    expect((await store.listAlerts()).filter((a) => a.kind === "metric")).toEqual([]);
    expect([...(await store.watermarks("loading")).values()]).toEqual([end - HOUR]);
  });

  it("a metric whose query hangs holds up no other metric of a steady tick", async () => {
    await insertRows(t.db, table, hourly(9, { [200]: 900 }));
    const clock = new ManualClock(T0 + 200 * HOUR);
    const slow = metric({ name: "slow" });
    const quick = metric({ name: "quick" });
    const store = new StateStore(t.db, schema);
    const real = makeFetcher(t.db, silentLogger());
    let held: Promise<void> | null = null;
    let release!: () => void;
    const engine = new Engine(vigilConfig([slow, quick]), {
      store,
      fetch: async (m, window, series) => {
        if (m.name === "slow" && held) await held;
        return real(m, window, series);
      },
      clock,
      log: silentLogger(),
      metrics: new VigilMetrics({ defaultMetrics: false }),
    });
    await engine.evaluate(); // the history load
    held = new Promise<void>((r) => {
      release = r;
    });
    clock.advance(HOUR);
    const tick = engine.evaluate();
    // the quick metric's alert is stored while the slow one still waits on its query
    await until(async () => (await store.openAlerts()).some((a) => a.metric === "quick"), "the quick metric's alert");
    expect((await store.openAlerts()).some((a) => a.metric === "slow")).toBe(false);
    release();
    const report = await tick;
    expect(report.metrics.map((r) => [r.metric, r.ok])).toEqual([
      ["slow", true],
      ["quick", true],
    ]);
    expect((await store.openAlerts()).map((a) => a.metric).sort()).toEqual(["quick", "slow"]);
  });

  it("drill-downs of one tick share a budget, a few at a time: a hanging one holds neither the tick nor the other alerts", async () => {
    const rows: Row[] = [];
    const rnd = noise(5);
    const names = ["a", "b", "c", "d", "e", "f"];
    for (let h = 0; h < 9 * 24; h++)
      for (const s of names) rows.push({ ts: T0 + h * HOUR, series: s, v: h === 200 ? 900 : 100 + rnd() * 10 });
    await insertRows(t.db, table, rows);
    const clock = new ManualClock(T0 + 201 * HOUR);
    const m = metric({
      name: "drilled",
      source: { table, time_column: "ts", value: "sum(v)", split_by: ["series"], dimensions: ["series"] },
    });
    const store = new StateStore(t.db, schema);
    let inFlight = 0;
    let most = 0;
    const engine = new Engine(vigilConfig([m]), {
      store,
      fetch: makeFetcher(t.db, silentLogger()),
      // a drill-down that never answers
      drill: () => {
        most = Math.max(most, ++inFlight);
        return new Promise<never>(() => {});
      },
      drillBudgetMs: 200,
      clock,
      log: silentLogger(),
      metrics: new VigilMetrics({ defaultMetrics: false }),
    });
    await engine.evaluate();
    const alerts = (await store.listAlerts()).filter((a) => a.kind === "metric");
    expect(alerts.map((a) => a.series).sort()).toEqual(names.map((n) => `series=${n}`));
    expect(alerts.every((a) => a.details.contributors === undefined)).toBe(true);
    expect(most).toBe(4);
  });

  it("forgets a series gone for longer than the lookback: a churning split column does not grow the series judged", async () => {
    const rows: Row[] = [];
    // a new split value every hour (a request id, a deploy hash), each present for that hour only
    for (let h = 0; h < 60; h++) rows.push({ ts: T0 + h * HOUR + 60_000, series: `v${h}`, v: 100 });
    await insertRows(t.db, table, rows);
    const clock = new ManualClock(T0 + 12 * HOUR);
    const m = metric({
      name: "churn",
      lookbackMs: 6 * HOUR,
      source: { table, time_column: "ts", value: "sum(v)", split_by: ["series"], dimensions: [] },
    });
    const { engine } = makeEngine(t, clock, [m]);
    const judged: number[] = [];
    for (let h = 12; h < 60; h++) {
      const r = await engine.evaluate();
      judged.push(r.metrics[0]!.series);
      clock.advance(HOUR);
    }
    // series read by the history load are forgotten a lookback after they stop (12 at most); from then
    // on each tick judges those seen within the lookback, never the 60 there have been
    expect(Math.max(...judged)).toBeLessThanOrEqual(12);
    expect(new Set(judged.slice(7))).toEqual(new Set([7]));
  });

  it("counts the series and points it judged, once per tick, in /metrics' counters", async () => {
    const rows: Row[] = [];
    for (let h = 0; h < 9 * 24; h++) for (const s of ["x", "y", "z"]) rows.push({ ts: T0 + h * HOUR, series: s, v: 100 + (h % 5) });
    await insertRows(t.db, table, rows);
    const clock = new ManualClock(T0 + 201 * HOUR);
    const m = metric({ name: "counted", source: { table, time_column: "ts", value: "sum(v)", split_by: ["series"], dimensions: [] } });
    const metrics = new VigilMetrics({ defaultMetrics: false });
    const engine = new Engine(vigilConfig([m]), {
      store: new StateStore(t.db, schema),
      fetch: makeFetcher(t.db, silentLogger()),
      clock,
      log: silentLogger(),
      metrics,
    });
    const total = async (c: typeof metrics.seriesEvaluated) => (await c.get()).values.reduce((a, v) => a + v.value, 0);
    await engine.evaluate();
    // first sight judges the last closed bucket of each series
    expect([await total(metrics.seriesEvaluated), await total(metrics.pointsEvaluated)]).toEqual([3, 3]);
    clock.set(T0 + 204 * HOUR);
    await engine.evaluate();
    expect([await total(metrics.seriesEvaluated), await total(metrics.pointsEvaluated)]).toEqual([6, 12]);
  });
});
