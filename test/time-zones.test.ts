/**
 * Time as the operator means it: local days in the config's `timezone` (23- and 25-hour days, DST at
 * midnight), naive timestamp columns in `source.timezone`, and window bounds that do not depend on
 * the session's TimeZone. Runs on PostgreSQL (VIGIL_TEST_DATABASE_URL) and PGlite, with the session
 * set to Pacific/Kiritimati (+14) so that any conversion through the session shows.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { utcMs } from "../detectors/local-time.js";
import type { ExperimentConfig, GuardrailConfig, MetricConfig } from "../src/config/types.js";
import type { Database } from "../src/db/database.js";
import { PgDatabase } from "../src/db/pg.js";
import { dayStart } from "../src/digest/zoned-time.js";
import { lastClosedBucket } from "../src/engine/fetcher.js";
import { fetchAssignmentCounts, fetchGuardrailSums } from "../src/experiments/sql.js";
import { bucketClock } from "../src/sources/bucket-clock.js";
import { fetchBucketGrid, fetchBuckets } from "../src/sources/fetch-buckets.js";
import type { FetchResult } from "../src/sources/types.js";
import { fetchWindowValues } from "../src/sources/window-query.js";
import { DAY, HOUR, metric } from "./helpers/config.js";
import { openTestDatabase, type TestDatabase } from "./helpers/db.js";

const ODD_ZONE = "Pacific/Kiritimati";
const at = (s: string) => Date.parse(s);
const iso = (t: number) => new Date(t).toISOString();

function counts(res: FetchResult): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const p of res.series[0]?.points ?? []) out[iso(p.t)] = p.v;
  return out;
}

function source(table: string, timezone?: string): MetricConfig["source"] {
  return { table, time_column: "ts", value: "count(*)", split_by: [], dimensions: [], ...(timezone ? { timezone } : {}) };
}

describe("time zones in metric SQL (session TimeZone Pacific/Kiritimati)", () => {
  let t: TestDatabase;
  let db: Database;
  let extra: PgDatabase | undefined;

  beforeAll(async () => {
    t = await openTestDatabase();
    // every 30 minutes from 2026-03-26 to 2026-04-02 UTC, and Havana/Santiago's DST weeks of 2024
    await t.db.exec(`
      CREATE TABLE ev_tz (ts timestamptz NOT NULL);
      CREATE TABLE ev_naive (ts timestamp NOT NULL);
      CREATE TABLE ev_date (ts date NOT NULL);
      CREATE TABLE ev_days (ts date NOT NULL, n int NOT NULL);
      INSERT INTO ev_days SELECT d::date, extract(day FROM d)::int FROM generate_series(DATE '2026-03-20', DATE '2026-04-05', interval '1 day') d;
      INSERT INTO ev_tz SELECT generate_series(TIMESTAMPTZ '2026-03-26 00:00:00+00', TIMESTAMPTZ '2026-04-01 23:30:00+00', interval '30 minutes');
      INSERT INTO ev_naive SELECT ts AT TIME ZONE 'Europe/Berlin' FROM ev_tz;
      INSERT INTO ev_date SELECT (ts AT TIME ZONE 'UTC')::date FROM ev_tz;
      CREATE TABLE ev_dst (ts timestamptz NOT NULL);
      INSERT INTO ev_dst SELECT generate_series(TIMESTAMPTZ '2024-03-05 00:00:00+00', TIMESTAMPTZ '2024-03-15 00:00:00+00', interval '30 minutes');
      INSERT INTO ev_dst SELECT generate_series(TIMESTAMPTZ '2024-04-02 00:00:00+00', TIMESTAMPTZ '2024-04-12 00:00:00+00', interval '30 minutes');
      INSERT INTO ev_dst SELECT generate_series(TIMESTAMPTZ '2024-09-03 00:00:00+00', TIMESTAMPTZ '2024-09-13 00:00:00+00', interval '30 minutes');
      INSERT INTO ev_dst SELECT generate_series(TIMESTAMPTZ '2024-10-01 00:00:00+00', TIMESTAMPTZ '2024-10-11 00:00:00+00', interval '30 minutes');
    `);
    if (t.url) {
      // vigil's pool sets TimeZone=UTC on connect; a URL parameter wins over it
      const u = new URL(t.url);
      u.searchParams.set("options", `-c TimeZone=${ODD_ZONE}`);
      extra = new PgDatabase({ url: u.toString() });
      db = extra;
    } else {
      await t.db.exec(`SET TIME ZONE '${ODD_ZONE}'`);
      db = t.db;
    }
    const { rows } = await db.query("SHOW TimeZone");
    expect(String(rows[0]?.TimeZone ?? rows[0]?.timezone)).toBe(ODD_ZONE);
  });

  afterAll(async () => {
    await extra?.close();
    await t?.close();
  });

  it("reads a naive column in source.timezone exactly as the timestamptz column of the same instants", async () => {
    const window = { from: at("2026-03-28T20:00:00Z"), to: at("2026-03-29T04:00:00Z") }; // across Berlin's spring change
    const tz = counts(await fetchBuckets(db, metric({ name: "a", source: source("ev_tz") }), window));
    const naive = counts(await fetchBuckets(db, metric({ name: "b", source: source("ev_naive", "Europe/Berlin") }), window));
    expect(Object.keys(tz)).toHaveLength(8);
    expect(Object.values(tz).every((v) => v === 2)).toBe(true);
    expect(naive).toEqual(tz);
  });

  it("reads a naive column without source.timezone as UTC, not as the session's zone", async () => {
    const window = { from: at("2026-03-27T10:00:00Z"), to: at("2026-03-27T12:00:00Z") };
    const naive = await fetchBuckets(db, metric({ name: "c", source: source("ev_naive") }), window);
    // the rows written 10:00 and 11:00 (wall time, Berlin) are read as 10:00Z and 11:00Z
    expect(counts(naive)).toEqual({ "2026-03-27T10:00:00.000Z": 2, "2026-03-27T11:00:00.000Z": 2 });
    // the window holds exactly its rows: wall times 10:00 to 11:30, not shifted by the session's +14h
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM ev_naive WHERE ts >= '2026-03-27 10:00' AND ts < '2026-03-27 12:00'`);
    expect(Number(rows[0]?.n)).toBe(4);
  });

  it("cuts days at local midnight: the spring-forward day of Berlin has 23 hours, the others 24", async () => {
    const days = metric({ name: "d", source: source("ev_tz"), granularityMs: DAY, timezone: "Europe/Berlin" });
    // bucket times are local dates (floating); the window is in those terms too
    const window = { from: at("2026-03-27T00:00:00Z"), to: at("2026-04-01T00:00:00Z") };
    const expected = {
      "2026-03-27T00:00:00.000Z": 48,
      "2026-03-28T00:00:00.000Z": 48,
      "2026-03-29T00:00:00.000Z": 46,
      "2026-03-30T00:00:00.000Z": 48,
      "2026-03-31T00:00:00.000Z": 48,
    };
    expect(counts(await fetchBuckets(db, days, window))).toEqual(expected);
    // the naive column in Berlin time gives the same days, and so does a grouped scan
    const naiveDays = metric({ name: "e", source: source("ev_naive", "Europe/Berlin"), granularityMs: DAY, timezone: "Europe/Berlin" });
    expect(counts(await fetchBuckets(db, naiveDays, window))).toEqual(expected);
    const grid = await fetchBucketGrid(db, [days, { ...days, name: "d2" }], window);
    expect(iso(grid.from)).toBe("2026-03-27T00:00:00.000Z");
    expect(Array.from(grid.values[1]!)).toEqual([48, 48, 46, 48, 48]);
  });

  it("agrees with the digest on what a local day is", async () => {
    const days = metric({ name: "f", source: source("ev_tz"), granularityMs: DAY, timezone: "Europe/Berlin" });
    const now = at("2026-03-30T07:00:00Z"); // 09:00 in Berlin on Monday 30 March
    const yesterday = lastClosedBucket(bucketClock(days, now), DAY, 0);
    expect(iso(yesterday)).toBe("2026-03-29T00:00:00.000Z");
    const digestDay = { from: dayStart(now, "Europe/Berlin", 1), to: dayStart(now, "Europe/Berlin", 0) };
    expect(digestDay.from).toBe(utcMs(yesterday, "Europe/Berlin"));
    const [digestValue] = await fetchWindowValues(db, days, [digestDay]);
    expect(counts(await fetchBuckets(db, days, { from: yesterday, to: yesterday + DAY }))).toEqual({
      "2026-03-29T00:00:00.000Z": digestValue,
    });
    expect(digestValue).toBe(46);
  });

  it("reads the digest's windows on a naive column in source.timezone", async () => {
    const naive = metric({ name: "g", source: source("ev_naive", "Europe/Berlin") });
    const day = {
      from: dayStart(at("2026-03-30T07:00:00Z"), "Europe/Berlin", 1),
      to: dayStart(at("2026-03-30T07:00:00Z"), "Europe/Berlin", 0),
    };
    expect(await fetchWindowValues(db, naive, [day, { from: day.from - DAY, to: day.from }])).toEqual([46, 48]);
  });

  it("bins a date column into days without the session's zone", async () => {
    const days = metric({ name: "h", source: source("ev_date"), granularityMs: DAY });
    const res = counts(await fetchBuckets(db, days, { from: at("2026-03-27T00:00:00Z"), to: at("2026-03-29T00:00:00Z") }));
    expect(res).toEqual({ "2026-03-27T00:00:00.000Z": 48, "2026-03-28T00:00:00.000Z": 48 });
  });

  it.each(["America/Los_Angeles", "Asia/Tokyo", "Pacific/Pago_Pago", ODD_ZONE])(
    "puts each row of a date column on its own local day, in buckets and in the digest (%s)",
    async (zone) => {
      const n = (d: string) => Number(d.slice(8, 10));
      for (const tz of [undefined, "UTC"]) {
        const src = { ...source("ev_days", tz)!, value: "sum(n)" };
        const days = metric({ name: "dd", source: src, granularityMs: DAY, timezone: zone });
        const window = { from: at("2026-03-27T00:00:00Z"), to: at("2026-03-31T00:00:00Z") };
        const expected = Object.fromEntries(
          ["2026-03-27", "2026-03-28", "2026-03-29", "2026-03-30"].map((d) => [`${d}T00:00:00.000Z`, n(d)]),
        );
        expect(counts(await fetchBuckets(db, days, window))).toEqual(expected);
        const grid = await fetchBucketGrid(db, [days, { ...days, name: "dd2" }], window);
        expect(Array.from(grid.values[1]!)).toEqual([27, 28, 29, 30]);
        // the digest's "yesterday" at 09:00 local on 30 March is the 29th, and the day before the 28th
        const now = utcMs(at("2026-03-30T09:00:00Z"), zone);
        const windows = [1, 2].map((k) => ({ from: dayStart(now, zone, k), to: dayStart(now, zone, k - 1) }));
        expect(await fetchWindowValues(db, days, windows)).toEqual([29, 28]);
      }
    },
  );

  it("starts weeks on Monday, in local time", async () => {
    const weeks = metric({ name: "w", source: source("ev_tz"), granularityMs: 7 * DAY, timezone: "Europe/Berlin" });
    const res = await fetchBuckets(db, weeks, { from: at("2026-03-20T00:00:00Z"), to: at("2026-04-06T00:00:00Z") });
    // the week of Monday 23 March (local) holds the rows from Thursday 26th 01:00 CET (00:00Z) to
    // Sunday 29th 24:00 CEST (22:00Z), 94 hours; the next one those to Wednesday 1 April 23:30Z, 74 hours
    expect(counts(res)).toEqual({ "2026-03-23T00:00:00.000Z": 94 * 2, "2026-03-30T00:00:00.000Z": 74 * 2 });
  });

  it.each([
    ["America/Havana", "2024-03-10", 46, "2024-03-05", "2024-03-14"], // 00:00 -> 01:00
    ["America/Santiago", "2024-09-08", 46, "2024-09-04", "2024-09-12"], // 00:00 -> 01:00
    ["America/Santiago", "2024-04-07", 50, "2024-04-03", "2024-04-11"], // the 6th ends at 24:00 -03, which is 23:00 -04 again
    ["America/Asuncion", "2024-10-06", 46, "2024-10-02", "2024-10-10"], // 00:00 -> 01:00
  ])("neither drops nor doubles a day where DST changes at midnight (%s, %s)", async (zone, change, hours2, first, last) => {
    const days = metric({ name: "x", source: source("ev_dst"), granularityMs: DAY, timezone: zone });
    const res = counts(await fetchBuckets(db, days, { from: at(`${first}T00:00:00Z`), to: at(`${last}T00:00:00Z`) }));
    const keys = Object.keys(res);
    expect(keys.length).toBe((at(`${last}T00:00:00Z`) - at(`${first}T00:00:00Z`)) / DAY);
    // consecutive local dates: none missing, none twice
    expect(keys).toEqual(keys.map((_, i) => iso(at(`${first}T00:00:00Z`) + i * DAY)));
    const longer = zone === "America/Santiago" && change === "2024-04-07";
    // the day that lost (or, on the way back, gained) the hour is the day before for Santiago in April
    const odd = longer ? "2024-04-06" : change;
    for (const k of keys) expect(res[k], k).toBe(k.startsWith(odd) ? hours2 : 48);
    // and the digest's day is the same day
    const dayAfter = at(`${odd}T00:00:00Z`) + DAY;
    const now = utcMs(dayAfter, zone) + HOUR;
    expect(iso(lastClosedBucket(bucketClock(days, now), DAY, 0))).toBe(`${odd}T00:00:00.000Z`);
    expect(dayStart(now, zone, 1)).toBe(utcMs(at(`${odd}T00:00:00Z`), zone));
    expect(await fetchWindowValues(db, days, [{ from: dayStart(now, zone, 1), to: dayStart(now, zone, 0) }])).toEqual([hours2]);
  });
});

describe("time zones in experiment SQL (session TimeZone Pacific/Kiritimati)", () => {
  let t: TestDatabase;
  let db: Database;
  let extra: PgDatabase | undefined;

  beforeAll(async () => {
    t = await openTestDatabase();
    // assigned at 10:00 Berlin wall time (09:00Z); events at 08:30Z (before) and 09:30Z (after)
    await t.db.exec(`
      CREATE TABLE asg (uid int, variant text, at timestamp);
      INSERT INTO asg VALUES (1, 'control', '2026-01-01 10:00'), (2, 'treatment', '2026-01-01 10:00');
      CREATE TABLE evs (uid int, at timestamptz, v int);
      INSERT INTO evs VALUES (1, '2026-01-01 08:30+00', 1), (1, '2026-01-01 09:30+00', 1), (2, '2026-01-01 09:30+00', 1);
    `);
    if (t.url) {
      const u = new URL(t.url);
      u.searchParams.set("options", `-c TimeZone=${ODD_ZONE}`);
      extra = new PgDatabase({ url: u.toString() });
      db = extra;
    } else {
      await t.db.exec(`SET TIME ZONE '${ODD_ZONE}'`);
      db = t.db;
    }
  });

  afterAll(async () => {
    await extra?.close();
    await t?.close();
  });

  const experiment = (timezone?: string): ExperimentConfig => ({
    name: "x",
    variants: { control: 0.5, treatment: 0.5 },
    control: "control",
    assignments: { table: "asg", unit_column: "uid", variant_column: "variant", time_column: "at", ...(timezone ? { timezone } : {}) },
    guardrails: [],
    goals: [],
    alpha: 0.05,
    srm_alpha: 0.001,
    min_units: 1,
    schedule: "0 * * * *",
    notify: [],
  });
  const guardrail: GuardrailConfig = {
    name: "g",
    events: { table: "evs", unit_column: "uid", time_column: "at", value: "v" },
    aggregate: "sum",
    bad_direction: "increase",
    margin: 0,
    winsorize: null,
  };

  it("compares a naive assignment time in assignments.timezone with timestamptz events as instants", async () => {
    const w = { from: null, to: at("2026-01-02T00:00:00Z") };
    const sums = await fetchGuardrailSums(db, experiment("Europe/Berlin"), guardrail, w);
    expect(sums.get("control")).toMatchObject({ n: 1, sum: 1 }); // 09:30Z only: 08:30Z was before the assignment
    // read as UTC (no timezone), the assignment is at 10:00Z: neither event counts
    const utc = await fetchGuardrailSums(db, experiment(), guardrail, w);
    expect(utc.get("control")).toMatchObject({ n: 1, sum: 0 });
  });

  it("bounds the assignment window on the naive column's wall time", async () => {
    // the window [09:30Z, ...) starts after 10:00 Berlin (09:00Z): no unit is assigned in it
    const counts = await fetchAssignmentCounts(db, experiment("Europe/Berlin"), {
      from: at("2026-01-01T09:30:00Z"),
      to: at("2026-01-02T00:00:00Z"),
    });
    expect(counts.size).toBe(0);
    const all = await fetchAssignmentCounts(db, experiment("Europe/Berlin"), {
      from: at("2026-01-01T08:30:00Z"),
      to: at("2026-01-02T00:00:00Z"),
    });
    expect(Object.fromEntries(all)).toEqual({ control: 1, treatment: 1 });
  });
});
