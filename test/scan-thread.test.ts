/**
 * The scan thread (VIGIL_SCAN_THREAD=1): grouped scans run and decoded on a thread of their own give
 * the grids, errors and verdicts of scans run in-process. The thread needs a PostgreSQL server
 * (the embedded database lives in the main thread), so most of this runs only with one.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../src/clock.js";
import { Daemon } from "../src/daemon.js";
import { DatabaseError, isConnectionError } from "../src/db/database.js";
import type { PgDatabase } from "../src/db/pg.js";
import { Engine } from "../src/engine/engine.js";
import { silentLogger } from "../src/log.js";
import type { Point } from "../src/model/point.js";
import { makeFetcher, makeGroupFetcher } from "../src/source-fetcher.js";
import { planGroupScan } from "../src/sources/fetch-buckets.js";
import { fetchBucketGrid, SourceError } from "../src/sources/index.js";
import { ScanThread } from "../src/sources/scan-thread.js";
import { reviveError, serializeError } from "../src/sources/scan-worker.js";
import { migrate } from "../src/store/migrations.js";
import { StateStore } from "../src/store/state-store.js";
import { VigilMetrics } from "../src/telemetry/metrics.js";
import { HOUR, vigilConfig, zscoreMetricsOn } from "./helpers/config.js";
import { openTestDatabase, TEST_DATABASE_URL, type TestDatabase } from "./helpers/db.js";
import { createMetricTable, insertRows, noise, type Row } from "./helpers/series.js";

const T0 = Date.UTC(2026, 0, 5);

describe("errors crossing to the main thread", () => {
  it("come back as the classes callers test for, with their fields", () => {
    const conn = reviveError(
      serializeError(new DatabaseError("cannot reach PostgreSQL at db:5432", "connection", { code: "ECONNREFUSED" })),
    );
    expect(isConnectionError(conn)).toBe(true);
    expect(conn.message).toBe("cannot reach PostgreSQL at db:5432");
    expect((conn as DatabaseError).code).toBe("ECONNREFUSED");

    const cause = new DatabaseError('column "nope" does not exist', "query", { code: "42703", position: 12 });
    const src = reviveError(serializeError(new SourceError("a, b", 'column "nope" does not exist (near: nope)', "query", { cause })));
    expect(src).toBeInstanceOf(SourceError);
    expect(src.message).toBe('metric "a, b": column "nope" does not exist (near: nope)');
    expect((src as SourceError).kind).toBe("query");
    expect(src.cause).toBeInstanceOf(DatabaseError);
    expect((src.cause as DatabaseError).details.position).toBe(12);

    const range = reviveError(serializeError(new RangeError("bucket 2026-01-05T00:00:01.000Z is not on the grid of the window")));
    expect(range.name).toBe("RangeError");
    expect(range.message).toContain("not on the grid");
    expect(isConnectionError(range)).toBe(false);
  });
});

it("a scan that cannot be planned rejects, as a failed one does, instead of throwing at the engine", async () => {
  const thread = new ScanThread({ url: "postgres://postgres@127.0.0.1:1/never-started" });
  const fetchGroup = makeGroupFetcher(null as unknown as Parameters<typeof makeGroupFetcher>[0], silentLogger(), thread);
  // two tables: not one scan
  const ms = [...zscoreMetricsOn("t1", ["sum(v)"]), ...zscoreMetricsOn("t2", ["sum(v)"])];
  let result: Promise<unknown> | undefined;
  expect(() => {
    result = fetchGroup(ms, { from: T0, to: T0 + HOUR });
  }).not.toThrow();
  await expect(result).rejects.toThrow(/do not share one scan/);
  await thread.close();
});

describe.skipIf(TEST_DATABASE_URL === undefined)("grouped scans on the scan thread (PostgreSQL)", () => {
  let t: TestDatabase;
  let thread: ScanThread;
  const table = "scan_thread_data";
  beforeAll(async () => {
    t = await openTestDatabase();
    await createMetricTable(t.db, table);
    const rnd = noise(11);
    const rows: Row[] = [];
    for (let h = 0; h < 6 * 24; h++) {
      for (const series of ["ios", "android", "web"]) {
        if (series === "web" && h % 50 === 3) continue;
        rows.push({ ts: T0 + h * HOUR + 60_000, series, v: series === "ios" && h === 130 ? 900 : 100 + rnd() * 10 });
      }
    }
    await insertRows(t.db, table, rows);
    thread = new ScanThread((t.db as PgDatabase).threadOptions);
  });
  afterAll(async () => {
    await thread.close();
    await t.close();
  });

  it("decodes the grid the main thread would, into the array it was given", async () => {
    const ms = zscoreMetricsOn(table, ["sum(v)", "max(v)", "count(*)", "avg(v) * 2"]);
    const w = { from: T0 + 90 * HOUR + 123, to: T0 + 140 * HOUR + 5 };
    const here = await fetchBucketGrid(t.db, ms, w);
    const reuse = new Float64Array(ms.length * 3 * 60);
    const there = await thread.run(planGroupScan(ms, w), reuse);
    // the array went to the thread and came back holding the grid
    expect(reuse.byteLength).toBe(0);
    expect(there.values[0]!.buffer.byteLength).toBe(ms.length * 3 * 60 * 8);
    expect(there.from).toBe(here.from);
    expect(there.buckets).toBe(here.buckets);
    expect(there.series).toEqual(here.series);
    expect([...there.present]).toEqual([...here.present]);
    expect(there.values.map((v) => [...v])).toEqual(here.values.map((v) => [...v]));
    expect(there.issues).toEqual(here.issues);
  });

  it("a broken value expression rejects with the SourceError the main thread would raise", async () => {
    const ms = zscoreMetricsOn(table, ["sum(v)", "sum(no_such_column)"]);
    const w = { from: T0, to: T0 + 10 * HOUR };
    const here = await fetchBucketGrid(t.db, ms, w).catch((e: unknown) => e);
    const there = await thread.run(planGroupScan(ms, w)).catch((e: unknown) => e);
    expect(there).toBeInstanceOf(SourceError);
    expect((there as SourceError).kind).toBe("query");
    expect((there as SourceError).message).toBe((here as SourceError).message);
  });

  it("an unreachable server is a connection error, which the fetcher retries like any other", async () => {
    const away = new ScanThread({ url: "postgres://postgres@127.0.0.1:1/nowhere", connectTimeoutMs: 2000 });
    try {
      const err = await away
        .run(planGroupScan(zscoreMetricsOn(table, ["sum(v)", "max(v)"]), { from: T0, to: T0 + HOUR }))
        .catch((e: unknown) => e);
      expect(isConnectionError(err)).toBe(true);
      expect((err as Error).message).toContain("127.0.0.1:1");
    } finally {
      await away.close();
    }
  });

  it("the engine judges exactly as with scans in its own thread", async () => {
    const ms = zscoreMetricsOn(table, ["sum(v)", "max(v)", "count(*)"]);
    const run = async (threaded: boolean) => {
      const schema = `state_${threaded ? "thread" : "main"}`;
      await migrate(t.db, schema);
      const clock = new ManualClock(T0 + 120 * HOUR + 60_000);
      const judged: string[] = [];
      const engine = new Engine(vigilConfig(ms), {
        store: new StateStore(t.db, schema),
        fetch: makeFetcher(t.db, silentLogger()),
        fetchGroup: makeGroupFetcher(t.db, silentLogger(), threaded ? thread : undefined),
        clock,
        log: silentLogger(),
        metrics: new VigilMetrics({ defaultMetrics: false }),
        onJudged: (m, s, p: Point, v, flags) => judged.push(`${m}|${s}|${p.t}|${p.v}|${v[0]?.expected}|${flags[0]}`),
      });
      const alerts: number[] = [];
      for (let k = 0; k < 16; k++) {
        const r = await engine.evaluate();
        expect(r.failed).toEqual([]);
        alerts.push(r.metrics.reduce((a, x) => a + x.events.length, 0));
        clock.advance(HOUR);
      }
      return { judged, alerts };
    };
    const main = await run(false);
    const threaded = await run(true);
    expect(threaded.judged.length).toBe(3 * 3 * 16); // metrics × series × ticks
    expect(threaded.judged).toEqual(main.judged);
    expect(threaded.alerts).toEqual(main.alerts);
    expect(threaded.alerts.some((n) => n > 0)).toBe(true);
  });

  it("once closed, it takes no more scans", async () => {
    const closing = new ScanThread((t.db as PgDatabase).threadOptions);
    const ms = zscoreMetricsOn(table, ["sum(v)", "max(v)"]);
    await closing.run(planGroupScan(ms, { from: T0, to: T0 + HOUR }));
    await closing.close();
    await expect(closing.run(planGroupScan(ms, { from: T0, to: T0 + HOUR }))).rejects.toThrow(/closed/);
  });
});

describe("VIGIL_SCAN_THREAD", () => {
  it("takes 0 or 1 and says so otherwise", async () => {
    const t = await openTestDatabase();
    try {
      const err = await Daemon.create({
        configPath: "scan-thread-test",
        config: vigilConfig([]),
        env: { VIGIL_SCAN_THREAD: "yes" },
        metricsDb: t.db,
        stateDb: t.db,
        log: silentLogger(),
        http: false,
        watch: false,
      }).catch((e: unknown) => e);
      expect((err as Error).message).toBe("VIGIL_SCAN_THREAD must be 0 or 1, got yes");
    } finally {
      await t.close();
    }
  });
});
