import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../src/clock.js";
import { Engine } from "../src/engine/engine.js";
import { describeDriver, findDrivers, rankSlices } from "../src/engine/root-cause.js";
import { deviationParts } from "../src/delivery/format.js";
import { VigilMetrics } from "../src/http/metrics.js";
import { silentLogger } from "../src/log.js";
import { makeFetcher } from "../src/source-fetcher.js";
import { migrate } from "../src/store/migrations.js";
import { StateStore } from "../src/store/state-store.js";
import { HOUR, metric, vigilConfig } from "./helpers/config.js";
import { openTestDatabase, type TestDatabase } from "./helpers/db.js";
import { noise } from "./helpers/series.js";

const T0 = Date.UTC(2026, 0, 5);

describe("root cause by dimension", () => {
  it("ranks the slices that carry the deviation against their own baselines", () => {
    const byValue = new Map<string, Array<number | null>>([
      // [alert bucket, 1w, 2w, 3w, 4w]
      ["BR", [20, 100, 104, 96, 100]],
      ["US", [195, 200, 210, 190, 205]],
      ["DE", [52, 50, 49, 51, null]],
    ]);
    const drivers = rankSlices("country", byValue, 3);
    expect(drivers[0]).toMatchObject({ dimension: "country", value: "BR", actual: 20, expected: 100, change: -0.8 });
    expect(drivers[0]!.share).toBeGreaterThan(0.9);
    expect(drivers.map((d) => d.value)).toEqual(["BR", "US"]);
  });

  it("says the change in percent, except against an expected value next to zero", () => {
    const d = { dimension: "country", value: "BR", actual: 20, expected: 100, change: -0.8, share: 0.71 };
    expect(describeDriver(d, "drop")).toBe("country=BR: −80% vs expected (20 vs 100), explains 71% of the drop");
    const fromZero = { ...d, actual: 52, expected: 0.001, change: 51_999, share: 1 };
    expect(describeDriver(fromZero, "rise")).toBe("country=BR: 52 vs 0 expected, explains 100% of the rise");
    expect(deviationParts({ value: 143, expected: 100, sigmas: 4.2 })).toEqual(["+43.0%", "+4.2σ"]);
    expect(deviationParts({ value: 21.5, expected: 1e-6, sigmas: 999 })).toEqual(["+999.0σ"]);
  });

  describe("against a real table", () => {
    let t: TestDatabase;
    beforeAll(async () => {
      t = await openTestDatabase();
      await migrate(t.db);
      await t.db.exec("CREATE TABLE sales (ts timestamptz NOT NULL, country text, platform text, amount double precision)");
      const rnd = noise(4);
      const ts: number[] = [];
      const c: string[] = [];
      const p: string[] = [];
      const a: number[] = [];
      for (let h = 0; h < 36 * 24; h++) {
        for (const [country, base] of [
          ["BR", 40],
          ["US", 100],
          ["DE", 30],
        ] as const) {
          for (const platform of ["ios", "web"]) {
            ts.push(T0 + h * HOUR + 60_000);
            c.push(country);
            p.push(platform);
            const broken = h === 35 * 24 + 10 && country === "BR";
            a.push(broken ? base * 0.1 : base * (1 + rnd() * 0.1));
          }
        }
      }
      await t.db.query(
        "INSERT INTO sales SELECT to_timestamp(t / 1000.0), c, p, a FROM unnest($1::float8[], $2::text[], $3::text[], $4::float8[]) AS x(t, c, p, a)",
        [ts, c, p, a],
      );
    });
    afterAll(async () => {
      await t.close();
    });

    it("puts 'country=BR … explains N% of the drop' and last week's value into the firing alert", async () => {
      const m = metric({
        name: "revenue",
        source: { table: "sales", time_column: "ts", value: "sum(amount)", split_by: [], dimensions: ["country", "platform"] },
        detectors: [{ type: "zscore", window: 48, k: 4, min_points: 24 }],
        lookbackMs: 10 * 24 * HOUR,
      });
      const store = new StateStore(t.db);
      const clock = new ManualClock(T0 + (35 * 24 + 11) * HOUR);
      const engine = new Engine(vigilConfig([m]), {
        store,
        fetch: makeFetcher(t.db, silentLogger()),
        drill: (metricConfig, bucket, filter) => findDrivers(t.db, metricConfig, bucket, filter),
        clock,
        log: silentLogger(),
        metrics: new VigilMetrics({ defaultMetrics: false }),
      });
      await engine.evaluate();
      const [alert] = await store.listAlerts();
      expect(alert?.state).toBe("firing");
      const contributors = alert!.details.contributors as string[];
      expect(contributors[0]).toMatch(/^country=BR: −90% vs expected .*explains (9\d|100)% of the drop$/);
      expect(typeof alert!.details.lastWeek).toBe("number");
      const delivery = (await store.deliveries())[0]!;
      expect(delivery.payload.type === "alert" && delivery.payload.alert.details.contributors).toEqual(contributors);
    });
  });
});
