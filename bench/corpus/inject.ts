/**
 * Writes the injected copies of the corpus and labels.json (real incidents and injected ones):
 *
 *   npx tsx bench/corpus/inject.ts
 *
 * Deterministic: a seeded generator picks the days and the added rows, so re-running it gives the
 * same files. Incidents are written into event rows wherever the data is event-level (an outage
 * deletes departures, a delay incident adds departures), never into aggregated values.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { rng } from "../../src/demo/synthetic.js";
import { CORPUS_DIR, type DatasetLabels, type Incident, readCsv, writeCsvText } from "./corpus.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const rand = rng(20261207);
const pick = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo));

/** UTC instant of a wall-clock time in `zone`. */
function zonedToUtc(wallMs: number, zone: string): number {
  const fmt = new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
  const offsetAt = (t: number): number => {
    const p = Object.fromEntries(fmt.formatToParts(new Date(t)).map((x) => [x.type, x.value]));
    return Date.UTC(+p.year!, +p.month! - 1, +p.day!, +p.hour!, +p.minute!, +p.second!) - t;
  };
  const t = wallMs - offsetAt(wallMs);
  return wallMs - offsetAt(t);
}

function localHour(ms: number, zone: string): number {
  return Number(new Intl.DateTimeFormat("en-US", { timeZone: zone, hour: "2-digit", hourCycle: "h23" }).format(new Date(ms)));
}

const iso = (ms: number): string => new Date(ms).toISOString();
const isoMinute = (ms: number): string => `${iso(ms).slice(0, 16)}Z`;
const dayOf = (s: string): number => Date.parse(`${s}T00:00:00Z`);

/** A weekday (Mon-Fri) picked at random in [from, to) local calendar days, avoiding `taken`. */
function pickWeekday(from: string, to: string, taken: number[]): number {
  for (;;) {
    const d = dayOf(from) + pick(0, (dayOf(to) - dayOf(from)) / DAY) * DAY;
    const wd = new Date(d).getUTCDay();
    if (wd === 0 || wd === 6) continue;
    if (taken.some((t) => Math.abs(t - d) < 7 * DAY)) continue;
    taken.push(d);
    return d;
  }
}

const labels: Record<string, DatasetLabels> = {};

// ---- real incidents (well documented market events) ----
const marketIncidents: Incident[] = [
  {
    name: "Feb 2018 volatility shock",
    kind: "real",
    expect: "value",
    start: "2018-02-02T00:00:00Z",
    end: "2018-02-10T00:00:00Z",
    note: "S&P 500 -4.1% on Feb 5 and -3.8% on Feb 8, about -10% in nine days; VIX from 17 to 37",
  },
  {
    name: "Oct 10 2018 sell-off",
    kind: "real",
    expect: "value",
    start: "2018-10-10T00:00:00Z",
    end: "2018-10-13T00:00:00Z",
    note: "S&P 500 -3.3% on Oct 10, -2.1% on Oct 11; VIX from 16 to 25",
  },
  {
    name: "Dec 2018 sell-off",
    kind: "real",
    expect: "value",
    start: "2018-12-17T00:00:00Z",
    end: "2018-12-28T00:00:00Z",
    note: "S&P 500 down to its Christmas Eve low (-19.8% from the September top), +5.0% on Dec 26",
  },
  {
    name: "COVID-19 crash",
    kind: "real",
    expect: "value",
    start: "2020-02-24T00:00:00Z",
    end: "2020-04-10T00:00:00Z",
    note: "S&P 500 -34% from Feb 19 to Mar 23 with daily moves of +-5-12%, the rebound's swings to early April; VIX closes at 82.7 on Mar 16",
  },
];
labels.sp500 = { incidents: marketIncidents };
labels.vix = {
  incidents: [
    ...marketIncidents,
    {
      name: "Jun 11 2020 sell-off",
      kind: "real",
      expect: "value",
      start: "2020-06-11T00:00:00Z",
      end: "2020-06-16T00:00:00Z",
      note: "S&P 500 -5.9% on Jun 11; VIX from 27 to 41",
    },
  ],
};

/**
 * A weekday-only daily series as a business metric: a one-day -40% drop after the first five months
 * (baseline) and, apart from it, a month of trading days at -34%.
 */
function injectDaily(calm: Array<[string, number]>, file: string): DatasetLabels {
  // after the first five months (baseline), apart from each other
  const drop = pick(110, 170);
  const decline = pick(220, calm.length - 40);
  const declineDays = 21; // a month of trading days
  calm[drop]![1] *= 0.6;
  for (let i = decline; i < decline + declineDays; i++) calm[i]![1] *= 0.66;
  writeFileSync(
    join(CORPUS_DIR, file),
    writeCsvText(
      ["day", "amount"],
      calm.map(([d, v]) => [d, v.toFixed(2)]),
    ),
  );
  return {
    incidents: [
      {
        name: "one-day -40% drop",
        kind: "injected",
        expect: "value",
        start: `${calm[drop]![0]}T00:00:00Z`,
        end: iso(dayOf(calm[drop]![0]) + DAY),
      },
      {
        name: "a month at -34%",
        kind: "injected",
        expect: "value",
        start: `${calm[decline]![0]}T00:00:00Z`,
        end: iso(dayOf(calm[decline + declineDays - 1]![0]) + DAY),
      },
    ],
  };
}

// ---- (a) a calm stretch of the S&P 500 close as a daily business metric ----
{
  const { rows } = readCsv("sp500.csv");
  const calm = rows.filter((r) => r[0]! >= "2016-07-01" && r[0]! < "2018-01-27").map((r) => [r[0]!, Number(r[1])] as [string, number]);
  labels.sp500_injected = injectDaily(calm, "sp500-injected.csv");
}

/**
 * Departures from one airport, one row per flight: a 4-hour daytime outage (rows deleted), the
 * busiest local hour of one day empty, and 25 extra departures delayed 200-260 min in one daytime
 * hour. Labels apply to every metric of the dataset.
 */
function injectFlights(file: string, out: string, zone: string): Incident[] {
  const { header, rows } = readCsv(file);
  let events = rows.map((r) => ({ t: Date.parse(r[0]!), delay: Number(r[1]), dest: r[2]! }));
  // the busiest local hour of the day, over the whole file
  const perHour = new Array<number>(24).fill(0);
  for (const e of events) perHour[localHour(e.t, zone)]!++;
  const busiest = perHour.indexOf(Math.max(...perHour));
  const taken: number[] = [];
  const incidents: Incident[] = [];
  // a 4-hour daytime outage: no departures recorded 10:00-14:00 local
  {
    const d = pickWeekday("2001-02-01", "2001-06-20", taken);
    const start = zonedToUtc(d + 10 * HOUR, zone);
    const end = zonedToUtc(d + 14 * HOUR, zone);
    events = events.filter((e) => e.t < start || e.t >= end);
    incidents.push({ name: "4-hour daytime outage (no rows)", kind: "injected", expect: "any", start: iso(start), end: iso(end) });
  }
  // nothing in the busiest hour of one day (a broken ingest for an hour)
  {
    const d = pickWeekday("2001-02-01", "2001-06-20", taken);
    const start = zonedToUtc(d + busiest * HOUR, zone);
    const end = start + HOUR;
    events = events.filter((e) => e.t < start || e.t >= end);
    incidents.push({
      name: `zero in the busiest hour (${busiest}:00 local)`,
      kind: "injected",
      expect: "any",
      start: iso(start),
      end: iso(end),
    });
  }
  // 25 extra departures delayed 200-260 minutes in one daytime hour: the hourly average at 10x and
  // more, backed by more rows than any routine hour has
  {
    const d = pickWeekday("2001-02-01", "2001-06-20", taken);
    const start = zonedToUtc(d + 13 * HOUR, zone);
    const dests = [...new Set(events.map((e) => e.dest))].sort();
    for (let i = 0; i < 25; i++) {
      events.push({
        t: start + Math.floor(rand() * 60) * 60_000,
        delay: 200 + Math.floor(rand() * 61),
        dest: dests[Math.floor(rand() * dests.length)]!,
      });
    }
    incidents.push({
      name: "25 departures delayed 200+ min in one hour",
      kind: "injected",
      expect: "value",
      start: iso(start),
      end: iso(start + HOUR),
    });
  }
  events.sort((a, b) => a.t - b.t || a.delay - b.delay || a.dest.localeCompare(b.dest));
  const text = writeCsvText(
    header,
    events.map((e) => [isoMinute(e.t), String(e.delay), e.dest]),
  );
  writeFileSync(join(CORPUS_DIR, out), gzipSync(Buffer.from(text), { level: 9 }));
  return incidents;
}

// ---- (b), (c), (e) departures from SAN: one row per flight ----
labels.san_flights = { incidents: injectFlights("san-departures.csv.gz", "san-departures-injected.csv.gz", "America/Los_Angeles") };

/** Late departures from one airport: three one-hour spikes at 2-3x the busiest routine hour. */
function injectLateSpikes(file: string, out: string, zone: string): Incident[] {
  const { header, rows } = readCsv(file);
  const events = rows.map((r) => ({ t: Date.parse(r[0]!), delay: Number(r[1]), dest: r[2]! }));
  const counts = new Map<number, number>();
  for (const e of events) counts.set(Math.floor(e.t / HOUR), (counts.get(Math.floor(e.t / HOUR)) ?? 0) + 1);
  const routineMax = Math.max(...counts.values());
  const dests = [...new Set(events.map((e) => e.dest))].sort();
  const taken: number[] = [];
  const incidents: Incident[] = [];
  for (let k = 0; k < 3; k++) {
    const d = pickWeekday("2001-02-01", "2001-06-25", taken);
    const start = zonedToUtc(d + pick(9, 19) * HOUR, zone);
    const n = Math.round(routineMax * (2 + rand()));
    for (let i = 0; i < n; i++) {
      events.push({
        t: start + Math.floor(rand() * 60) * 60_000,
        delay: 60 + Math.floor(rand() * 180),
        dest: dests[Math.floor(rand() * dests.length)]!,
      });
    }
    incidents.push({
      name: `spike of ${n} late departures in one hour (routine maximum ${routineMax})`,
      kind: "injected",
      expect: "value",
      start: iso(start),
      end: iso(start + HOUR),
    });
  }
  events.sort((a, b) => a.t - b.t || a.delay - b.delay || a.dest.localeCompare(b.dest));
  const text = writeCsvText(
    header,
    events.map((e) => [isoMinute(e.t), String(e.delay), e.dest]),
  );
  writeFileSync(join(CORPUS_DIR, out), gzipSync(Buffer.from(text), { level: 9 }));
  return incidents;
}

// ---- (d) late departures from ORD: spikes well above the weather bursts ----
labels.ord_late = { incidents: injectLateSpikes("ord-late-departures.csv.gz", "ord-late-departures-injected.csv.gz", "America/Chicago") };

// ---- held out (bench/README.md): written after the rest, from the same seeded stream, so that
// the files above keep their bytes. Labelled before vigil was first run on them. ----

// real incidents of the WTI spot price (EIA), 2019-2022
labels.wti = {
  incidents: [
    {
      name: "Abqaiq attack",
      kind: "real",
      expect: "value",
      start: "2019-09-16T00:00:00Z",
      end: "2019-09-18T00:00:00Z",
      note: "drone attack on Saudi Aramco's Abqaiq plant (Sep 14): WTI +14.7% on Sep 16, the largest one-day rise since 2008, -5.7% on Sep 17",
    },
    {
      name: "Mar 2020 price war and COVID-19 crash",
      kind: "real",
      expect: "value",
      start: "2020-03-06T00:00:00Z",
      end: "2020-04-20T00:00:00Z",
      note: "OPEC+ talks collapse on Mar 6 (-10%), -24.5% on Mar 9, daily moves of +-10-45% to a low of 14.10 on Mar 30 and the April swings",
    },
    {
      name: "negative WTI price",
      kind: "real",
      expect: "value",
      start: "2020-04-20T00:00:00Z",
      end: "2020-05-06T00:00:00Z",
      note: "WTI spot at -36.98 on Apr 20 (the May contract's expiry), 8.91 on Apr 21, then swings of +-20-50% to May 5",
    },
    {
      name: "Omicron sell-off",
      kind: "real",
      expect: "value",
      start: "2021-11-26T00:00:00Z",
      end: "2021-12-02T00:00:00Z",
      note: "news of the Omicron variant on Nov 26 (no EIA spot price that day): -10.8% on Nov 29, -5.4% on Nov 30",
    },
    {
      name: "Russian invasion of Ukraine oil spike",
      kind: "real",
      expect: "value",
      start: "2022-02-24T00:00:00Z",
      end: "2022-03-17T00:00:00Z",
      note: "invasion on Feb 24: WTI from 92 to 123.64 on Mar 8 (highest since 2008), -12.0% on Mar 9, down to 94.85 on Mar 16",
    },
  ],
};

// a calm stretch of the Brent spot price (2013-02-15..2014-09-09) as a daily business metric
{
  const { rows } = readCsv("brent-calm.csv");
  labels.brent_injected = injectDaily(
    rows.map((r) => [r[0]!, Number(r[1])] as [string, number]),
    "brent-injected.csv",
  );
}

// departures from Boston Logan (BOS), and late departures from Dallas/Fort Worth (DFW)
labels.bos_flights = { incidents: injectFlights("bos-departures.csv.gz", "bos-departures-injected.csv.gz", "America/New_York") };
labels.dfw_late = { incidents: injectLateSpikes("dfw-late-departures.csv.gz", "dfw-late-departures-injected.csv.gz", "America/Chicago") };

// ---- real disruptions in the departures files, found by a fixed rule over the raw rows (never by
// vigil's alerts): an operator watching these metrics wants to hear of them ----

/** Local weekday (0-6) and hour of an instant. */
function localSlot(ms: number, zone: string): number {
  const p = new Intl.DateTimeFormat("en-US", { timeZone: zone, weekday: "short", hour: "2-digit", hourCycle: "h23" }).formatToParts(
    new Date(ms),
  );
  const wd = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"].indexOf(p.find((x) => x.type === "weekday")!.value);
  return wd * 24 + Number(p.find((x) => x.type === "hour")!.value);
}

/** Runs of consecutive hours that satisfy `hit`, at least `minLen` long, as [first, last] hours. */
function runsOf(hours: number[], hit: (h: number) => boolean, minLen: number): [number, number][] {
  const runs: [number, number][] = [];
  let start = -1;
  for (let i = 0; i <= hours.length; i++) {
    const on = i < hours.length && hit(hours[i]!) && (start < 0 || hours[i]! === hours[i - 1]! + 1);
    if (on && start < 0) start = i;
    if (!on && start >= 0) {
      if (i - start >= minLen) runs.push([hours[start]!, hours[i - 1]!]);
      start = i < hours.length && hit(hours[i]!) ? i : -1;
    }
  }
  return runs;
}

/** The median count of each local weekday-hour over `hours` (an hour without a count is 0). */
function slotMedians(hours: number[], count: Map<number, number>, zone: string): Map<number, number> {
  const bySlot = new Map<number, number[]>();
  for (const h of hours) {
    const s = localSlot(h * HOUR, zone);
    bySlot.set(s, [...(bySlot.get(s) ?? []), count.get(h) ?? 0]);
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return new Map([...bySlot].map(([s, xs]) => [s, median(xs)]));
}

/** Every hour from the first to the last of `hours`. */
function hoursSpanned(hours: Iterable<number>): number[] {
  const hs = [...hours];
  const first = Math.min(...hs);
  return Array.from({ length: Math.max(...hs) - first + 1 }, (_, i) => first + i);
}

/** Is an hour's count under `share` of the median of its local weekday-hour, where that median is `minMedian` or more (hours without a count are 0)? */
function underSlotMedian(all: number[], count: Map<number, number>, zone: string, share: number, minMedian: number): (h: number) => boolean {
  const slotMedian = slotMedians(all, count, zone);
  return (h) => {
    const m = slotMedian.get(localSlot(h * HOUR, zone))!;
    return m >= minMedian && (count.get(h) ?? 0) < m * share;
  };
}

/** A run of hours [a, b] as an incident any alert catches (a count at zero, or no rows). */
function outage(name: string, [a, b]: [number, number]): Incident {
  return { name, kind: "real", expect: "any", start: iso(a * HOUR), end: iso((b + 1) * HOUR) };
}

/**
 * Delay disruptions: 3 or more consecutive hours, each with 3 or more departures averaging 60 min
 * late or more. Cancellation disruptions: 2 or more consecutive hours, each with fewer than half
 * the median departures of its local weekday-hour, where that median is 10 or more.
 */
function realDisruptions(file: string, zone: string): Incident[] {
  const { rows } = readCsv(file);
  const n = new Map<number, number>();
  const sum = new Map<number, number>();
  for (const r of rows) {
    const h = Math.floor(Date.parse(r[0]!) / HOUR);
    n.set(h, (n.get(h) ?? 0) + 1);
    sum.set(h, (sum.get(h) ?? 0) + Number(r[1]));
  }
  const all = hoursSpanned(n.keys());
  const delayed = runsOf(all, (h) => (n.get(h) ?? 0) >= 3 && sum.get(h)! / n.get(h)! >= 60, 3);
  const thin = runsOf(all, underSlotMedian(all, n, zone, 1 / 2, 10), 2);
  return [
    ...delayed.map(
      ([a, b]): Incident => ({
        name: `${b - a + 1} hours of departures averaging 60+ min late`,
        kind: "real",
        expect: "value",
        start: iso(a * HOUR),
        end: iso((b + 1) * HOUR),
        metrics: ["avg_delay"],
      }),
    ),
    ...thin.map((r) => outage(`${r[1] - r[0] + 1} hours with under half the usual departures`, r)),
  ].sort((x, y) => x.start.localeCompare(y.start));
}

labels.san_flights.incidents.push(...realDisruptions("san-departures.csv.gz", "America/Los_Angeles"));
labels.bos_flights.incidents.push(...realDisruptions("bos-departures.csv.gz", "America/New_York"));

// ---- bike-share rentals: outages from the operators' own records or the rows, never from vigil ----

/** Hourly counts of a `ts,cnt` file by UTC hour, and every hour from its first to its last. */
function hourlyCounts(file: string): { cnt: Map<number, number>; all: number[]; rows: string[][] } {
  const { rows } = readCsv(file);
  const cnt = new Map(rows.map((r) => [Math.floor(Date.parse(r[0]!) / HOUR), Number(r[1])]));
  return { cnt, all: hoursSpanned(cnt.keys()), rows };
}

/**
 * Washington DC: 3 or more consecutive hours under a tenth of the median rentals of their local
 * weekday-hour, where that median is 30 or more (absent hours count as 0): closures for snow,
 * hurricanes Irene and Sandy, and the emptiest holiday mornings.
 */
function dcClosures(): Incident[] {
  const { cnt, all } = hourlyCounts("dc-bikes.csv.gz");
  const closed = underSlotMedian(all, cnt, "America/New_York", 1 / 10, 30);
  return runsOf(all, closed, 3).map((r) => outage(`${r[1] - r[0] + 1} hours under a tenth of the usual rentals`, r));
}

/** Seoul: the hours the operator recorded the system as not functioning. */
function seoulDowntime(): Incident[] {
  const { all, rows } = hourlyCounts("seoul-bikes.csv.gz");
  const down = new Set(rows.filter((r) => r[2] === "No").map((r) => Math.floor(Date.parse(r[0]!) / HOUR)));
  return runsOf(all, (h) => down.has(h), 1).map((r) => outage(`system not functioning for ${r[1] - r[0] + 1} hours (operator's record)`, r));
}

/** London: 3 or more consecutive hours without a row; and the two 2015 Tube strikes (18:30 to 09:30 two days later, BST). */
function londonIncidents(): Incident[] {
  const { cnt, all } = hourlyCounts("london-bikes.csv.gz");
  const gaps = runsOf(all, (h) => !cnt.has(h), 3).map((r) => outage(`no rows for ${r[1] - r[0] + 1} hours`, r));
  const strike = (name: string, start: string, end: string): Incident => ({ name, kind: "real", expect: "value", start, end });
  return [
    ...gaps,
    strike("Tube strike (no Underground services)", "2015-07-08T17:30:00.000Z", "2015-07-10T08:30:00.000Z"),
    strike("Tube strike (no Underground services)", "2015-08-05T17:30:00.000Z", "2015-08-07T08:30:00.000Z"),
  ].sort((x, y) => x.start.localeCompare(y.start));
}

/**
 * The online shop: the two erroneous orders this data is known for (entered and cancelled within
 * minutes, the largest of the year), and the one afternoon of a trading day without an invoice.
 */
function retailIncidents(): Incident[] {
  const order = (name: string, day: string): Incident => ({
    name,
    kind: "real",
    expect: "value",
    start: `${day}T00:00:00Z`,
    end: iso(Date.parse(`${day}T00:00:00Z`) + DAY),
    metrics: ["revenue", "basket"],
  });
  return [
    order("an order of 74,215 jars (£77,184) entered and cancelled 16 minutes later", "2011-01-18"),
    {
      name: "no invoice from 14:00 to 18:00 on a Thursday",
      kind: "real",
      expect: "any",
      start: "2011-04-07T13:00:00Z",
      end: "2011-04-07T17:00:00Z",
      metrics: ["orders", "basket"],
    },
    order("an order of 80,995 paper crafts (£168,470) entered and cancelled 12 minutes later", "2011-12-09"),
  ];
}

labels.online_retail = { incidents: retailIncidents() };
labels.dc_bikes = { incidents: dcClosures() };
labels.seoul_bikes = { incidents: seoulDowntime() };
labels.london_bikes = { incidents: londonIncidents() };

writeFileSync(join(CORPUS_DIR, "labels.json"), `${JSON.stringify(labels, null, 2)}\n`);
console.log(
  Object.entries(labels)
    .map(([k, v]) => `${k}: ${v.incidents.length} incidents`)
    .join("\n"),
);
