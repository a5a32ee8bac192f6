/**
 * Long-format tables (`metric, host, ts, v`) with one metric per name (`where: "metric = 'a'"`):
 * the metrics share one scan per tick, grouped by the filtered column too, and judge exactly what
 * separate reads judge; a filter of another shape keeps its own scan.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MetricConfig } from "../src/config/types.js";
import { fetchBuckets, fetchBucketsGrouped, scanKey } from "../src/sources/fetch-buckets.js";
import { discriminatorOf } from "../src/sources/long-format.js";
import { metric } from "./helpers/config.js";
import { openTestDatabase, type TestDatabase } from "./helpers/db.js";
import { scanEngine } from "./helpers/engine.js";
import { noise } from "./helpers/series.js";

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 5);
const TABLE = "long_kpis";

function kpi(name: string, where: string, value = "avg(v)"): MetricConfig {
  return metric({
    name,
    source: { table: TABLE, time_column: "ts", value, where, split_by: ["host"], dimensions: [] },
    detectors: [{ type: "zscore", window: 24, k: 3, min_points: 12 }],
    lookbackMs: 3 * 24 * HOUR,
  });
}

describe("long-format filters", () => {
  it("an equality on one column with a text literal is a discriminator; anything else is not", () => {
    expect(discriminatorOf("metric = 'dau'")).toEqual({ column: "metric", literal: "'dau'", value: "dau" });
    expect(discriminatorOf(` "Metric Name"='it''s' `)).toEqual({ column: "Metric Name", literal: "'it''s'", value: "it's" });
    expect(discriminatorOf("Metric = 'x'")?.column).toBe("metric");
    for (const other of [
      "metric = 'a' AND env = 'prod'",
      "metric IN ('a', 'b')",
      "metric = 5",
      "metric = 'a' OR TRUE",
      "lower(metric) = 'a'",
    ])
      expect(discriminatorOf(other)).toBeNull();
    expect(scanKey(kpi("a", "metric = 'a'"))).toBe(scanKey(kpi("b", "metric = 'b'")));
    expect(scanKey(kpi("a", "metric = 'a'"))).not.toBe(scanKey(kpi("e", "metric = 'a' AND env = 'prod'")));
  });
});

describe("long-format tables share one scan", () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await openTestDatabase();
    await t.db.exec(`CREATE TABLE ${TABLE} (ts timestamptz NOT NULL, metric text NOT NULL, host text NOT NULL, v double precision)`);
    const rnd = noise(11);
    const ts: number[] = [];
    const names: string[] = [];
    const hosts: string[] = [];
    const vs: number[] = [];
    for (let h = 0; h < 6 * 24; h++) {
      for (const name of ["a", "b", "c", "x"]) {
        for (const host of ["h1", "h2", "h3"]) {
          if (name === "b" && host === "h3" && h % 40 === 7) continue; // a hole
          ts.push(T0 + h * HOUR + 60_000);
          names.push(name);
          hosts.push(host);
          vs.push(name === "a" && host === "h2" && h === 130 ? 900 : 100 + rnd() * 10 + (name === "c" ? 50 : 0));
        }
      }
    }
    await t.db.query(
      `INSERT INTO ${TABLE} (ts, metric, host, v) SELECT to_timestamp(t / 1000.0), m, h, v FROM unnest($1::float8[], $2::text[], $3::text[], $4::float8[]) AS x(t, m, h, v)`,
      [ts, names, hosts, vs],
    );
    await t.db.exec(`INSERT INTO ${TABLE} VALUES ('${new Date(T0 + 100 * HOUR).toISOString()}', 'b', 'h1', 'NaN')`);
  });
  afterAll(async () => {
    await t.close();
  });

  const metrics = () => [
    kpi("kpi_a", "metric = 'a'"),
    kpi("kpi_b", "metric = 'b'"),
    kpi("kpi_c", `"metric" = 'c'`),
    kpi("kpi_a_max", "metric = 'a'", "max(v)"),
    kpi("kpi_missing", "metric = 'nobody'"),
  ];

  it("each metric gets from the shared scan exactly what its own query returns", async () => {
    const ms = metrics();
    const w = { from: T0 + 90 * HOUR + 123, to: T0 + 140 * HOUR + 5 };
    const grouped = await fetchBucketsGrouped(t.db, ms, w);
    for (let i = 0; i < ms.length; i++) expect(grouped[i]).toEqual(await fetchBuckets(t.db, ms[i]!, w));
    expect(grouped[1]!.issues.length).toBeGreaterThan(0);
  });

  it("one query per tick serves every metric, with the verdicts and alerts of separate reads", async () => {
    const ms = metrics();
    const run = async (grouped: boolean) => {
      const {
        engine,
        clock,
        judged,
        reads: readsNow,
        resetReads,
      } = await scanEngine(t.db, {
        schema: `state_long_${grouped ? "g" : "s"}`,
        table: TABLE,
        metrics: ms,
        now: T0 + 120 * HOUR + 60_000,
        grouped,
      });
      const reads: number[] = [];
      const charted: number[] = [];
      const alerts: string[] = [];
      for (let k = 0; k < 16; k++) {
        resetReads();
        const r = await engine.evaluate();
        expect(r.failed).toEqual([]);
        reads.push(readsNow());
        // metrics whose alerts went out read their recent history once, for the chart (a metric's own no-data alert has none)
        charted.push(
          r.metrics.filter((x) =>
            x.events.some((e) => e.alert.kind === "metric" && (e.event.notify === "firing" || e.event.notify === "reminder")),
          ).length,
        );
        for (const x of r.metrics) for (const e of x.events) alerts.push(`${k}|${e.alert.metric}|${e.alert.series}|${e.event.to}`);
        clock.advance(HOUR);
      }
      return { reads, judged, charted, alerts };
    };
    const separate = await run(false);
    const grouped = await run(true);
    const passes = (k: number) => (k === 0 ? 2 : 1);
    expect(separate.reads).toEqual(separate.charted.map((n, k) => passes(k) * ms.length + n));
    expect(grouped.reads).toEqual(grouped.charted.map((n, k) => passes(k) + n));
    expect([...grouped.judged].sort()).toEqual([...separate.judged].sort());
    expect(grouped.alerts).toEqual(separate.alerts);
    expect(grouped.alerts.some((a) => a.includes("kpi_a|host=h2|firing"))).toBe(true);
  });
});
