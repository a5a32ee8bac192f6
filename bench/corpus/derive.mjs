/**
 * Derives the committed corpus files from their public sources (see bench/README.md, "Quality
 * corpus"). Not part of the build or of CI: the sources are not vendored. Run it in a scratch
 * directory that has the data packages and a parquet reader installed:
 *
 *   npm i vega-datasets@3.2.1 hyparquet@1.33.0 hyparquet-compressors@1.1.2
 *   node /path/to/bench/corpus/derive.mjs --vega node_modules/vega-datasets \
 *     --vix /path/to/datasets/finance-vix/data/vix-daily.csv \
 *     --oil /path/to/datasets/oil-prices/data --out /path/to/bench/corpus
 *
 * The bike-share files need only their three CSVs (each section runs when its inputs are given):
 *
 *   node bench/corpus/derive.mjs --dc PATH/hour.csv --seoul PATH/SeoulBikeData.csv \
 *     --london PATH/london_merged.csv --out bench/corpus
 *
 * Output is deterministic (sorted, fixed formatting): re-running it gives the same bytes.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const args = Object.fromEntries(
  process.argv
    .slice(2)
    .map((a, i, all) => (a.startsWith("--") ? [a.slice(2), all[i + 1]] : null))
    .filter((x) => x !== null),
);
const vega = args.vega;
const out = args.out;

/** Milliseconds `zone`'s wall clock is ahead of UTC at instant `t`. */
function offsetAt(t, zone) {
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
  const p = Object.fromEntries(fmt.formatToParts(new Date(t)).map((x) => [x.type, x.value]));
  return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second) - t;
}

/** UTC instant of a wall-clock time in `zone` (BTS departure times are local to the origin airport). */
function zonedToUtc(wallMs, zone) {
  let t = wallMs - offsetAt(wallMs, zone);
  t = wallMs - offsetAt(t, zone);
  return t;
}

function writeGz(name, text) {
  // mtime 0 and no name: the same text gives the same bytes
  writeFileSync(join(out, name), gzipSync(Buffer.from(text), { level: 9 }));
}

// (a) S&P 500 daily close and volume, trading days only (weekends and US market holidays absent)
if (vega) {
  const lines = readFileSync(join(vega, "data", "sp500-2000.csv"), "utf8")
    .trim()
    .split("\n")
    .slice(1);
  const rows = lines
    .map((l) => l.split(","))
    .filter((c) => c[0] >= "2016-01-01")
    .map((c) => `${c[0]},${Number(c[4]).toFixed(2)},${c[6]}`);
  writeFileSync(join(out, "sp500.csv"), `day,close,volume\n${rows.join("\n")}\n`);
}

// (a) CBOE VIX daily close, trading days only
if (args.vix) {
  const lines = readFileSync(args.vix, "utf8").trim().split("\n").slice(1);
  const rows = lines
    .map((l) => l.split(","))
    .filter((c) => c[0] >= "2016-01-01" && c[0] <= "2020-12-31")
    .map((c) => `${c[0]},${Number(c[4]).toFixed(2)}`);
  writeFileSync(join(out, "vix.csv"), `day,close\n${rows.join("\n")}\n`);
}

// held out (a): EIA spot prices, trading days only (weekends and the days EIA has no price absent).
// WTI (Cushing) 2019-2022 as is; Brent for the 396 trading days of 2010-2019 whose range (highest
// over lowest close) is the narrowest, 2013-02-15..2014-09-09: the calm stretch inject.ts turns into
// a business metric
if (args.oil) {
  const read = (name) =>
    readFileSync(join(args.oil, name), "utf8")
      .trim()
      .split("\n")
      .slice(1)
      .map((l) => l.split(","));
  const wti = read("wti-daily.csv")
    .filter((c) => c[0] >= "2019-01-01" && c[0] <= "2022-12-31")
    .map((c) => `${c[0]},${Number(c[1]).toFixed(2)}`);
  writeFileSync(join(out, "wti.csv"), `day,close\n${wti.join("\n")}\n`);
  const brent = read("brent-daily.csv")
    .filter((c) => c[0] >= "2013-02-15" && c[0] <= "2014-09-09")
    .map((c) => `${c[0]},${Number(c[1]).toFixed(2)}`);
  writeFileSync(join(out, "brent-calm.csv"), `day,close\n${brent.join("\n")}\n`);
  console.log(`WTI ${wti.length} days, Brent ${brent.length} days`);
}

// (b), (c), (e) flights: one row per departure from SAN (curfew: no departures at night), and
// (d) one row per departure from ORD delayed by an hour or more (bursts with weather)
if (vega) {
  const { parquetReadObjects } = await import(join(process.cwd(), "node_modules", "hyparquet", "src", "index.js"));
  const { compressors } = await import(join(process.cwd(), "node_modules", "hyparquet-compressors", "src", "index.js"));
  const buf = readFileSync(join(vega, "data", "flights-3m.parquet"));
  const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const rows = await parquetReadObjects({ file, compressors, columns: ["date", "delay", "origin", "destination"] });
  const san = [];
  const ord = [];
  // held out: every departure from Boston Logan (BOS), departures from Dallas/Fort Worth (DFW)
  // delayed by an hour or more
  const bos = [];
  const dfw = [];
  for (const r of rows) {
    if (r.origin === "SAN") {
      san.push([zonedToUtc(r.date.getTime(), "America/Los_Angeles"), Number(r.delay), r.destination]);
    } else if (r.origin === "ORD" && Number(r.delay) >= 60) {
      ord.push([zonedToUtc(r.date.getTime(), "America/Chicago"), Number(r.delay), r.destination]);
    } else if (r.origin === "BOS") {
      bos.push([zonedToUtc(r.date.getTime(), "America/New_York"), Number(r.delay), r.destination]);
    } else if (r.origin === "DFW" && Number(r.delay) >= 60) {
      dfw.push([zonedToUtc(r.date.getTime(), "America/Chicago"), Number(r.delay), r.destination]);
    }
  }
  const csv = (list) =>
    `ts,delay,destination\n${list
      .sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2].localeCompare(b[2]))
      .map(([t, d, dest]) => `${new Date(t).toISOString().slice(0, 16)}Z,${d},${dest}`)
      .join("\n")}\n`;
  writeGz("san-departures.csv.gz", csv(san));
  writeGz("ord-late-departures.csv.gz", csv(ord));
  writeGz("bos-departures.csv.gz", csv(bos));
  writeGz("dfw-late-departures.csv.gz", csv(dfw));
  console.log(
    `SAN ${san.length} departures, ORD ${ord.length} late departures, BOS ${bos.length} departures, DFW ${dfw.length} late departures`,
  );
}

function csvRows(path) {
  const lines = readFileSync(path, "utf8").replace(/\r/g, "").trimEnd().split("\n");
  const header = lines[0].split(",");
  return lines.slice(1).map((l) => Object.fromEntries(l.split(",").map((v, i) => [header[i], v])));
}

function writeHourly(name, header, all) {
  // a row at a wall-clock hour the clocks skip is a placeholder (London's is a 0): left out
  const rows = all.filter((r) => r[0] !== null);
  rows.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  writeGz(name, `${header.join(",")}\n${rows.map((r) => r.join(",")).join("\n")}\n`);
  console.log(`${name}: ${rows.length} rows`);
}

/** The UTC hour (ISO) of a local wall-clock hour, null for an hour a DST change skips. */
function hourIso(y, m, d, h, zone) {
  const wall = Date.UTC(y, m - 1, d, h);
  const t = zonedToUtc(wall, zone);
  return t + offsetAt(t, zone) === wall ? new Date(t).toISOString().replace(".000Z", "Z") : null;
}

// (f) bike-share rentals per hour (`ts,cnt`, ts in UTC, from the source's local wall-clock hours):
// Capital Bikeshare (UCI "Bike Sharing Dataset", hour.csv), Seoul (UCI "Seoul Bike Sharing Demand",
// with its `functioning` column, the operator's record of hours the system was down) and London
// (TfL cycle hire, "London bike sharing dataset", london_merged.csv)
if (args.dc) {
  // Capital Bikeshare (UCI "Bike Sharing Dataset", hour.csv): dteday YYYY-MM-DD, hr 0-23, cnt
  writeHourly(
    "dc-bikes.csv.gz",
    ["ts", "cnt"],
    csvRows(args.dc).map((r) => {
      const [y, m, d] = r.dteday.split("-").map(Number);
      return [hourIso(y, m, d, Number(r.hr), "America/New_York"), r.cnt];
    }),
  );

  // Seoul (UCI "Seoul Bike Sharing Demand"): Date DD/MM/YYYY, Hour, Rented Bike Count, Functioning Day
  writeHourly(
    "seoul-bikes.csv.gz",
    ["ts", "cnt", "functioning"],
    csvRows(args.seoul).map((r) => {
      const [d, m, y] = r.Date.split("/").map(Number);
      return [hourIso(y, m, d, Number(r.Hour), "Asia/Seoul"), r["Rented Bike Count"], r["Functioning Day"]];
    }),
  );

  // London (TfL cycle hire, "London bike sharing dataset"): timestamp as YYYY-MM-DD HH:MM:SS or DD-MM-YYYY HH:MM
  writeHourly(
    "london-bikes.csv.gz",
    ["ts", "cnt"],
    csvRows(args.london).map((r) => {
      const [date, time] = r.timestamp.split(" ");
      const parts = date.split("-").map(Number);
      const [y, m, d] = parts[0] > 31 ? parts : [parts[2], parts[1], parts[0]];
      return [hourIso(y, m, d, Number(time.split(":")[0]), "Europe/London"), r.cnt];
    }),
  );
}
