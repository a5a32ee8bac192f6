/**
 * The source layer against a real database: PGlite by default, PostgreSQL with VIGIL_TEST_DATABASE_URL.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MetricConfig, StructuredSource } from "../src/config/types.js";
import { type Database, DatabaseError } from "../src/db/database.js";
import { PgDatabase } from "../src/db/pg.js";
import { buildStructuredQuery, type FetchResult, fetchBuckets, SourceError } from "../src/sources/index.js";
import { openTestDatabase, TEST_DATABASE_URL, type TestDatabase } from "./helpers/db.js";

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2024, 0, 15);
const iso = (t: number): string => new Date(t).toISOString();

let t: TestDatabase;
let db: Database;
// PGlite takes seconds to start, more when test files run in parallel.
const SLOW = 60_000;

beforeAll(async () => {
  t = await openTestDatabase();
  db = t.db;
  // events: three hours of data; hour 1 has no rows at all.
  await db.exec(`
    CREATE SCHEMA analytics;
    CREATE TABLE analytics.events (ts timestamptz NOT NULL, user_id int, platform text, country text, event text);
  `);
  const rows: [number, number, string | null, string, string][] = [
    // hour 0
    [T0 + 1 * MIN, 1, "ios", "BR", "view"],
    [T0 + 2 * MIN, 1, "ios", "BR", "view"], // same user: counted once
    [T0 + 3 * MIN, 2, "ios", "BR", "view"],
    [T0 + 4 * MIN, 3, "ios", "DE", "view"],
    [T0 + 5 * MIN, 4, "android", "BR", "view"],
    [T0 + 6 * MIN, 5, "android", "BR", "click"], // filtered out by where
    [T0 + 7 * MIN, 6, null, "BR", "view"],
    // hour 2
    [T0 + 2 * HOUR, 7, "ios", "BR", "view"],
    [T0 + 2 * HOUR + 59 * MIN, 8, "android", "BR", "view"],
    // hour 3: exactly on the boundary belongs to hour 3
    [T0 + 3 * HOUR, 9, "ios", "BR", "view"],
  ];
  for (const [ts, user, platform, country, event] of rows) {
    await db.query("INSERT INTO analytics.events VALUES ($1, $2, $3, $4, $5)", [iso(ts), user, platform, country, event]);
  }
}, SLOW);

afterAll(async () => {
  await t?.close();
}, SLOW);

function metric(partial: Partial<MetricConfig>): MetricConfig {
  return {
    name: "test_metric",
    granularityMs: HOUR,
    lookbackMs: 14 * DAY,
    delayMs: 0,
    detectors: [],
    direction: "both",
    minChange: null,
    for: 1,
    severity: "warning",
    repeatEveryMs: null,
    resolveAfter: 1,
    notify: [],
    schedule: "*/5 * * * *",
    mute: [],
    fill: "none",
    minRows: null,
    rowCounts: false,
    calendar: null,
    ...partial,
  };
}

function source(partial: Partial<StructuredSource>): StructuredSource {
  return { table: "analytics.events", time_column: "ts", value: "count(*)", split_by: [], dimensions: [], ...partial };
}

/** { key: [[t offset from T0 in hours, v], ...] } for compact assertions. */
function compact(r: FetchResult, origin = T0, unit = HOUR): Record<string, [number, number | null][]> {
  return Object.fromEntries(r.series.map((s) => [s.key, s.points.map((p): [number, number | null] => [(p.t - origin) / unit, p.v])]));
}

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection");
}

describe("structured source", () => {
  it("buckets hourly, splits by two columns, filters and counts distinct", async () => {
    const m = metric({
      source: source({ value: "count(DISTINCT user_id)", where: "event = 'view'", split_by: ["platform", "country"] }),
    });
    const r = await fetchBuckets(db, m, { from: T0, to: T0 + 4 * HOUR });
    expect(compact(r)).toEqual({
      "platform=(null),country=BR": [[0, 1]],
      "platform=android,country=BR": [
        [0, 1],
        [2, 1],
      ],
      "platform=ios,country=BR": [
        [0, 2],
        [2, 1],
        [3, 1],
      ],
      "platform=ios,country=DE": [[0, 1]],
    });
    expect(r.series.find((s) => s.key === "platform=ios,country=DE")?.labels).toEqual({ platform: "ios", country: "DE" });
    expect(r.issues).toEqual([]);
  });

  it("reads only the series asked for, by their labels (NULL too), with the values bound", async () => {
    const m = metric({
      source: source({ value: "count(DISTINCT user_id)", where: "event = 'view'", split_by: ["platform", "country"] }),
    });
    const w = { from: T0, to: T0 + 4 * HOUR };
    const r = await fetchBuckets(db, m, w, [
      { platform: "ios", country: "BR" },
      { platform: "(null)", country: "BR" },
      { platform: "x' OR '1'='1", country: "BR" },
    ]);
    expect(compact(r)).toEqual({
      "platform=(null),country=BR": [[0, 1]],
      "platform=ios,country=BR": [
        [0, 2],
        [2, 1],
        [3, 1],
      ],
    });
    expect(buildStructuredQuery(m, w, [{ platform: "x' OR '1'='1", country: "BR" }]).values).toContain("x' OR '1'='1");
    expect((await fetchBuckets(db, m, w, [])).series).toEqual([]);
  });

  it("returns one unsplit series with key ''", async () => {
    const r = await fetchBuckets(db, metric({ source: source({ where: "event = 'view'" }) }), { from: T0, to: T0 + 4 * HOUR });
    expect(r.series).toHaveLength(1);
    expect(r.series[0]!.key).toBe("");
    expect(r.series[0]!.labels).toEqual({});
    expect(compact(r)).toEqual({
      "": [
        [0, 6],
        [2, 2],
        [3, 1],
      ],
    });
  });

  it("returns exactly the buckets that start in [from, to), the first one complete", async () => {
    const m = metric({ source: source({}) });
    expect(compact(await fetchBuckets(db, m, { from: T0 + 2 * HOUR, to: T0 + 3 * HOUR }))).toEqual({ "": [[2, 2]] });
    // `to` inside hour 3 (at its first minute): the still-filling bucket is returned with what it has so far.
    expect(compact(await fetchBuckets(db, m, { from: T0 + 2 * HOUR, to: T0 + 3 * HOUR + 1 }))).toEqual({
      "": [
        [2, 2],
        [3, 1],
      ],
    });
    // `from` inside hour 0: hour 0 would be partial, so the window starts at hour 1.
    expect(compact(await fetchBuckets(db, m, { from: T0 + 4 * MIN, to: T0 + 3 * HOUR }))).toEqual({ "": [[2, 2]] });
    // A window inside one bucket that does not start it: nothing (no partial bucket).
    expect((await fetchBuckets(db, m, { from: T0 + MIN, to: T0 + 2 * MIN })).series).toEqual([]);
  });

  it("returns no series for an empty result", async () => {
    const m = metric({ source: source({}) });
    expect(await fetchBuckets(db, m, { from: T0 + 10 * DAY, to: T0 + 11 * DAY })).toEqual({ series: [], issues: [] });
    expect(await fetchBuckets(db, m, { from: T0 + HOUR, to: T0 + HOUR })).toEqual({ series: [], issues: [] });
  });

  it("quotes identifiers with spaces, capitals and quotes", async () => {
    await db.exec(`
      CREATE SCHEMA "Odd Schema";
      CREATE TABLE "Odd Schema"."My ""Events"" T" ("Event Time" timestamptz, "User ID" int, "Plat Form" text, "select" text);
    `);
    await db.query(`INSERT INTO "Odd Schema"."My ""Events"" T" VALUES ($1, 1, 'ios', 'x'), ($1, 2, 'ios', 'y'), ($2, 3, 'web', 'x')`, [
      iso(T0 + MIN),
      iso(T0 + HOUR + MIN),
    ]);
    const m = metric({
      source: {
        table: 'Odd Schema.My "Events" T',
        time_column: "Event Time",
        value: 'count(DISTINCT "User ID")',
        where: `"select" = 'x'`,
        split_by: ["Plat Form"],
        dimensions: [],
      },
    });
    expect(compact(await fetchBuckets(db, m, { from: T0, to: T0 + 2 * HOUR }))).toEqual({
      "Plat Form=ios": [[0, 1]],
      "Plat Form=web": [[1, 1]],
    });
  });

  it("binds the window as parameters even when the trusted where clause has quotes and comments", async () => {
    const m = metric({ source: source({ where: "event = 'vi''ew' OR event = 'view' -- trailing comment" }) });
    const q = buildStructuredQuery(m, { from: T0, to: T0 + HOUR });
    expect(q.text).not.toContain(iso(T0));
    expect(compact(await fetchBuckets(db, m, { from: T0, to: T0 + HOUR }))).toEqual({ "": [[0, 6]] });
  });

  it("works on timestamp and date columns, read as UTC", async () => {
    await db.exec(`
      CREATE TABLE naive (ts timestamp, n int);
      INSERT INTO naive VALUES ('2024-01-15 00:30:00', 1), ('2024-01-15 01:30:00', 2), ('2024-01-15 01:45:00', 3);
      CREATE TABLE daily (day date, n int);
      INSERT INTO daily VALUES ('2024-01-14', 10), ('2024-01-15', 20), ('2024-01-16', 30);
    `);
    const naive = metric({ source: source({ table: "naive", value: "sum(n)" }) });
    expect(compact(await fetchBuckets(db, naive, { from: T0, to: T0 + 2 * HOUR }))).toEqual({
      "": [
        [0, 1],
        [1, 5],
      ],
    });
    const daily = metric({ granularityMs: DAY, source: source({ table: "daily", time_column: "day", value: "sum(n)" }) });
    expect(compact(await fetchBuckets(db, daily, { from: T0, to: T0 + 2 * DAY }), T0, DAY)).toEqual({
      "": [
        [0, 20],
        [1, 30],
      ],
    });
  });

  it("reports NULL and NaN aggregates as missing values", async () => {
    await db.exec(`
      CREATE TABLE measures (ts timestamptz, x double precision);
      INSERT INTO measures VALUES
        ('2024-01-15T00:10:00Z', NULL),
        ('2024-01-15T01:10:00Z', 'NaN'),
        ('2024-01-15T02:10:00Z', 'Infinity'),
        ('2024-01-15T03:10:00Z', 4.5);
    `);
    const r = await fetchBuckets(db, metric({ source: source({ table: "measures", value: "avg(x)" }) }), {
      from: T0,
      to: T0 + 4 * HOUR,
    });
    expect(compact(r)).toEqual({
      "": [
        [0, null],
        [1, null],
        [2, null],
        [3, 4.5],
      ],
    });
    expect(r.issues).toEqual(
      expect.arrayContaining([
        { key: "", kind: "null", count: 1 },
        { key: "", kind: "nan", count: 2 },
      ]),
    );
    expect(r.issues).toHaveLength(2);
  });

  it("uses an index on the time column for a small recent window", async () => {
    await db.exec(`
      CREATE TABLE big (ts timestamptz NOT NULL, user_id int, platform text);
      INSERT INTO big SELECT '2024-01-01T00:00:00Z'::timestamptz + (i * interval '1 minute'), i % 500, CASE WHEN i % 2 = 0 THEN 'ios' ELSE 'web' END
        FROM generate_series(1, 43200) AS i;
      CREATE INDEX big_ts ON big (ts);
      ANALYZE big;
    `);
    const m = metric({ source: source({ table: "big", value: "count(DISTINCT user_id)", split_by: ["platform"] }) });
    const now = Date.UTC(2024, 0, 30, 12);
    const q = buildStructuredQuery(m, { from: now - 2 * HOUR, to: now });
    const { rows } = await db.query(`EXPLAIN ${q.text}`, q.values);
    const plan = rows.map((r) => String(Object.values(r)[0])).join("\n");
    expect(plan).toMatch(/Index (Only )?Scan|Bitmap Index Scan/);
    expect(plan).toMatch(/Index Cond: \(\(ts >= .*\) AND \(ts < .*\)\)/);
    const r = await fetchBuckets(db, m, { from: now - 2 * HOUR, to: now });
    expect(r.series.map((s) => [s.key, s.points.length])).toEqual([
      ["platform=ios", 2],
      ["platform=web", 2],
    ]);
  });
});

describe("raw query source", () => {
  it("runs the operator's SQL with the window and uses extra text columns as the series key", async () => {
    const m = metric({
      query: `SELECT date_bin('1 hour', ts, TIMESTAMPTZ 'epoch') AS t, platform, count(*) AS value, 42 AS ignored_number
              FROM analytics.events WHERE ts >= $1 AND ts < $2 AND platform IS NOT NULL
              GROUP BY 1, 2 ORDER BY 1`,
    });
    const r = await fetchBuckets(db, m, { from: T0, to: T0 + 3 * HOUR });
    expect(compact(r)).toEqual({
      "platform=android": [
        [0, 2],
        [2, 1],
      ],
      "platform=ios": [
        [0, 4],
        [2, 1],
      ],
    });
    expect(r.series[0]!.labels).toEqual({ platform: "android" });
    expect(r.issues).toEqual([]);
  });

  it("returns one unsplit series for a time column and value only, and keeps buckets to [from, to)", async () => {
    // No placeholders at all: vigil still returns only the window's buckets.
    const m = metric({
      query: "SELECT date_bin('1 hour', ts, TIMESTAMPTZ 'epoch') AS t, count(*) AS value FROM analytics.events GROUP BY 1",
    });
    expect(compact(await fetchBuckets(db, m, { from: T0 + 2 * HOUR, to: T0 + 3 * HOUR }))).toEqual({ "": [[2, 2]] });
    // Only $1 used.
    const from = metric({
      query: "SELECT date_bin('1 hour', ts, TIMESTAMPTZ 'epoch') AS t, count(*) AS value FROM analytics.events WHERE ts >= $1 GROUP BY 1",
    });
    expect(compact(await fetchBuckets(db, from, { from: T0 + 2 * HOUR, to: T0 + 3 * HOUR }))).toEqual({ "": [[2, 2]] });
  });

  it("cleans NULL, NaN, Infinity, non-numeric, duplicate and out-of-order rows", async () => {
    const m = metric({
      query: `SELECT t::timestamptz AS t, k, value FROM (VALUES
                ('2024-01-15T03:00:00Z', 'a', '3'),
                ('2024-01-15T01:00:00Z', 'a', '1'),
                ('2024-01-15T02:00:00Z', 'a', NULL),
                ('2024-01-15T00:00:00Z', 'a', 'NaN'),
                ('2024-01-15T04:00:00Z', 'a', 'Infinity'),
                ('2024-01-15T05:00:00Z', 'a', 'oops'),
                ('2024-01-15T05:00:00Z', 'a', '5.5'),
                ('2024-01-15T00:00:00Z', 'b', '7')
              ) AS v(t, k, value)
              WHERE t::timestamptz >= $1 AND t::timestamptz < $2`,
    });
    const r = await fetchBuckets(db, m, { from: T0, to: T0 + 6 * HOUR });
    expect(compact(r)).toEqual({
      "k=a": [
        [0, null],
        [1, 1],
        [2, null],
        [3, 3],
        [4, null],
        [5, 5.5],
      ],
      "k=b": [[0, 7]],
    });
    const issues = Object.fromEntries(r.issues.map((i) => [`${i.key}:${i.kind}`, i.count]));
    expect(issues).toEqual({
      "k=a:out_of_order": 3,
      "k=a:null": 1,
      "k=a:nan": 2,
      "k=a:non_numeric": 1,
      "k=a:duplicate": 1,
    });
  });

  it("accepts numeric and bigint values, a date bucket and an enum key", async () => {
    await db.exec(`
      CREATE TYPE tier AS ENUM ('free', 'paid');
      CREATE TABLE revenue (day date, plan tier, amount numeric(12, 2));
      INSERT INTO revenue VALUES ('2024-01-15', 'free', 0), ('2024-01-15', 'paid', 12.34), ('2024-01-16', 'paid', 100.5);
    `);
    const m = metric({
      granularityMs: DAY,
      query: "SELECT day, plan, sum(amount) AS value FROM revenue WHERE day >= $1::date AND day < $2::date GROUP BY 1, 2",
    });
    const r = await fetchBuckets(db, m, { from: T0, to: T0 + 2 * DAY });
    expect(compact(r, T0, DAY)).toEqual({
      "plan=free": [[0, 0]],
      "plan=paid": [
        [0, 12.34],
        [1, 100.5],
      ],
    });
  });

  it("returns no series for an empty result", async () => {
    const m = metric({ query: "SELECT ts AS t, 1 AS value FROM analytics.events WHERE ts >= $1 AND ts < $2" });
    expect(await fetchBuckets(db, m, { from: T0 + 10 * DAY, to: T0 + 11 * DAY })).toEqual({ series: [], issues: [] });
  });
});

describe("errors", () => {
  it("names the metric, the server's complaint and where in the SQL", async () => {
    const m = metric({ name: "dau", source: source({ value: "count(DISTINCT no_such_col)" }) });
    const err = await caught(fetchBuckets(db, m, { from: T0, to: T0 + HOUR }));
    expect(err).toBeInstanceOf(SourceError);
    const e = err as SourceError;
    expect(e.kind).toBe("query");
    expect(e.metric).toBe("dau");
    expect(e.message).toMatch(/^metric "dau": column "no_such_col" does not exist \[SQLSTATE 42703\] \(near: no_such_col\)\)$/);
  });

  it("reports a syntax error in a raw query", async () => {
    const m = metric({ name: "raw", query: "SELECT ts AS t, 1 AS value FROM analytics.events WHERE ts >= $1 AND AND ts < $2" });
    const e = (await caught(fetchBuckets(db, m, { from: T0, to: T0 + HOUR }))) as SourceError;
    expect(e).toBeInstanceOf(SourceError);
    expect(e.message).toMatch(/^metric "raw": syntax error at or near "AND" \[SQLSTATE 42601\] \(at line 1, column 69: AND ts < \$2\)/);
  });

  it("says what columns a raw query must return", async () => {
    const m = metric({ name: "shape", query: "SELECT ts, 1 AS v FROM analytics.events WHERE ts >= $1 AND ts < $2" });
    const e = (await caught(fetchBuckets(db, m, { from: T0, to: T0 + HOUR }))) as SourceError;
    expect(e.kind).toBe("shape");
    expect(e.message).toMatch(
      /must return a timestamp column .* and a column named "value"; it returned: ts \(timestamptz\), v \(integer\)/,
    );
    const extra = metric({ name: "p3", query: "SELECT $3" });
    const e3 = (await caught(fetchBuckets(db, extra, { from: T0, to: T0 + HOUR }))) as SourceError;
    expect(e3.kind).toBe("shape");
    expect(e3.message).toMatch(/uses \$3/);
  });

  it.skipIf(!TEST_DATABASE_URL)(
    "PostgreSQL cancels a metric query past its query_timeout; other queries keep the pool's timeout",
    async () => {
      const slow = metric({
        name: "slow",
        query: "SELECT now() AS t, 1 AS value FROM pg_sleep(30) WHERE $1::timestamptz < $2::timestamptz",
        queryTimeoutMs: 1000,
      });
      const e = (await caught(fetchBuckets(db, slow, { from: T0, to: T0 + HOUR }))) as SourceError;
      expect(e).toBeInstanceOf(SourceError);
      expect(e.message).toBe('metric "slow": the query ran longer than its query_timeout (1s) and was cancelled');
      // every pooled session is back on the default for queries that set none
      const shown = await Promise.all(Array.from({ length: 3 }, () => db.query<{ statement_timeout: string }>("SHOW statement_timeout")));
      const timeouts = new Set(shown.map((r) => r.rows[0]!.statement_timeout));
      expect(timeouts.size).toBe(1);
      expect(timeouts.has("1s")).toBe(false);
    },
  );

  it("passes an unreachable database through as a connection DatabaseError, for the caller to retry", async () => {
    const down = new PgDatabase({ url: "postgres://u:pw@127.0.0.1:1/x" });
    try {
      const e = (await caught(
        fetchBuckets(down, metric({ name: "dau", source: source({}) }), { from: T0, to: T0 + HOUR }),
      )) as DatabaseError;
      expect(e).toBeInstanceOf(DatabaseError);
      expect(e.kind).toBe("connection");
      expect(e.message).toBe("cannot reach PostgreSQL at 127.0.0.1:1: connect ECONNREFUSED");
    } finally {
      await down.close();
    }
  });
});
