/**
 * When buckets are judged and what they are worth: `calendar`, `holidays`, `fill` and thin
 * buckets (`min_rows`), from the config keys to the values the detectors get.
 */
import { describe, expect, it } from "vitest";
import { loadConfigText } from "../src/config/load.js";
import { formatProblem } from "../src/config/problem.js";
import type { VigilConfig } from "../src/config/types.js";
import { feedSeries, feedValue, newFeedState } from "../src/engine/bucket-feed.js";
import { dayKinds, HOLIDAY, offBuckets, REGIONAL } from "../src/engine/calendar.js";
import { publicHolidays } from "../src/holidays.js";
import { HOUR, metric } from "./helpers/config.js";

const DAY = 24 * HOUR;

function load(text: string): VigilConfig {
  const res = loadConfigText(text, "vigil.yaml", {});
  if (!res.ok) throw new Error(res.problems.map(formatProblem).join("\n"));
  return res.config;
}

function problems(text: string): string[] {
  const res = loadConfigText(text, "vigil.yaml", {});
  return res.ok ? [] : res.problems.map(formatProblem);
}

const SRC = (value: string) => `{table: flights, time_column: ts, value: "${value}", granularity: 1h}`;

describe("config", () => {
  it("infers fill: zero for a count or a sum, none for anything else, and counts rows unless fill: zero is set", () => {
    const c = load(
      [
        "metrics:",
        `  - {name: a, source: ${SRC("count(*)")}}`,
        `  - {name: b, source: ${SRC("sum(amount)")}}`,
        `  - {name: c, source: ${SRC("count(DISTINCT user_id)")}}`,
        `  - {name: d, source: ${SRC("avg(delay)")}}`,
        `  - {name: e, source: ${SRC("sum(x) / count(*)")}}`,
        `  - {name: f, source: ${SRC("count(*)")}, fill: none}`,
        `  - {name: g, query: "SELECT t, value FROM x WHERE t >= $1 AND t < $2"}`,
        `  - {name: h, source: ${SRC("avg(delay)")}, min_rows: 5}`,
        `  - {name: i, source: ${SRC("sum(amount)")}, fill: zero}`,
      ].join("\n"),
    );
    const by = Object.fromEntries(c.metrics.map((m) => [m.name, [m.fill, m.rowCounts, m.minRows]]));
    expect(by).toEqual({
      a: ["zero", true, null],
      b: ["zero", true, null],
      c: ["zero", true, null],
      d: ["none", true, null],
      e: ["none", true, null],
      f: ["none", true, null],
      g: ["none", false, null],
      h: ["none", true, 5],
      i: ["zero", false, null],
    });
  });

  it("resolves calendars and holidays in the top-level timezone, inherited from defaults", () => {
    const c = load(
      [
        "timezone: Europe/Berlin",
        "defaults: {holidays: {country: de, state: by}}",
        "metrics:",
        `  - {name: a, source: ${SRC("count(*)")}, calendar: weekdays}`,
        `  - {name: b, source: ${SRC("count(*)")}, calendar: {days: [sat, mon], hours: "22:00-06:00"}, holidays: ["2026-12-24"]}`,
        `  - {name: c, source: ${SRC("count(*)")}}`,
      ].join("\n"),
    );
    // days and hours are read in the metric's zone (the top-level one)
    expect(c.metrics.map((m) => m.timezone)).toEqual(["Europe/Berlin", "Europe/Berlin", "Europe/Berlin"]);
    expect(c.metrics[0]!.calendar).toEqual({ days: [0, 1, 2, 3, 4], hours: null, holidays: { country: "DE", state: "BY", dates: [] } });
    expect(c.metrics[1]!.calendar).toEqual({ days: [0, 5], hours: { from: 22 * 60, to: 6 * 60 }, holidays: { dates: ["2026-12-24"] } });
    expect(c.metrics[2]!.calendar?.holidays).toEqual({ country: "DE", state: "BY", dates: [] });
  });

  it("says where a calendar, a holiday list or fill is wrong", () => {
    const head = 'metrics:\n  - name: a\n    source: {table: t, time_column: ts, value: "count(*)"}\n';
    expect(problems(`${head}    calendar: weekday\n`)).toEqual([
      "vigil.yaml:4:15: metrics[0].calendar: expected weekdays, weekends, always or {days: [...], hours: \"HH:MM-HH:MM\"}, got 'weekday'",
    ]);
    expect(problems(`${head}    calendar: {hours: "8-20"}\n`)[0]).toMatch(
      /^vigil\.yaml:4:23: .*expected local hours like "08:00-20:00", got '8-20'/,
    );
    expect(problems(`${head}    holidays: {country: XX}\n`)[0]).toMatch(/^vigil\.yaml:4:25: .*unknown holiday country 'XX'/);
    expect(problems(`${head}    holidays: {country: DE, state: XX}\n`)[0]).toMatch(
      /^vigil\.yaml:4:36: .*unknown state 'XX' of holiday country DE \(one of BB, BE, /,
    );
    expect(problems(`${head}    holidays: ["25.12.2026"]\n`)[0]).toMatch(
      /^vigil\.yaml:4:16: .*expected a date like 2026-12-25, got '25.12.2026'/,
    );
    expect(problems(`${head}    fill: zeros\n`)[0]).toMatch(/^vigil\.yaml:4:11: metrics\[0\]\.fill: /);
  });
});

describe("offBuckets", () => {
  const MON = Date.UTC(2026, 0, 5); // a Monday
  /** An hourly (or `g`) metric with a calendar, in `timezone`. */
  const cal = (over: Partial<NonNullable<ReturnType<typeof metric>["calendar"]>> & { timezone?: string }, g = HOUR) => {
    const { timezone, ...calendar } = over;
    return metric({
      name: "c",
      granularityMs: g,
      ...(timezone === undefined ? {} : { timezone }),
      calendar: { days: [0, 1, 2, 3, 4], hours: null, holidays: null, ...calendar },
    });
  };

  it("leaves out weekends of daily buckets, whatever the zone (a daily bucket is the day it is labelled with)", () => {
    for (const timezone of ["UTC", "America/New_York", "Asia/Tokyo"]) {
      const off = offBuckets(cal({ timezone }, DAY), MON, 14)!;
      expect([...off]).toEqual([0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1]);
    }
  });

  it("cuts hours in local time, across a DST change", () => {
    // Berlin, 08:00-20:00 local: 07:00-19:00 UTC in winter, 06:00-18:00 UTC in summer
    const c = cal({ timezone: "Europe/Berlin", days: [0, 1, 2, 3, 4, 5, 6], hours: { from: 8 * 60, to: 20 * 60 } });
    const winter = offBuckets(c, Date.UTC(2026, 2, 27), 24)!;
    expect([...winter].map((x, h) => (x ? "" : h)).filter((h) => h !== "")).toEqual([7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]);
    const summer = offBuckets(c, Date.UTC(2026, 2, 30), 24)!;
    expect([...summer].map((x, h) => (x ? "" : h)).filter((h) => h !== "")).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]);
    // hours that wrap midnight
    const night = offBuckets(cal({ days: [0, 1, 2, 3, 4, 5, 6], hours: { from: 22 * 60, to: 6 * 60 } }), MON, 24)!;
    expect([...night].map((x, h) => (x ? "" : h)).filter((h) => h !== "")).toEqual([0, 1, 2, 3, 4, 5, 22, 23]);
  });

  it("leaves out listed dates and a country's public holidays", () => {
    expect(publicHolidays("US", undefined, 2026).has("2026-07-03")).toBe(true); // Independence Day observed
    expect(publicHolidays("DE", undefined, 2026).has("2026-12-25")).toBe(true);
    const off = offBuckets(cal({ holidays: { country: "US", dates: ["2026-01-07"] } }, DAY), Date.UTC(2026, 0, 1), 21)!;
    const offDates = [...off].flatMap((x, i) => (x ? [new Date(Date.UTC(2026, 0, 1) + i * DAY).toISOString().slice(0, 10)] : []));
    expect(offDates).toEqual([
      "2026-01-01", // New Year's Day
      "2026-01-03",
      "2026-01-04",
      "2026-01-07", // listed
      "2026-01-10",
      "2026-01-11",
      "2026-01-17",
      "2026-01-18",
      "2026-01-19", // Martin Luther King Jr. Day
    ]);
  });

  it("is null when nothing is left out", () => {
    expect(offBuckets(metric({ name: "c", calendar: null }), MON, 24)).toBeNull();
    expect(offBuckets(cal({ days: [0, 1, 2, 3, 4, 5, 6] }), MON, 24)).toBeNull();
  });
});

describe("holidays a business-day series keeps without being told", () => {
  // November 2020 in New York, one bucket a local day: Thanksgiving is Thursday the 26th
  const ny = (extra: Partial<Parameters<typeof metric>[0]> = {}) =>
    metric({ name: "close", granularityMs: DAY, timezone: "America/New_York", rowCounts: true, ...extra });
  const NOV2 = Date.UTC(2020, 10, 2);
  const date = (t: number) => new Date(t).toISOString().slice(0, 10);
  /** Four weeks from Monday Nov 2 with a row on the days `has` keeps; what the detectors get, by date. */
  function fed(m: ReturnType<typeof metric>, has: (t: number) => boolean): Map<string, number> {
    const points = [];
    for (let d = 0; d < 28; d++) if (has(NOV2 + d * DAY)) points.push({ t: NOV2 + d * DAY, v: 100 + d, n: 1 });
    const out = new Map<string, number>();
    feedSeries(m, newFeedState(), points, NOV2, 28, (t, v) => out.set(date(t), v));
    return out;
  }
  const weekday = (t: number) => new Date(t).getUTCDay() % 6 !== 0;
  const closed = new Set(["2020-11-24", "2020-11-26", "2020-11-27"]);

  it("a series without rows on weekends has none on the public holidays of its timezone's country either", () => {
    const f = fed(ny(), (t) => weekday(t) && !closed.has(date(t)));
    expect(f.has("2020-11-26")).toBe(false); // Thanksgiving: left out, not missing data
    expect(f.has("2020-11-27")).toBe(false); // the Friday after, a public holiday in some states: left out too
    expect(f.get("2020-11-24")).toBeNaN(); // a Tuesday, a holiday nowhere: one missing day
    expect(f.get("2020-11-28")).toBeNaN(); // weekends stay what they were (the detectors learn them as routine)
    expect(f.get("2020-11-25")).toBe(123);
  });

  it("a holiday of part of the country counts for leaving an empty bucket out, and only the whole country's mutes the seasonal view", () => {
    // August 2011 in London: the 29th is England's, Wales' and Northern Ireland's bank holiday, not Scotland's
    const london = metric({ name: "orders", granularityMs: DAY, timezone: "Europe/London", rowCounts: true });
    const AUG1 = Date.UTC(2011, 7, 1);
    const points = [];
    for (let d = 0; d < 35; d++) {
      const t = AUG1 + d * DAY;
      if (weekday(t) && date(t) !== "2011-08-29") points.push({ t, v: 50 + d, n: 1 });
    }
    const out = new Map<string, number>();
    feedSeries(london, newFeedState(), points, AUG1, 35, (t, v) => out.set(date(t), v));
    expect(out.has("2011-08-29")).toBe(false);
    const kinds = dayKinds(london, AUG1, 35)!;
    expect(kinds[28]).toBe(REGIONAL);
    // Boxing Day is the whole country's
    expect(dayKinds(london, Date.UTC(2011, 11, 26), 1)?.[0]).toBe(HOLIDAY);
  });

  it("a series with rows every day, a metric that names its own holidays, or a zone without a country: a holiday without rows is missing data", () => {
    const everyDay = (t: number) => !closed.has(date(t));
    expect(fed(ny(), everyDay).get("2020-11-26")).toBeNaN();
    const own = ny({ calendar: { days: [0, 1, 2, 3, 4, 5, 6], hours: null, holidays: { dates: [] } } });
    expect(fed(own, (t) => weekday(t) && !closed.has(date(t))).get("2020-11-26")).toBeNaN();
    expect(fed(ny({ timezone: "UTC" }), (t) => weekday(t) && !closed.has(date(t))).get("2020-11-26")).toBeNaN();
  });

  it("a holiday with rows is judged as any day", () => {
    expect(fed(ny(), weekday).get("2020-11-26")).toBe(124);
  });
});

describe("feedValue", () => {
  const MON = Date.UTC(2026, 0, 5);
  const fresh = newFeedState;

  it("fill: zero makes a bucket without rows 0 where the series normally has rows, and leaves it out where it routinely has none", () => {
    const m = metric({ name: "n", fill: "zero" });
    const s = fresh();
    const day = (d: number, h: number) => MON + d * DAY + h * HOUR;
    expect(feedValue(m, s, day(0, 0), Number.NaN, Number.NaN)).toBeNaN(); // before its first row: not a zero
    // a week of rows 08:00-19:00 only
    for (let d = 0; d < 7; d++) for (let h = 0; h < 24; h++) feedValue(m, s, day(d, h), h >= 8 && h < 20 ? 50 : Number.NaN, Number.NaN);
    expect(feedValue(m, s, day(7, 3), Number.NaN, Number.NaN)).toBeNull(); // a night hour: routinely empty
    expect(feedValue(m, s, day(7, 11), Number.NaN, Number.NaN)).toBe(0); // a busy hour without rows: a zero
    expect(feedValue(m, s, day(7, 12), 42, Number.NaN)).toBe(42);
    const none = metric({ name: "n", fill: "none" });
    expect(feedValue(none, { ...fresh(), seenData: true }, day(7, 3), Number.NaN, Number.NaN)).toBeNaN();
  });

  it("an inferred zero fill reads a metrics table's empty bucket as missing data, an event table's as 0", () => {
    const m = metric({ name: "n", fill: "zero", rowCounts: true });
    const at = (h: number) => MON + h * HOUR;
    // three days with one row an hour (a metrics table), then an hour without rows
    const table = fresh();
    for (let h = 0; h < 72; h++) expect(feedValue(m, table, at(h), 30 + (h % 24), 1)).toBe(30 + (h % 24));
    expect(feedValue(m, table, at(72), Number.NaN, 0)).toBeNaN(); // a gap in its pipeline
    // the same counts from an event table: a row per event, so the rows vary
    const events = fresh();
    for (let h = 0; h < 72; h++) feedValue(m, events, at(h), 30 + (h % 24), 30 + (h % 24));
    expect(feedValue(m, events, at(72), Number.NaN, 0)).toBe(0); // an hour without events
    // a count's rows are never thin: one event where 50 are usual is a value of 1
    expect(feedValue(m, events, at(73), 1, 1)).toBe(1);
    // too short a run of equal rows says nothing yet
    const young = fresh();
    for (let h = 0; h < 30; h++) feedValue(m, young, at(h), 5, 1);
    expect(feedValue(m, young, at(30), Number.NaN, 0)).toBe(0);
    // fill: zero set by the operator reads no rows (rowCounts false): every empty bucket is 0
    const set = metric({ name: "n", fill: "zero", rowCounts: false });
    const s = fresh();
    for (let h = 0; h < 72; h++) feedValue(set, s, at(h), 30, Number.NaN);
    expect(feedValue(set, s, at(72), Number.NaN, Number.NaN)).toBe(0);
  });

  it("leaves out a bucket with under a fifth of the usual rows, or under min_rows", () => {
    const m = metric({ name: "d", fill: "none", rowCounts: true });
    const s = fresh();
    for (let i = 0; i < 50; i++) expect(feedValue(m, s, MON, 10, 25)).toBe(10);
    expect(feedValue(m, s, MON, 300, 1)).toBeNull(); // one late flight at night
    expect(feedValue(m, s, MON, 300, 4)).toBeNull();
    expect(feedValue(m, s, MON, 210, 25)).toBe(210); // a storm over 25 flights is judged
    expect(feedValue(m, s, MON, Number.NaN, 0)).toBeNaN(); // no rows: missing, not thin
    // a table with one row per bucket is never thin
    const one = fresh();
    for (let i = 0; i < 10; i++) expect(feedValue(m, one, MON, 7, 1)).toBe(7);
    const fixed = metric({ name: "d", fill: "none", rowCounts: true, minRows: 5 });
    expect(feedValue(fixed, { ...fresh(), seenData: true }, MON, 9, 4)).toBeNull();
    expect(feedValue(fixed, { ...fresh(), seenData: true }, MON, 9, 5)).toBe(9);
  });

  it("feedSeries walks every bucket of a window in order, with the calendar's left out, and shows the source's value", () => {
    const m = metric({
      name: "n",
      fill: "zero",
      calendar: { days: [0, 1, 2, 3, 4], hours: null, holidays: null },
      granularityMs: DAY,
    });
    // two weeks of weekdays with 10 rows a day, a Wednesday without rows
    const points = [];
    for (let d = 0; d < 14; d++) if (d % 7 < 5 && d !== 9) points.push({ t: MON + d * DAY, v: 10 });
    const seen: Array<[number, number, number]> = [];
    feedSeries(m, fresh(), points, MON, 14, (t, fed, shown) => seen.push([(t - MON) / DAY, fed, shown]));
    expect(seen.map((x) => x[0])).toEqual([0, 1, 2, 3, 4, 7, 8, 9, 10, 11]);
    expect(seen.find((x) => x[0] === 9)).toEqual([9, 0, 0]); // a weekday without rows: 0 where the week had rows
  });

  it.each([
    ["every hour for three weeks, then office hours", 5, 23],
    ["office hours from the first day, starting mid-morning", 9, 0],
  ])("a profile made at the first empty bucket decides as one fed every bucket would: %s", async (_, startHour, allHoursDays) => {
    const { presenceExpected, presenceIn, presenceLayout, presenceRecord, PRESENCE_NUMBERS } = await import("../detectors/presence.js");
    const m = metric({ name: "n", fill: "zero" });
    const layout = presenceLayout(HOUR)!;
    const fed = presenceIn(layout, new Uint8Array(layout.daySlots + layout.weekSlots), 0, new Float64Array(PRESENCE_NUMBERS), 0);
    const s = fresh();
    const start = MON + startHour * HOUR;
    let seen = false;
    for (let t = start; t < start + 37 * DAY; t += HOUR) {
      const h = (t % DAY) / HOUR;
      const dow = Math.floor((t - MON) / DAY) % 7;
      const busy = t < start + allHoursDays * DAY || (dow < 5 && h >= 8 && h < 20);
      const usual = presenceExpected(fed, t);
      if (busy) {
        presenceRecord(fed, t);
        seen = true;
      }
      const got = feedValue(m, s, t, busy ? 5 : Number.NaN, Number.NaN);
      if (!busy && seen) expect(got === 0, new Date(t).toISOString()).toBe(usual);
    }
  });
});
