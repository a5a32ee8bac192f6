/**
 * Grouped scans: metrics on one table, time column, granularity, filter and split are read by one
 * query per tick (one aggregate column each), with the same verdicts as reading them one by one;
 * a broken `value` expression fails only its own metric.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getDetector } from "../detectors/registry.js";
import { runBatch } from "../detectors/types.js";
import { loadHistory, replay } from "../src/cli/backtest/replay.js";
import { ManualClock } from "../src/clock.js";
import type { MetricConfig } from "../src/config/types.js";
import { Engine } from "../src/engine/engine.js";
import { silentLogger } from "../src/log.js";
import type { Point } from "../src/model/point.js";
import { makeFetcher, makeGroupFetcher } from "../src/source-fetcher.js";
import { fetchBuckets, fetchBucketsGrouped } from "../src/sources/index.js";
import { migrate } from "../src/store/migrations.js";
import { StateStore } from "../src/store/state-store.js";
import { VigilMetrics } from "../src/telemetry/metrics.js";
import { metric as baseMetric, HOUR, vigilConfig, zscoreMetricsOn } from "./helpers/config.js";
import { openTestDatabase, type TestDatabase } from "./helpers/db.js";
import { countingReads, scanEngine } from "./helpers/engine.js";
import { createMetricTable, insertRows, noise, type Row } from "./helpers/series.js";

const T0 = Date.UTC(2026, 0, 5);

function rows(days: number, spikes: Record<number, number>): Row[] {
  const rnd = noise(7);
  const out: Row[] = [];
  for (let h = 0; h < days * 24; h++) {
    for (const series of ["ios", "android", "web"]) {
      if (series === "web" && h % 50 === 3) continue; // a hole
      const spike = series === "ios" ? spikes[h] : undefined;
      out.push({ ts: T0 + h * HOUR + 60_000, series, v: spike ?? 100 + rnd() * 10 });
    }
  }
  return out;
}

describe("grouped scans", () => {
  let t: TestDatabase;
  const table = "grouped_data";
  beforeAll(async () => {
    t = await openTestDatabase();
    await createMetricTable(t.db, table);
    await insertRows(t.db, table, rows(6, { 130: 900, 140: 5 }));
    await t.db.exec(`INSERT INTO ${table} (ts, series, v) VALUES ('${new Date(T0 + 100 * HOUR).toISOString()}', 'web', 'NaN')`);
  });
  afterAll(async () => {
    await t.close();
  });

  it("fetchBucketsGrouped returns exactly what fetchBuckets returns per metric", async () => {
    const ms = zscoreMetricsOn(table, ["sum(v)", "max(v)", "count(*)", "avg(v) * 2"]);
    const w = { from: T0 + 90 * HOUR + 123, to: T0 + 140 * HOUR + 5 };
    const grouped = await fetchBucketsGrouped(t.db, ms, w);
    for (let i = 0; i < ms.length; i++) expect(grouped[i]).toEqual(await fetchBuckets(t.db, ms[i]!, w));
  });

  it("one query per tick serves every metric on the table, with the verdicts of separate reads", async () => {
    const ms = zscoreMetricsOn(table, ["sum(v)", "max(v)", "count(*)", "avg(v) * 2"]);
    const run = async (grouped: boolean) => {
      const {
        engine,
        clock,
        judged,
        reads: readsNow,
        resetReads,
      } = await scanEngine(t.db, {
        schema: `state_${grouped ? "g" : "s"}`,
        table,
        metrics: ms,
        now: T0 + 120 * HOUR + 60_000,
        grouped,
      });
      const reads: number[] = [];
      const alerts: number[] = [];
      // metrics whose alerts went out in the tick: each reads its recent history once, for the chart
      const charted: number[] = [];
      for (let k = 0; k < 24; k++) {
        resetReads();
        const r = await engine.evaluate();
        expect(r.failed).toEqual([]);
        reads.push(readsNow());
        alerts.push(r.metrics.reduce((a, x) => a + x.events.length, 0));
        charted.push(r.metrics.filter((x) => x.events.some((e) => e.event.notify === "firing" || e.event.notify === "reminder")).length);
        clock.advance(HOUR);
      }
      return { reads, judged, alerts, charted };
    };
    const separate = await run(false);
    const grouped = await run(true);
    // the first tick loads the history in two passes: a first chunk of 8 buckets, then the rest
    const passes = (k: number) => (k === 0 ? 2 : 1);
    expect(separate.reads).toEqual(separate.charted.map((n, k) => passes(k) * ms.length + n));
    expect(grouped.reads).toEqual(grouped.charted.map((n, k) => passes(k) + n));
    expect(grouped.charted.some((n) => n > 0)).toBe(true);
    // metrics of a steady tick are judged side by side: the same verdicts, in an order that may differ
    expect([...grouped.judged].sort()).toEqual([...separate.judged].sort());
    expect(grouped.alerts).toEqual(separate.alerts);
    expect(grouped.alerts.some((n) => n > 0)).toBe(true);
  });

  it("a broken value expression fails only its metric: the others are read one by one", async () => {
    const ms = zscoreMetricsOn(table, ["sum(v)", "sum(no_such_column)", "max(v)"]);
    const { engine, reads } = await scanEngine(t.db, {
      schema: "state_broken",
      table,
      metrics: ms,
      now: T0 + 120 * HOUR + 60_000,
      grouped: true,
    });
    const r = await engine.evaluate();
    expect(r.failed).toEqual(["m1"]);
    expect(r.metrics.find((x) => x.metric === "m0")?.series).toBe(3);
    expect(r.metrics.find((x) => x.metric === "m2")?.series).toBe(3);
    // the shared query, then one per metric; the rest of the load, the two left share one again
    expect(reads()).toBe(1 + ms.length + 1);
  });

  it("a metric alone in its scan is read onto the grid too, with the verdicts of its own query; if broken, it fails with its own error after one query", async () => {
    const judge = async (m: MetricConfig, grouped: boolean) => {
      const log = { warnings: 0 };
      const {
        engine,
        clock,
        judged,
        reads: readsNow,
      } = await scanEngine(t.db, {
        schema: `state_alone_${m.name}_${grouped ? "g" : "s"}`,
        table,
        metrics: [m],
        now: T0 + 100 * HOUR + 60_000,
        grouped,
        log: Object.assign(silentLogger(), { warn: () => void log.warnings++ }),
      });
      const r = await engine.evaluate();
      const reads = readsNow();
      for (let k = 0; k < 6; k++) {
        clock.advance(HOUR);
        await engine.evaluate();
      }
      return { r, judged, reads, warnings: log.warnings };
    };
    const [good] = zscoreMetricsOn(table, ["sum(v)"]);
    const alone = await judge(good!, true);
    expect(alone.r.failed).toEqual([]);
    expect(alone.judged.length).toBeGreaterThanOrEqual(3 * 6);
    expect(alone.judged).toEqual((await judge(good!, false)).judged);
    const broken = { ...zscoreMetricsOn(table, ["sum(no_such_column)"])[0]!, name: "broken" };
    const failed = await judge(broken, true);
    const own = await judge(broken, false);
    expect(failed.r.failed).toEqual(["broken"]);
    expect(failed.r.metrics.map((x) => x.error)).toEqual(own.r.metrics.map((x) => x.error));
    expect(failed.r.metrics[0]!.error).toMatch(/no_such_column/);
    expect(failed.reads).toBe(1);
    expect(failed.warnings).toBe(own.warnings);
  });
});

describe("history load in chunks", () => {
  it("a lookback longer than one chunk is read in several passes and judged as one replay", async () => {
    const t = await openTestDatabase();
    try {
      await createMetricTable(t.db, "long_data");
      const rnd = noise(3);
      const data: Row[] = [];
      for (let h = 0; h < 30 * 24; h++) data.push({ ts: T0 + h * HOUR + 60_000, v: h === 719 ? 400 : 100 + rnd() * 10 });
      await insertRows(t.db, "long_data", data);
      await migrate(t.db);
      const m = baseMetric({
        name: "long",
        source: { table: "long_data", time_column: "ts", value: "sum(v)", split_by: [], dimensions: [] },
        detectors: [{ type: "zscore", window: 48, k: 4, min_points: 24 }],
        lookbackMs: 30 * 24 * HOUR,
      });
      const c = countingReads(t.db, "long_data");
      const judged: Array<{ t: number; expected: number | null; flag: boolean }> = [];
      const engine = new Engine(vigilConfig([m]), {
        store: new StateStore(t.db),
        fetch: makeFetcher(c.db, silentLogger()),
        clock: new ManualClock(T0 + 720 * HOUR + 60_000),
        log: silentLogger(),
        metrics: new VigilMetrics({ defaultMetrics: false }),
        onJudged: (_m, _s, p, v, flags) => judged.push({ t: p.t, expected: v[0]!.expected, flag: flags[0]! }),
      });
      const r = await engine.evaluate();
      expect(r.failed).toEqual([]);
      // 720 hourly buckets: a first chunk of 8, nine of 72 and one of 64, then the alert's chart history
      expect(c.reads()).toBe(11 + 1);
      const def = getDetector("zscore")!;
      const batch = runBatch(
        def,
        def.params.parse({ window: 48, k: 4, min_points: 24 }),
        data.map((x) => ({ t: x.ts - 60_000, v: x.v })),
      );
      expect(judged).toEqual([{ t: T0 + 719 * HOUR, expected: batch[719]!.expected, flag: true }]);
      expect(r.metrics[0]!.events.map((e) => e.event.notify)).toEqual(["firing"]);
    } finally {
      await t.close();
    }
  });

  it("grouped, scans decode into the grids of scans already judged, with the verdicts of separate reads", async () => {
    const t = await openTestDatabase();
    try {
      const rnd = noise(5);
      const data: Row[] = [];
      for (let h = 0; h < 30 * 24; h++) {
        for (const s of ["a", "b"])
          data.push({ ts: T0 + h * HOUR + 60_000, series: s, v: h === 719 && s === "b" ? 400 : 100 + rnd() * 10 });
      }
      // three tables, two metrics on each: three scans a pass
      const tables = ["long_0", "long_1", "long_2"];
      for (const tbl of tables) {
        await createMetricTable(t.db, tbl);
        await insertRows(t.db, tbl, data);
      }
      const ms = tables.flatMap((tbl) =>
        ["sum(v)", "max(v)"].map((value, i) =>
          baseMetric({
            name: `${tbl}_${i}`,
            source: { table: tbl, time_column: "ts", value, split_by: ["series"], dimensions: [] },
            detectors: [{ type: "zscore", window: 48, k: 4, min_points: 24 }],
            lookbackMs: 30 * 24 * HOUR,
          }),
        ),
      );
      const run = async (grouped: boolean) => {
        const schema = `state_long_${grouped ? "g" : "s"}`;
        await migrate(t.db, schema);
        const reuse: boolean[] = [];
        const group = makeGroupFetcher(t.db, silentLogger());
        const clock = new ManualClock(T0 + 720 * HOUR + 60_000);
        const judged: string[] = [];
        const engine = new Engine(vigilConfig(ms), {
          store: new StateStore(t.db, schema),
          fetch: makeFetcher(t.db, silentLogger()),
          ...(grouped
            ? {
                fetchGroup: async (metrics: readonly MetricConfig[], window: { from: number; to: number }, into?: Float64Array) => {
                  reuse.push(into !== undefined);
                  const grid = await group(metrics, window, into);
                  if (into) expect(grid.values[0]!.buffer).toBe(into.buffer);
                  return grid;
                },
              }
            : {}),
          clock,
          log: silentLogger(),
          metrics: new VigilMetrics({ defaultMetrics: false }),
          onJudged: (m, s, p: Point, v, flags) => judged.push(`${m}|${s}|${p.t}|${v[0]?.expected}|${flags[0]}`),
        });
        const r = await engine.evaluate();
        expect(r.failed).toEqual([]);
        // a steady tick after the load (a bucket with no rows yet): its grid is a new one again (the load's are not kept)
        clock.advance(HOUR);
        expect((await engine.evaluate()).failed).toEqual([]);
        return { judged, reuse };
      };
      const separate = await run(false);
      const grouped = await run(true);
      // 720 hourly buckets in 11 passes: a first chunk of 8 (it learns the series count), nine of 72
      // and one of 64. In a pass the first two scans go out together, the third once the first
      // table's metrics are judged: it takes that grid's array. From the fourth pass on a pass has
      // the arrays of the one before (the first chunk's were smaller). The steady tick after the
      // load starts afresh, its metrics waiting on their scans side by side (whether the third
      // reuses depends on timing).
      expect(grouped.reuse.slice(0, 3)).toEqual([false, false, true]);
      expect(grouped.reuse.slice(9, 33)).toEqual(Array(24).fill(true));
      expect(grouped.reuse.slice(33, 35)).toEqual([false, false]);
      expect(grouped.reuse).toHaveLength(36);
      expect([...grouped.judged].sort()).toEqual([...separate.judged].sort());
      expect(grouped.judged.some((j) => j.endsWith("|true"))).toBe(true);
    } finally {
      await t.close();
    }
  });
});

describe("calendars, fill and row counts in the daemon", () => {
  it("a grouped scan counts the rows behind each bucket once for its metrics; the engine leaves out thin buckets, calendar days and routinely empty hours, and judges what a backtest judges", async () => {
    const t = await openTestDatabase();
    try {
      const table = "office_data";
      await createMetricTable(t.db, table);
      const rnd = noise(12);
      const data: Row[] = [];
      // three weeks from a Monday: 20 rows an hour 08:00-19:00 on weekdays, one late row at night, nothing at weekends
      for (let h = 0; h < 21 * 24; h++) {
        const dow = Math.floor(h / 24) % 7;
        const hour = h % 24;
        if (dow >= 5) continue;
        const n = hour >= 8 && hour < 20 ? 20 : 1;
        for (let i = 0; i < n; i++) data.push({ ts: T0 + h * HOUR + 60_000 + i, series: "a", v: n === 1 ? 300 : 100 + rnd() * 10 });
      }
      await insertRows(t.db, table, data);
      const weekdays = { days: [0, 1, 2, 3, 4], hours: null, holidays: null };
      const source = (value: string) => ({ table, time_column: "ts", value, split_by: ["series"], dimensions: [] });
      const ms: MetricConfig[] = [
        baseMetric({ name: "avg", source: source("avg(v)"), fill: "none", rowCounts: true, detectors: [], lookbackMs: 14 * 24 * HOUR }),
        baseMetric({ name: "count", source: source("count(*)"), fill: "zero", detectors: [], lookbackMs: 14 * 24 * HOUR }),
        baseMetric({
          name: "avg_weekdays",
          source: source("avg(v)"),
          fill: "none",
          rowCounts: true,
          calendar: weekdays,
          detectors: [],
          lookbackMs: 14 * 24 * HOUR,
        }),
      ];
      const run = async (grouped: boolean) => {
        const schema = `state_cal_${grouped ? "g" : "s"}`;
        await migrate(t.db, schema);
        const clock = new ManualClock(T0 + 14 * 24 * HOUR + 60_000);
        const judged: Array<{ m: string; t: number; v: number | null }> = [];
        const engine = new Engine(vigilConfig(ms), {
          store: new StateStore(t.db, schema),
          fetch: makeFetcher(t.db, silentLogger()),
          ...(grouped ? { fetchGroup: makeGroupFetcher(t.db, silentLogger()) } : {}),
          clock,
          log: silentLogger(),
          metrics: new VigilMetrics({ defaultMetrics: false }),
          onJudged: (m, _s, p: Point) => judged.push({ m, t: p.t, v: p.v }),
        });
        for (let k = 0; k < 7 * 24; k++) {
          const r = await engine.evaluate();
          expect(r.failed).toEqual([]);
          clock.advance(HOUR);
        }
        return judged;
      };
      const separate = await run(false);
      const grouped = await run(true);
      const order = (xs: typeof grouped) => [...xs].sort((a, b) => a.m.localeCompare(b.m) || a.t - b.t);
      expect(order(grouped)).toEqual(order(separate));
      const hours = (m: string) =>
        grouped
          .filter((j) => j.m === m)
          .map((j) => ({ dow: Math.floor((j.t - T0) / (24 * HOUR)) % 7, hour: (j.t % (24 * HOUR)) / HOUR, v: j.v }));
      // the one-row night hours are thin: never judged (the empty weekend hours are judged as missing data, which the detector knows is routine); outside the calendar nothing is judged
      expect(hours("avg").filter((x) => x.v !== null && (x.hour < 8 || x.hour >= 20))).toEqual([]);
      expect(hours("avg").filter((x) => x.v === null && x.dow < 5)).toEqual([]);
      expect(hours("avg_weekdays").filter((x) => x.dow >= 5)).toEqual([]);
      expect(hours("avg").filter((x) => x.v !== null).length).toBe(5 * 12);
      // counts: the weekend had rows a week earlier in no hour, so its empty hours are left out, not zeros
      expect(hours("count").filter((x) => x.dow >= 5)).toEqual([]);
      expect(hours("count").length).toBe(5 * 24);
      // and a backtest of the same buckets (the engine judged from the last closed bucket at its first tick), warmed up on the two weeks before, judges the same ones
      for (const m of ms) {
        const from = T0 + 14 * 24 * HOUR - HOUR;
        const to = from + 7 * 24 * HOUR;
        const r = replay(m, await loadHistory(t.db, m, T0, to), T0, to, true, from);
        expect(
          [...r.traces.values()][0]!.map((x) => x.p.t),
          m.name,
        ).toEqual(grouped.filter((j) => j.m === m.name).map((j) => j.t));
      }
    } finally {
      await t.close();
    }
  });

  it("a trading-day series in New York: Thanksgiving is left out as a backtest leaves it out, weekends raise no alert and no no_data, a weekday without rows raises no_data", async () => {
    const t = await openTestDatabase();
    try {
      const table = "close_data";
      await createMetricTable(t.db, table);
      const DAY = 24 * HOUR;
      // one row each weekday at 16:00 New York time (21:00Z in November), Oct 5 .. Dec 4 2020, none on Thanksgiving (Nov 26)
      const from = Date.UTC(2020, 9, 5);
      const data: Row[] = [];
      for (let d = 0; d < 61; d++) {
        const day = from + d * DAY;
        if (new Date(day).getUTCDay() % 6 === 0 || day === Date.UTC(2020, 10, 26)) continue;
        data.push({ ts: day + 21 * HOUR, series: "wti", v: 40 + (d % 5) });
      }
      await insertRows(t.db, table, data);
      const m = baseMetric({
        name: "close",
        source: { table, time_column: "ts", value: "avg(v)", split_by: [], dimensions: [] },
        granularityMs: DAY,
        timezone: "America/New_York",
        rowCounts: true,
        detectors: [{ type: "ensemble" }],
        lookbackMs: 40 * DAY,
      });
      await migrate(t.db, "state_thanksgiving");
      // the first tick loads the history up to Nov 15; then a tick a day, each an hour after the local day closed
      const clock = new ManualClock(Date.UTC(2020, 10, 16, 6));
      const judged: number[] = [];
      const engine = new Engine(vigilConfig([m]), {
        store: new StateStore(t.db, "state_thanksgiving"),
        fetch: makeFetcher(t.db, silentLogger()),
        clock,
        log: silentLogger(),
        metrics: new VigilMetrics({ defaultMetrics: false }),
        onJudged: (_m, _s, p: Point) => judged.push(p.t),
      });
      const opened: string[] = [];
      // to Dec 8: the rows end on Friday Dec 4, so the weekend after is routine and Monday is a broken source
      for (let k = 0; k < 23; k++) {
        const r = await engine.evaluate();
        expect(r.failed).toEqual([]);
        opened.push(
          ...(await new StateStore(t.db, "state_thanksgiving").openAlerts()).map(
            (a) => `${new Date(clock.now()).toISOString()} ${a.detector}: ${a.reason}`,
          ),
        );
        clock.advance(DAY);
      }
      const dates = judged.map((x) => new Date(x).toISOString().slice(0, 10));
      expect(dates).toContain("2020-11-25");
      expect(dates).toContain("2020-11-27");
      expect(dates).not.toContain("2020-11-26");
      expect(dates).toContain("2020-11-28"); // weekends are judged, as missing data the detectors know is routine
      expect(opened.filter((a) => !a.startsWith("2020-12-08"))).toEqual([]);
      expect(opened.filter((a) => a.includes("no_data"))).toEqual([
        "2020-12-08T06:00:00.000Z no_data: no data in the last bucket of close",
      ]);
      // a backtest of the same days judges the same buckets
      const r = replay(
        m,
        await loadHistory(t.db, m, from, Date.UTC(2020, 11, 8)),
        from,
        Date.UTC(2020, 11, 8),
        true,
        Date.UTC(2020, 10, 15),
      );
      const replayed = [...r.traces.values()][0]!.map((x) => x.p.t);
      expect(replayed.filter((x) => x >= judged[0]! && x <= judged[judged.length - 1]!)).toEqual(judged);
    } finally {
      await t.close();
    }
  });

  it("a 7-day hourly series in New York: Thanksgiving's quiet morning is no alert in the daemon or a backtest; with `holidays: []` it is one", async () => {
    const t = await openTestDatabase();
    try {
      const table = "rides_data";
      await createMetricTable(t.db, table);
      const rnd = noise(3);
      // eight weeks of hourly rides from Monday Oct 5 2020 (New York is UTC-4, UTC-5 from Nov 1): a morning rush on
      // weekdays, quiet weekend mornings; Thanksgiving (Thursday Nov 26) is a weekend day
      const from = Date.UTC(2020, 9, 5, 4);
      const data: Row[] = [];
      for (let h = 0; h < 8 * 7 * 24; h++) {
        const ts = from + h * HOUR;
        const local = new Date(ts - (ts < Date.UTC(2020, 10, 1, 6) ? 4 : 5) * HOUR);
        const day = local.getUTCDay();
        const quiet = day === 0 || day === 6 || local.toISOString().startsWith("2020-11-26");
        const hour = local.getUTCHours();
        const rush = !quiet && hour >= 7 && hour <= 9 ? 900 : 0;
        data.push({ ts: ts + 60_000, series: "city", v: 100 + 20 * Math.sin((hour / 24) * 2 * Math.PI) + rush + rnd() * 10 });
      }
      await insertRows(t.db, table, data);
      // `holidays: []` names none: nothing is implied
      const m = (holidays: "implied" | "none") =>
        baseMetric({
          name: "rides",
          source: { table, time_column: "ts", value: "avg(v)", split_by: [], dimensions: [] },
          timezone: "America/New_York",
          calendar: holidays === "none" ? { days: [0, 1, 2, 3, 4, 5, 6], hours: null, holidays: { dates: [] } } : null,
          rowCounts: true,
          detectors: [{ type: "ensemble" }],
          lookbackMs: 35 * 24 * HOUR,
        });
      const backtest = async (zone: "implied" | "none") => {
        const to = Date.UTC(2020, 10, 27, 5);
        const r = replay(m(zone), await loadHistory(t.db, m(zone), from, to), from, to, false, Date.UTC(2020, 10, 26, 5));
        return r.alerts.map((a) => `${new Date(a.firedAt).toISOString()} ${a.reason}`);
      };
      expect(await backtest("none")).toEqual([
        expect.stringMatching(/^2020-11-26T12:00:00.000Z \d+\.\dσ below the expected value for Thursday 07:00$/),
      ]);
      expect(await backtest("implied")).toEqual([]);
      // the daemon, ticking hourly through Thanksgiving after loading the weeks before
      await migrate(t.db, "state_holiday");
      const clock = new ManualClock(Date.UTC(2020, 10, 26, 5, 1));
      const engine = new Engine(vigilConfig([m("implied")]), {
        store: new StateStore(t.db, "state_holiday"),
        fetch: makeFetcher(t.db, silentLogger()),
        clock,
        log: silentLogger(),
        metrics: new VigilMetrics({ defaultMetrics: false }),
        onJudged: (_m, _s, p: Point, verdicts, flags) => {
          if (verdicts.some((v) => v.anomaly)) fresh.push(`${new Date(p.t).toISOString()} ${verdicts[0]!.reason} ${flags[0]}`);
        },
      });
      const fresh: string[] = [];
      for (let k = 0; k < 24; k++) {
        clock.advance(HOUR);
        expect((await engine.evaluate()).failed).toEqual([]);
        expect(await new StateStore(t.db, "state_holiday").openAlerts()).toEqual([]);
      }
      // the detector saw it; the engine, knowing the day, raised nothing
      expect(fresh).toEqual(["2020-11-26T12:00:00.000Z 238.1σ below the expected value for Thursday 07:00 false"]);
    } finally {
      await t.close();
    }
  });
});
