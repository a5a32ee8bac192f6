/**
 * The grid decoder of grouped scans: values land in their (series, bucket) slot, bad values become
 * NaN and are counted, buckets without a row stay missing (never zero), and two split values that
 * print alike are one series whose later row wins.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pointsToGrid } from "../src/engine/metric-grid.js";
import {
  decodeBucketGrid,
  fetchBucketGrid,
  fetchBuckets,
  fetchBucketsGrouped,
  type GridColumns,
  gridResults,
} from "../src/sources/index.js";
import { metric as baseMetric, HOUR } from "./helpers/config.js";
import { openTestDatabase, type TestDatabase } from "./helpers/db.js";

const T0 = Date.UTC(2026, 2, 1);

interface TestRow {
  t: number;
  k: unknown;
  vs: unknown[];
}

const COLS: GridColumns<TestRow> = { time: (r) => r.t, key: (r) => r.k, value: (r, a) => r.vs[a] };

describe("decodeBucketGrid", () => {
  const window = { from: T0, to: T0 + 4 * HOUR };

  it("puts each value in its slot, sorts series by key and leaves buckets without a row missing", () => {
    const rows: TestRow[] = [
      { t: T0, k: "web", vs: [1, 10] },
      { t: T0, k: "ios", vs: [2, 20] },
      { t: T0 + 2 * HOUR, k: "ios", vs: [3, 30] },
      { t: T0 + 3 * HOUR, k: "web", vs: [4, 40] },
    ];
    const g = decodeBucketGrid(["p"], 2, rows, window, HOUR, COLS);
    expect(g.buckets).toBe(4);
    expect(g.series.map((s) => s.key)).toEqual(["p=ios", "p=web"]);
    expect(g.series[0]!.labels).toEqual({ p: "ios" });
    expect([...g.values[0]!]).toEqual([2, NaN, 3, NaN, 1, NaN, NaN, 4]);
    expect([...g.values[1]!]).toEqual([20, NaN, 30, NaN, 10, NaN, NaN, 40]);
    expect([...g.present]).toEqual([1, 0, 1, 0, 1, 0, 0, 1]);
    expect(g.issues).toEqual([[], []]);
  });

  it("decodes into an earlier grid's array when it is large enough, with nothing of its old values left", () => {
    const rows: TestRow[] = [
      { t: T0, k: "web", vs: [1, 10] },
      { t: T0 + 3 * HOUR, k: "ios", vs: [2, 20] },
    ];
    const fresh = decodeBucketGrid(["p"], 2, rows, window, HOUR, COLS);
    const old = new Float64Array(40).fill(7);
    const reused = decodeBucketGrid(["p"], 2, rows, window, HOUR, COLS, old);
    expect(reused.values[0]!.buffer).toBe(old.buffer);
    expect(reused.values.map((v) => [...v])).toEqual(fresh.values.map((v) => [...v]));
    // too small: a new array
    const small = new Float64Array(15);
    expect(decodeBucketGrid(["p"], 2, rows, window, HOUR, COLS, small).values[0]!.buffer).not.toBe(small.buffer);
  });

  it("NULL, NaN, infinite and non-numeric values are NaN in the grid, counted by kind and aggregate", () => {
    const rows: TestRow[] = [
      { t: T0, k: "a", vs: [null, 1] },
      { t: T0 + HOUR, k: "a", vs: [Number.NaN, "2.5"] },
      { t: T0 + 2 * HOUR, k: "a", vs: [Number.POSITIVE_INFINITY, "x"] },
      { t: T0 + 3 * HOUR, k: "a", vs: ["NaN", 4n] },
    ];
    const g = decodeBucketGrid(["k"], 2, rows, window, HOUR, COLS);
    expect([...g.values[0]!]).toEqual([NaN, NaN, NaN, NaN]);
    expect([...g.values[1]!]).toEqual([1, 2.5, NaN, 4]);
    expect([...g.present]).toEqual([1, 1, 1, 1]);
    expect(g.issues[0]).toEqual([
      { key: "k=a", kind: "null", count: 1 },
      { key: "k=a", kind: "nan", count: 3 },
    ]);
    expect(g.issues[1]).toEqual([{ key: "k=a", kind: "non_numeric", count: 1 }]);
    // as points: the buckets are there, with no usable value
    expect(gridResults(g)[0]!.series[0]!.points).toEqual([
      { t: T0, v: null },
      { t: T0 + HOUR, v: null },
      { t: T0 + 2 * HOUR, v: null },
      { t: T0 + 3 * HOUR, v: null },
    ]);
  });

  it("NULL and the text '(null)' are two series: (null) and \"(null)\"", () => {
    const rows: TestRow[] = [
      { t: T0, k: null, vs: [1] },
      { t: T0, k: "(null)", vs: [2] },
      { t: T0 + HOUR, k: null, vs: [3] },
    ];
    const g = decodeBucketGrid(["k"], 1, rows, window, HOUR, COLS);
    expect(g.series.map((s) => s.key)).toEqual(['k="(null)"', "k=(null)"]);
    expect([...g.values[0]!]).toEqual([2, NaN, NaN, NaN, 1, 3, NaN, NaN]);
    expect(g.issues.flat()).toEqual([]);
  });

  it("an unsplit scan is one series with the empty key; no rows is no series", () => {
    const g = decodeBucketGrid([], 1, [{ t: T0 + HOUR, k: undefined, vs: [7] }], window, HOUR, COLS);
    expect(g.series).toEqual([{ key: "", labels: {} }]);
    expect([...g.values[0]!]).toEqual([NaN, 7, NaN, NaN]);
    const empty = decodeBucketGrid(["k"], 3, [], window, HOUR, COLS);
    expect(empty.series).toEqual([]);
    expect(empty.values.map((v) => v.length)).toEqual([0, 0, 0]);
    expect(gridResults(empty)).toEqual([
      { series: [], issues: [] },
      { series: [], issues: [] },
      { series: [], issues: [] },
    ]);
  });

  it("later scans meet their series again: the same objects, in key order whatever order the rows come in", () => {
    const cols: GridColumns<TestRow> = { time: (r) => r.t, key: (r, i) => (r.k as unknown[])[i], value: (r, a) => r.vs[a] };
    const first = decodeBucketGrid(
      ["a", "b"],
      1,
      [
        { t: T0, k: ["x", "2"], vs: [1] },
        { t: T0, k: ["x", "1"], vs: [2] },
        { t: T0, k: ["w", "9"], vs: [3] },
      ],
      window,
      HOUR,
      cols,
    );
    expect(first.series.map((s) => s.key)).toEqual(["a=w,b=9", "a=x,b=1", "a=x,b=2"]);
    const second = decodeBucketGrid(
      ["a", "b"],
      1,
      [
        { t: T0 + HOUR, k: ["w", "9"], vs: [4] },
        { t: T0 + HOUR, k: ["x", "2"], vs: [5] },
        { t: T0 + HOUR, k: ["x", "1"], vs: [6] },
        { t: T0 + HOUR, k: ["v", "0"], vs: [7] },
      ],
      window,
      HOUR,
      cols,
    );
    expect(second.series.map((s) => s.key)).toEqual(["a=v,b=0", "a=w,b=9", "a=x,b=1", "a=x,b=2"]);
    expect(second.series.slice(1)).toEqual(first.series);
    expect(second.series[1]).toBe(first.series[0]);
    expect([...second.values[0]!]).toEqual([NaN, 7, NaN, NaN, NaN, 4, NaN, NaN, NaN, 6, NaN, NaN, NaN, 5, NaN, NaN]);
    // 1 and "1", and two Date objects of one instant, print alike: one series, the later row wins
    const day = new Date(T0);
    const third = decodeBucketGrid(
      ["a", "b"],
      1,
      [
        { t: T0, k: ["x", 1], vs: [8] },
        { t: T0, k: ["x", "1"], vs: [9] },
        { t: T0, k: [day, "1"], vs: [10] },
        { t: T0, k: [new Date(T0), "1"], vs: [11] },
      ],
      window,
      HOUR,
      cols,
    );
    expect(third.series.map((s) => s.key)).toEqual(["a=2026-03-01T00:00:00.000Z,b=1", "a=x,b=1"]);
    expect(third.series[1]).toBe(first.series[1]);
    expect([...third.values[0]!]).toEqual([11, NaN, NaN, NaN, 9, NaN, NaN, NaN]);
    expect(third.issues[0]).toEqual([
      { key: "a=2026-03-01T00:00:00.000Z,b=1", kind: "duplicate", count: 1 },
      { key: "a=x,b=1", kind: "duplicate", count: 1 },
    ]);
  });

  it("a bucket off the window's grid is a bug in the scan, not data: it throws", () => {
    expect(() => decodeBucketGrid([], 1, [{ t: T0 + 1, k: null, vs: [1] }], window, HOUR, COLS)).toThrow(RangeError);
    expect(() => decodeBucketGrid([], 1, [{ t: T0 + 4 * HOUR, k: null, vs: [1] }], window, HOUR, COLS)).toThrow(RangeError);
  });
});

describe("pointsToGrid", () => {
  it("places points by bucket, drops those outside, and keeps missing buckets missing", () => {
    const g = pointsToGrid(
      {
        series: [
          {
            key: "a",
            labels: {},
            points: [
              { t: T0 - HOUR, v: 9 },
              { t: T0, v: 1 },
              { t: T0 + 2 * HOUR + 5, v: null },
            ],
          },
          { key: "b", labels: {}, points: [{ t: T0 + HOUR, v: 2 }] },
        ],
        issues: [],
      },
      T0,
      HOUR,
      3,
    );
    expect([...g.values]).toEqual([1, NaN, NaN, NaN, 2, NaN]);
    expect(g.series.map((s) => s.key)).toEqual(["a", "b"]);
  });
});

describe("grouped scan on the grid (database)", () => {
  let t: TestDatabase;
  const table = "grid_data";
  beforeAll(async () => {
    t = await openTestDatabase();
    await t.db.exec(`CREATE TABLE ${table} (ts timestamptz NOT NULL, region text, v double precision)`);
    const rows: Array<[number, string | null, number | null]> = [
      [T0 + 60_000, "eu", 1],
      [T0 + 120_000, "eu", 2],
      [T0 + 60_000, null, 5],
      [T0 + 60_000, "(null)", 6],
      [T0 + HOUR + 1, "us", null],
      [T0 + 3 * HOUR, "eu", Number.NaN],
    ];
    for (const [ts, region, v] of rows) {
      await t.db.query(`INSERT INTO ${table} VALUES ($1, $2, $3)`, [new Date(ts).toISOString(), region, v === null ? null : String(v)]);
    }
  });
  afterAll(async () => {
    await t.close();
  });

  it("agrees with reading each metric on its own, missing buckets included", async () => {
    const ms = ["sum(v)", "count(*)", "max(v) FILTER (WHERE v < 2)"].map((value, i) =>
      baseMetric({ name: `g${i}`, source: { table, time_column: "ts", value, split_by: ["region"], dimensions: [] } }),
    );
    const w = { from: T0 - 30 * 60_000, to: T0 + 4 * HOUR };
    const grid = await fetchBucketGrid(t.db, ms, w);
    expect(grid.from).toBe(T0);
    expect(grid.buckets).toBe(4);
    expect(grid.series.map((s) => s.key)).toEqual(['region="(null)"', "region=(null)", "region=eu", "region=us"]);
    // the text '(null)' and NULL keep their own rows
    expect([grid.values[0]![0], grid.values[0]![4]]).toEqual([6, 5]);
    // eu: 1 + 2 in the first hour, nothing in hours 1 and 2, NaN in hour 3
    expect([...grid.values[0]!.subarray(8, 12)]).toEqual([3, NaN, NaN, NaN]);
    expect([...grid.present.subarray(8, 12)]).toEqual([1, 0, 0, 1]);
    // us: a row whose sum is NULL, so present without a value; count(*) = 1
    expect([...grid.values[0]!.subarray(12, 16)]).toEqual([NaN, NaN, NaN, NaN]);
    expect([...grid.values[1]!.subarray(12, 16)]).toEqual([NaN, 1, NaN, NaN]);
    const grouped = await fetchBucketsGrouped(t.db, ms, w);
    for (let i = 0; i < ms.length; i++) {
      const alone = await fetchBuckets(t.db, ms[i]!, w);
      expect(grouped[i]!.series).toEqual(alone.series);
      const kinds = (xs: typeof alone.issues) => [...new Set(xs.map((x) => `${x.key}/${x.kind}`))].sort();
      expect(kinds(grouped[i]!.issues)).toEqual(kinds(alone.issues));
      expect(grouped[i]!.issues.filter((x) => x.kind === "duplicate")).toEqual(alone.issues.filter((x) => x.kind === "duplicate"));
    }
  });
});
