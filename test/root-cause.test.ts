import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../src/clock.js";
import type { MetricConfig } from "../src/config/types.js";
import type { Database } from "../src/db/database.js";
import { buildDetectors } from "../src/engine/build-detectors.js";
import { Engine } from "../src/engine/engine.js";
import { attribute, type DimensionCause, describeDriver, describeRootCause, findDrivers, sliceLabel } from "../src/engine/root-cause.js";
import { sliceBaseline } from "../src/engine/slice-baseline.js";
import { silentLogger } from "../src/log.js";
import { deviationParts, notificationText } from "../src/model/format.js";
import { makeFetcher } from "../src/source-fetcher.js";
import { fetchDimension } from "../src/sources/dimension-query.js";
import { migrate } from "../src/store/migrations.js";
import { StateStore } from "../src/store/state-store.js";
import { VigilMetrics } from "../src/telemetry/metrics.js";
import { until } from "./helpers/cli.js";
import { DAY, HOUR, metric, vigilConfig } from "./helpers/config.js";
import { openTestDatabase, TEST_DATABASE_URL, type TestDatabase } from "./helpers/db.js";
import { noise } from "./helpers/series.js";

const T0 = Date.UTC(2026, 0, 5);
const MIN15 = 15 * 60_000;

interface SliceRow {
  t: number;
  os: string | null;
  country: string;
  n: number;
}

/** Creates `table (ts timestamptz, os text, country text, region text always NULL, n float8)` holding `rows`. */
async function seed(db: Database, table: string, rows: readonly SliceRow[]): Promise<void> {
  await db.exec(`CREATE TABLE ${table} (ts timestamptz NOT NULL, os text, country text, region text, n double precision)`);
  await db.query(
    `INSERT INTO ${table} SELECT to_timestamp(t / 1000.0), o, c, NULL, n FROM unnest($1::float8[], $2::text[], $3::text[], $4::float8[]) AS x(t, o, c, n)`,
    [rows.map((r) => r.t), rows.map((r) => r.os), rows.map((r) => r.country), rows.map((r) => r.n)],
  );
}

/** An engine with drill-down on `db` at `now`, for one metric. */
function engineFor(db: Database, m: MetricConfig, now: number): { engine: Engine; store: StateStore } {
  const store = new StateStore(db);
  const engine = new Engine(vigilConfig([m]), {
    store,
    fetch: makeFetcher(db, silentLogger()),
    drill: (metricConfig, target) => findDrivers(db, metricConfig, target),
    clock: new ManualClock(now),
    log: silentLogger(),
    metrics: new VigilMetrics({ defaultMetrics: false }),
  });
  return { engine, store };
}

const slice = (value: string | null, actual: number, expected: number | null) => ({ value, actual, expected });

describe("root cause by dimension", () => {
  it("gives each slice its signed share of the alert's deviation and says what the listed slices leave", () => {
    // the drop is 110: Android −120 and the NULL slice −40, while iOS (+20) and a new slice (+30) moved against it
    const cause = attribute(
      "os",
      [slice("Android", 80, 200), slice("iOS", 120, 100), slice(null, 10, 50), slice("Linux", 30, null), slice("(null)", 40, 40)],
      280 - 390,
      3,
    )!;
    expect(cause.drivers.map((d) => [d.value, Math.round(d.share * 100)])).toEqual([
      ["Android", 109],
      [null, 36],
      ["Linux", -27],
    ]);
    expect(Math.round(cause.rest * 100)).toBe(-18);
    expect(describeRootCause([cause], "drop")).toEqual([
      "os=Android: −60% vs expected (80 vs 200), explains 109% of the drop",
      "os=(null): −80% vs expected (10 vs 50), explains 36% of the drop",
      "os=Linux: new slice (30, no baseline), explains −27% of the drop",
      "os: other slices / unexplained: −18%",
    ]);
  });

  it("says what no slice explains when the slices' deviations do not add up to the alert's", () => {
    const cause = attribute("country", [slice("BR", 20, 100), slice("US", 100, 100)], -100, 3)!;
    expect(describeRootCause([cause], "drop")).toEqual([
      "country=BR: −80% vs expected (20 vs 100), explains 80% of the drop",
      "country: other slices / unexplained: 20%",
    ]);
  });

  it("names a dimension whose values all moved in proportion once, instead of sharing the drop out between them", () => {
    const even = attribute("country", [slice("DE", 45, 90), slice("US", 55, 110)], -100, 3)!;
    expect(describeRootCause([even], "drop")).toEqual([
      "country: no value stands out (the drop is spread over its values in proportion to their size)",
    ]);
  });

  it("fits the chat's five lines by listing fewer slices of a dimension rather than losing its remainder", () => {
    const os = attribute("os", [slice("a", 0, 50), slice("b", 0, 30), slice("c", 0, 20), slice("d", 100, 100)], -100, 3)!;
    const country = attribute("country", [slice("x", 0, 60), slice("y", 0, 25), slice("z", 5, 20), slice("w", 50, 50)], -100, 3)!;
    expect(describeRootCause([os, country], "drop")).toEqual([
      "os=a: −100% vs expected (0 vs 50), explains 50% of the drop",
      "os=b: −100% vs expected (0 vs 30), explains 30% of the drop",
      "os=c: −100% vs expected (0 vs 20), explains 20% of the drop",
      "country=x: −100% vs expected (0 vs 60), explains 60% of the drop",
      "country: other slices / unexplained: 40%",
    ]);
  });

  it("shows a NULL dimension value as (null) and the text '(null)' in quotes", () => {
    expect(sliceLabel(null)).toBe("(null)");
    expect(sliceLabel("(null)")).toBe('"(null)"');
    expect(sliceLabel("")).toBe('""');
    expect(sliceLabel("iOS")).toBe("iOS");
  });

  it("says the change in percent, except against an expected value next to zero", () => {
    const d = { dimension: "country", value: "BR", actual: 20, expected: 100, change: -0.8, share: 0.71 };
    expect(describeDriver(d, "drop")).toBe("country=BR: −80% vs expected (20 vs 100), explains 71% of the drop");
    const fromZero = { ...d, actual: 52, expected: 0.001, change: 51_999, share: 1 };
    expect(describeDriver(fromZero, "rise")).toBe("country=BR: 52 vs 0 expected, explains 100% of the rise");
    expect(describeDriver({ ...d, actual: 52, expected: 0, change: null, share: 1 }, "rise")).toBe(
      "country=BR: 52 vs 0 expected, explains 100% of the rise",
    );
    expect(deviationParts({ value: 143, expected: 100, sigmas: 4.2 })).toEqual(["+43.0%", "+4.2σ"]);
    expect(deviationParts({ value: 21.5, expected: 1e-6, sigmas: 999 })).toEqual(["+999.0σ"]);
  });

  it("takes a slice's baseline from the detector that fired (the same seasonal slot), not from a median of its history", () => {
    const m = metric({ name: "hourly", detectors: [{ type: "seasonal", period: "1d", seasons: 3, k: 3 }], lookbackMs: 5 * DAY });
    const [seasonal] = buildDetectors(m);
    const bucket = T0 + 4 * DAY + 14 * HOUR;
    // busy afternoons (100), quiet the rest of the day (10): the median of the history is 10
    const points = Array.from({ length: 4 * 24 + 15 }, (_, h) => ({ t: T0 + h * HOUR, v: h % 24 >= 12 && h % 24 < 18 ? 100 : 10 }));
    points[points.length - 1]!.v = 30;
    expect(sliceBaseline(m, seasonal, points, bucket)).toEqual({ actual: 30, expected: 100 });
    expect(sliceBaseline(m, undefined, points, bucket)).toEqual({ actual: 30, expected: 10 });
    expect(sliceBaseline(m, seasonal, [{ t: bucket, v: 7 }], bucket)).toEqual({ actual: 7, expected: null });
  });

  describe("against a real table", () => {
    let t: TestDatabase;
    beforeAll(async () => {
      t = await openTestDatabase();
      await migrate(t.db);
    });
    afterAll(async () => {
      await t.close();
    });

    it.skipIf(!TEST_DATABASE_URL)(
      "a drill-down past its budget is cancelled by PostgreSQL, not left running on a pooled connection",
      async () => {
        await seed(t.db, "slow_src", [{ t: T0, os: "iOS", country: "US", n: 1 }]);
        // every read of the view sleeps 20 s
        await t.db.exec("CREATE VIEW slow_view AS SELECT s.* FROM slow_src s, pg_sleep(20)");
        const m = metric({
          name: "slow",
          source: { table: "slow_view", time_column: "ts", value: "sum(n)", split_by: [], dimensions: ["os", "country"] },
        });
        const target = { bucket: T0, filter: {}, detector: buildDetectors(m)[0], value: 1, expected: 2 };
        expect(await findDrivers(t.db, m, target, { budgetMs: 300 })).toEqual([]);
        const sleeping = async () =>
          (
            await t.db.query<{ n: number }>(
              "SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%slow_view%' AND pid <> pg_backend_pid()",
            )
          ).rows[0]!.n;
        // cancelled at the budget: gone long before the 20 s sleep would have ended
        await until(async () => (await sleeping()) === 0, "the dimension queries cancelled", 10_000);
      },
    );

    it("blames os=Android with ~100% on a 15-minute metric whose drop is all on Android, and not iOS", async () => {
      // four days of data (the table's retention), far less than the weeks the baseline used to look back over
      const rnd = noise(21);
      const rows: SliceRow[] = [];
      const buckets = 4 * 96;
      for (let b = 0; b < buckets; b++) {
        for (const [os, base] of [
          ["Android", 60],
          ["iOS", 40],
        ] as const) {
          for (const country of ["US", "DE"]) {
            const n = b === buckets - 1 && os === "Android" ? 3 : base * (1 + rnd() * 0.02);
            rows.push({ t: T0 + b * MIN15 + 60_000, os, country, n });
          }
        }
      }
      await seed(t.db, "logins", rows);
      const m = metric({
        name: "logins",
        source: { table: "logins", time_column: "ts", value: "sum(n)", split_by: [], dimensions: ["os", "country"] },
        granularityMs: MIN15,
        lookbackMs: 14 * DAY,
        detectors: [{ type: "zscore", window: 48, k: 4, min_points: 24 }],
      });
      const { engine, store } = engineFor(t.db, m, T0 + buckets * MIN15);
      await engine.evaluate();
      const [alert] = await store.listAlerts();
      expect(alert?.state).toBe("firing");
      const contributors = alert!.details.contributors as string[];
      expect(contributors[0]).toMatch(/^os=Android: −9\d% vs expected \(6 vs 1\d\d\), explains (9[5-9]|10[0-5])% of the drop$/);
      expect(contributors).toContain("country: no value stands out (the drop is spread over its values in proportion to their size)");
      expect(contributors.join("\n")).not.toMatch(/iOS|\+0%/);
      const text = notificationText((await store.deliveries())[0]!.payload);
      expect(text).toContain(`top contributors:\n  • ${contributors[0]}\n`);
    });

    it("keeps NULL apart from the text '(null)', finds the rows of a NULL split series, and calls a slice without history new", async () => {
      const rows: SliceRow[] = [];
      for (let h = 0; h < 72; h++) {
        const last = h === 71;
        rows.push({ t: T0 + h * HOUR, os: "Android", country: "US", n: last ? 80 : 200 });
        rows.push({ t: T0 + h * HOUR, os: "iOS", country: "US", n: last ? 120 : 100 });
        rows.push({ t: T0 + h * HOUR, os: null, country: "US", n: last ? 10 : 50 });
        rows.push({ t: T0 + h * HOUR, os: "(null)", country: "US", n: 40 });
      }
      rows.push({ t: T0 + 71 * HOUR + 60_000, os: "Linux", country: "US", n: 30 });
      await seed(t.db, "plays", rows);
      const m = metric({
        name: "plays",
        source: { table: "plays", time_column: "ts", value: "sum(n)", split_by: ["region"], dimensions: ["os"] },
        lookbackMs: 3 * DAY,
      });
      const bucket = T0 + 71 * HOUR;
      const slices = await fetchDimension(t.db, {
        metric: m,
        dimension: "os",
        window: { from: bucket - HOUR, to: bucket + HOUR },
        filter: { region: "(null)" },
      });
      // (the order of texts is the database's collation)
      expect(slices.map((s) => [s.value, s.points.map((p) => p.v)]).sort((a, b) => String(a[0]).localeCompare(String(b[0])))).toEqual([
        ["(null)", [40, 40]],
        ["Android", [200, 80]],
        ["iOS", [100, 120]],
        ["Linux", [30]],
        [null, [50, 10]],
      ]);
      const target = { bucket, filter: { region: "(null)" }, detector: buildDetectors(m)[0], value: 280, expected: 390 };
      const causes: DimensionCause[] = await findDrivers(t.db, m, target);
      expect(describeRootCause(causes, "drop")).toEqual([
        "os=Android: −60% vs expected (80 vs 200), explains 109% of the drop",
        "os=(null): −80% vs expected (10 vs 50), explains 36% of the drop",
        "os=Linux: new slice (30, no baseline), explains −27% of the drop",
        "os: other slices / unexplained: −18%",
      ]);
    });

    it("compares local days with the same weekday of the detector's seasons at daily granularity", async () => {
      // 15 days of history: weekdays busy, weekends quiet; every row at 00:30 Berlin, the previous day in UTC
      const rows: SliceRow[] = [];
      const days = 16;
      for (let d = 0; d < days; d++) {
        const weekend = [5, 6].includes(d % 7); // T0 is a Monday
        const at = T0 + d * DAY - 30 * 60_000;
        rows.push({ t: at, os: "web", country: "DE", n: d === days - 1 ? 10 : weekend ? 40 : 100 });
        rows.push({ t: at, os: "web", country: "US", n: weekend ? 80 : 200 });
      }
      await seed(t.db, "orders", rows);
      const m = metric({
        name: "orders",
        source: { table: "orders", time_column: "ts", value: "sum(n)", split_by: [], dimensions: ["country"] },
        granularityMs: DAY,
        timezone: "Europe/Berlin",
        lookbackMs: 120 * DAY,
        detectors: [{ type: "seasonal", period: "7d", seasons: 2, k: 3 }],
      });
      const { engine, store } = engineFor(t.db, m, T0 + days * DAY);
      await engine.evaluate();
      const [alert] = await store.listAlerts();
      expect(alert?.state).toBe("firing");
      expect(alert?.bucket).toBe(T0 + (days - 1) * DAY);
      expect(alert!.details.contributors).toEqual(["country=DE: −90% vs expected (10 vs 100), explains 100% of the drop"]);
      expect(alert!.details.lastWeek).toBe(300);
    });
  });
});
