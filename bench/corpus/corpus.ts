/**
 * The quality corpus: real public series (see bench/README.md, "Quality corpus", for where each
 * file comes from), the tables they are loaded into, the labelled incidents in labels.json, and the
 * config a newcomer would write for them. Shared by `npm run bench:quality` and
 * test/real-data.test.ts.
 *
 * Config policy (one for every dataset, no tuning): a metric with a structured `source:` (table,
 * time column, an aggregate, the granularity) and nothing else — no `detectors:`, no thresholds.
 * The top-level `timezone` is the data's own zone (what an operator sets for schedules and days).
 * Extra metric keys (`fill`, `min_rows`, `calendar`, `holidays`, ...) reach vigil only through the
 * YAML text, so keys the config schema learns later are picked up without touching this file.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import type { Database } from "../../src/db/database.js";

export const CORPUS_DIR = dirname(fileURLToPath(import.meta.url));

export type ColumnType = "date" | "timestamptz" | "float8" | "text";

export interface TableSpec {
  name: string;
  /** CSV under bench/corpus (optionally .gz) whose header names the columns. */
  file: string;
  columns: ReadonlyArray<{ name: string; type: ColumnType }>;
}

export interface MetricSpec {
  name: string;
  table: string;
  timeColumn: string;
  value: string;
  granularity: string;
  /**
   * What an operator who knows the data would add (e.g. `calendar: weekdays`, `holidays:
   * {country: US}`), as YAML lines. Not part of the newcomer policy: used with `--hints` only.
   */
  hints?: readonly string[];
}

export interface DatasetSpec {
  name: string;
  /** Which shape of the corpus it stands for (a)-(f). */
  shape: string;
  timezone: string;
  tables: readonly TableSpec[];
  metrics: readonly MetricSpec[];
  /**
   * A hold-out set (bench/README.md): nobody tuned on it. `npm run bench:quality` leaves it out
   * unless it is named (`--hold-out NAME`, `--dataset NAME`, or `--held-out` for all of them), and
   * judges it apart from the overall figures.
   */
  heldOut?: boolean;
}

export interface Incident {
  name: string;
  kind: "real" | "injected";
  /** ISO instants; `end` is exclusive. */
  start: string;
  end: string;
  /**
   * Which alerts catch it: `value` (a level or spike alert; a "no data" alert that happens to fire
   * inside the window is not a catch, it is noise), `any` (no rows: a missing-data alert, or a
   * value alert on a zero).
   */
  expect: "value" | "any";
  /** Metrics of the dataset it applies to; absent = all of them. */
  metrics?: string[];
  note?: string;
}

export interface DatasetLabels {
  incidents: Incident[];
}

const DAILY_HINTS = ["calendar: weekdays", "holidays: {country: US}"];
/** The daily sets have a `date` column of US trading days: each date is its own local day. */
const DATE_ZONE = "America/New_York";

/** One row per flight: the columns of every flights file (bench/corpus/derive.mjs). */
const FLIGHT_COLUMNS = [
  { name: "ts", type: "timestamptz" },
  { name: "delay", type: "float8" },
  { name: "destination", type: "text" },
] as const;

/** Hourly departures and their average delay, the metrics of every departures file. */
const DEPARTURE_METRICS = [
  { name: "departures", table: "departures", timeColumn: "ts", value: "count(*)", granularity: "1h" },
  { name: "avg_delay", table: "departures", timeColumn: "ts", value: "avg(delay)", granularity: "1h" },
] as const;

/** Hourly rentals, one row per hour (a metrics table, not events): the bike-share files. */
const BIKE_COLUMNS = [
  { name: "ts", type: "timestamptz" },
  { name: "cnt", type: "float8" },
] as const;
/** Hourly rentals summed; an operator who knows the city adds its public holidays. */
function bikeMetrics(country: string): MetricSpec[] {
  return [{ name: "rentals", table: "rentals", timeColumn: "ts", value: "sum(cnt)", granularity: "1h", hints: [`holidays: {country: ${country}}`] }];
}

export const DATASETS: readonly DatasetSpec[] = [
  {
    name: "sp500",
    shape: "(a) weekday-only daily, US market holidays absent; real incidents",
    timezone: DATE_ZONE,
    tables: [
      {
        name: "sp500",
        file: "sp500.csv",
        columns: [
          { name: "day", type: "date" },
          { name: "close", type: "float8" },
          { name: "volume", type: "float8" },
        ],
      },
    ],
    metrics: [{ name: "sp500_close", table: "sp500", timeColumn: "day", value: "avg(close)", granularity: "1d", hints: DAILY_HINTS }],
  },
  {
    name: "vix",
    shape: "(a) weekday-only daily, US market holidays absent; real incidents",
    timezone: DATE_ZONE,
    tables: [
      {
        name: "vix",
        file: "vix.csv",
        columns: [
          { name: "day", type: "date" },
          { name: "close", type: "float8" },
        ],
      },
    ],
    metrics: [{ name: "vix_close", table: "vix", timeColumn: "day", value: "avg(close)", granularity: "1d", hints: DAILY_HINTS }],
  },
  {
    name: "sp500_injected",
    shape: "(a) weekday-only daily, calm 2016-07..2018-01 with a one-day -40% drop and a month at -34%",
    timezone: DATE_ZONE,
    tables: [
      {
        name: "sales_daily",
        file: "sp500-injected.csv",
        columns: [
          { name: "day", type: "date" },
          { name: "amount", type: "float8" },
        ],
      },
    ],
    metrics: [{ name: "sales", table: "sales_daily", timeColumn: "day", value: "sum(amount)", granularity: "1d", hints: DAILY_HINTS }],
  },
  {
    name: "san_flights",
    shape: "(b) hourly counts with empty nights, (c) thin-bucket hourly average, (e) local-time pattern across DST",
    timezone: "America/Los_Angeles",
    tables: [
      {
        name: "departures",
        file: "san-departures-injected.csv.gz",
        columns: FLIGHT_COLUMNS,
      },
    ],
    metrics: DEPARTURE_METRICS,
  },
  {
    name: "ord_late",
    shape: "(d) bursty hourly counts (late departures, weather bursts), empty nights, injected spikes",
    timezone: "America/Chicago",
    tables: [
      {
        name: "late_departures",
        file: "ord-late-departures-injected.csv.gz",
        columns: FLIGHT_COLUMNS,
      },
    ],
    metrics: [{ name: "late_departures", table: "late_departures", timeColumn: "ts", value: "count(*)", granularity: "1h" }],
  },
  {
    name: "dc_bikes",
    shape: "(f) hourly counts of a service with real outages: Capital Bikeshare rentals 2011-2012, closures for snow and hurricanes",
    timezone: "America/New_York",
    tables: [{ name: "rentals", file: "dc-bikes.csv.gz", columns: BIKE_COLUMNS }],
    metrics: bikeMetrics("US"),
  },
  {
    name: "seoul_bikes",
    shape: "(f) hourly counts of a service with real outages: Seoul bike rentals 2017-2018, days the operator recorded the system as down",
    timezone: "Asia/Seoul",
    tables: [{ name: "rentals", file: "seoul-bikes.csv.gz", columns: BIKE_COLUMNS }],
    metrics: bikeMetrics("KR"),
  },
  {
    name: "online_retail",
    shape:
      "(g) an online shop's invoices: a UK gift wholesaler, Dec 2010-Dec 2011; no trading on Saturdays, light Sundays, closed over Christmas; wholesale orders many times the usual basket",
    timezone: "Europe/London",
    tables: [
      {
        name: "orders",
        file: "online-retail.csv.gz",
        columns: [
          { name: "ts", type: "timestamptz" },
          { name: "invoice", type: "text" },
          { name: "amount", type: "float8" },
        ],
      },
    ],
    metrics: [
      { name: "orders", table: "orders", timeColumn: "ts", value: "count(*)", granularity: "1h" },
      { name: "revenue", table: "orders", timeColumn: "ts", value: "sum(amount)", granularity: "1d" },
      { name: "basket", table: "orders", timeColumn: "ts", value: "avg(amount)", granularity: "1h" },
    ],
  },
  // ---- held out: added after the defaults were reworked, labelled before vigil first ran on them ----
  {
    name: "wti",
    shape: "(a) weekday-only daily (EIA trading days), a commodity spot price that went negative; real incidents",
    timezone: DATE_ZONE,
    heldOut: true,
    tables: [
      {
        name: "wti",
        file: "wti.csv",
        columns: [
          { name: "day", type: "date" },
          { name: "close", type: "float8" },
        ],
      },
    ],
    metrics: [{ name: "wti_close", table: "wti", timeColumn: "day", value: "avg(close)", granularity: "1d", hints: DAILY_HINTS }],
  },
  {
    name: "brent_injected",
    shape:
      "(a) weekday-only daily, the calm 2013-02..2014-09 Brent price as a business metric with a one-day -40% drop and a month at -34%",
    timezone: DATE_ZONE,
    heldOut: true,
    tables: [
      {
        name: "revenue_daily",
        file: "brent-injected.csv",
        columns: [
          { name: "day", type: "date" },
          { name: "amount", type: "float8" },
        ],
      },
    ],
    metrics: [{ name: "revenue", table: "revenue_daily", timeColumn: "day", value: "sum(amount)", granularity: "1d", hints: DAILY_HINTS }],
  },
  {
    name: "bos_flights",
    shape:
      "(b) hourly departures with empty nights, (c) thin-bucket hourly average, (e) Eastern time across DST; injected outage, empty hour, delay hour",
    timezone: "America/New_York",
    heldOut: true,
    tables: [
      {
        name: "departures",
        file: "bos-departures-injected.csv.gz",
        columns: FLIGHT_COLUMNS,
      },
    ],
    metrics: DEPARTURE_METRICS,
  },
  {
    name: "dfw_late",
    shape: "(d) bursty hourly counts (late departures at a banked hub), empty nights, injected spikes",
    timezone: "America/Chicago",
    heldOut: true,
    tables: [
      {
        name: "late_departures",
        file: "dfw-late-departures-injected.csv.gz",
        columns: FLIGHT_COLUMNS,
      },
    ],
    metrics: [{ name: "late_departures", table: "late_departures", timeColumn: "ts", value: "count(*)", granularity: "1h" }],
  },
  {
    name: "london_bikes",
    shape: "(f) hourly counts of a service with real outages: London cycle hire 2015-2016, hours without rows and two Tube strikes",
    timezone: "Europe/London",
    heldOut: true,
    tables: [{ name: "rentals", file: "london-bikes.csv.gz", columns: BIKE_COLUMNS }],
    metrics: bikeMetrics("GB"),
  },
];

export function datasetByName(name: string): DatasetSpec {
  const d = DATASETS.find((x) => x.name === name);
  if (!d) throw new Error(`unknown dataset '${name}' (known: ${DATASETS.map((x) => x.name).join(", ")})`);
  return d;
}

const csvCache = new Map<string, { header: string[]; rows: string[][] }>();

/** A corpus CSV, parsed once per process (the tests load slices of the same file several times). */
export function readCsv(file: string): { header: string[]; rows: string[][] } {
  const hit = csvCache.get(file);
  if (hit) return hit;
  const path = join(CORPUS_DIR, file);
  const buf = readFileSync(path);
  const text = (file.endsWith(".gz") ? gunzipSync(buf) : buf).toString("utf8");
  const lines = text.trimEnd().split("\n");
  const parsed = { header: lines[0]!.split(","), rows: lines.slice(1).map((l) => l.split(",")) };
  csvCache.set(file, parsed);
  return parsed;
}

export function writeCsvText(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  return `${header.join(",")}\n${rows.map((r) => r.join(",")).join("\n")}\n`;
}

export function readLabels(): Record<string, DatasetLabels> {
  return JSON.parse(readFileSync(join(CORPUS_DIR, "labels.json"), "utf8")) as Record<string, DatasetLabels>;
}

/** Creates the dataset's tables and loads its rows, optionally only those with time in [from, to). */
export async function loadDataset(
  db: Database,
  ds: DatasetSpec,
  range?: { from: number; to: number },
): Promise<{ rows: number; from: number; to: number }> {
  let rows = 0;
  let from = Number.POSITIVE_INFINITY;
  let to = Number.NEGATIVE_INFINITY;
  for (const t of ds.tables) {
    await db.exec(
      `CREATE TABLE ${t.name} (${t.columns.map((c) => `${c.name} ${c.type === "float8" ? "double precision" : c.type}`).join(", ")})`,
    );
    const csv = readCsv(t.file);
    const idx = t.columns.map((c) => {
      const i = csv.header.indexOf(c.name);
      if (i < 0) throw new Error(`${t.file}: no column '${c.name}'`);
      return i;
    });
    const timeIdx = idx[0]!;
    const keep = csv.rows.filter((r) => {
      const ms = Date.parse(r[timeIdx]!);
      if (range && (ms < range.from || ms >= range.to)) return false;
      from = Math.min(from, ms);
      to = Math.max(to, ms);
      return true;
    });
    const CHUNK = 20_000;
    for (let s = 0; s < keep.length; s += CHUNK) {
      const part = keep.slice(s, s + CHUNK);
      const arrays = t.columns.map((c, k) => part.map((r) => (c.type === "float8" ? Number(r[idx[k]!]) : r[idx[k]!]!)));
      await db.query(`INSERT INTO ${t.name} SELECT * FROM unnest(${t.columns.map((c, k) => `$${k + 1}::${c.type}[]`).join(", ")})`, arrays);
    }
    rows += keep.length;
  }
  return { rows, from, to };
}

/**
 * The config a newcomer writes for the dataset: its zone and one metric per spec with a structured
 * source, nothing else. `extra` lines (e.g. `fill: zero`) are added to every metric; `hints` adds
 * each metric's operator hints.
 */
export function newcomerYaml(ds: DatasetSpec, opts: { extra?: readonly string[]; hints?: boolean } = {}): string {
  const lines = [`timezone: ${ds.timezone}`, "metrics:"];
  for (const m of ds.metrics) {
    lines.push(`  - name: ${m.name}`);
    lines.push("    source:");
    lines.push(`      table: ${m.table}`);
    lines.push(`      time_column: ${m.timeColumn}`);
    lines.push(`      value: "${m.value}"`);
    lines.push(`      granularity: ${m.granularity}`);
    for (const e of opts.extra ?? []) lines.push(`    ${e}`);
    if (opts.hints) for (const h of m.hints ?? []) lines.push(`    ${h}`);
  }
  return `${lines.join("\n")}\n`;
}
