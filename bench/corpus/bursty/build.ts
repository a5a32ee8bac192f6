/**
 * Rebuilds bench/corpus/bursty/ (data/ and labels.json) from a clone of
 * microsoft/cloud-monitoring-dataset (MIT). Hourly files are copied as they are; per-minute files are
 * aggregated to 5-minute buckets (integer counts summed, rates averaged), a bucket labelled when any
 * of its minutes is. Labelled points become NAB-style windows: each run of labelled points is one
 * event, widened to 10% of the file divided by its number of events, centred on the run.
 *
 *   npx tsx bench/corpus/bursty/build.ts PATH_TO_CLONE
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const src = process.argv[2];
if (src === undefined) throw new Error("usage: build.ts PATH_TO_CLONE_OF_cloud-monitoring-dataset");

/** Groups kept (the latency and ingress ones are not counts; one of each stays as a contrast). */
const FILES = [
  ...[1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => `application-crash-rate-1/app1-0${i}.csv`),
  ...[1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((i) => `application-crash-rate-2/app2-${String(i).padStart(2, "0")}.csv`),
  ...[1, 2, 3, 4, 5, 6].map((i) => `consumer-purchase-rate/purchase-0${i}.csv`),
  "ecommerce-api-incoming-rps/api-01.csv",
  "mongodb-application-rps/mongo-01.csv",
  "mongodb-application-rps/mongo-02.csv",
  "mongodb-application-rps/mongo-03.csv",
  "mongodb-application-rps/mongo-04.csv",
  "mongodb-machine-rps/machine-01.csv",
  "service-unavailable/unavail-01.csv",
  "data-ingress-rate/ingress-02.csv",
  "middle-tier-api-dependency-latency/outbound-02.csv",
  "middle-tier-api-dependency-latency/outbound-16.csv",
  "middle-tier-api-dependency-latency/outbound-23.csv",
];

function fmt(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").slice(0, 19);
}

const labels: Record<string, Array<[string, string]>> = {};
for (const rel of FILES) {
  const text = execFileSync("git", ["-C", src, "show", `HEAD:data/${rel}`], { encoding: "utf8", maxBuffer: 64 << 20 });
  const rows = text
    .trim()
    .split(/\r?\n/)
    .slice(1)
    .map((l) => l.replaceAll('"', "").split(","));
  let t = rows.map((r) => Date.parse(`${r[0]!.replace(" ", "T").replace(/Z$/, "")}Z`));
  let v = rows.map((r) => (r[1] === "" ? Number.NaN : Number(r[1])));
  let lab = rows.map((r) => Number(r[2]));
  const step = t[1]! - t[0]!;
  if (step === 60_000) {
    const integer = v.every((x) => Number.isNaN(x) || Number.isInteger(x));
    const bt: number[] = [];
    const bv: number[] = [];
    const bl: number[] = [];
    for (let i = 0; i < t.length; ) {
      const b = Math.floor(t[i]! / 300_000) * 300_000;
      let sum = 0;
      let n = 0;
      let l = 0;
      for (; i < t.length && Math.floor(t[i]! / 300_000) * 300_000 === b; i++) {
        if (!Number.isNaN(v[i]!)) {
          sum += v[i]!;
          n++;
        }
        l = Math.max(l, lab[i]!);
      }
      bt.push(b);
      bv.push(n === 0 ? Number.NaN : integer ? sum : sum / n);
      bl.push(l);
    }
    t = bt;
    v = bv;
    lab = bl;
  }
  const out = join(here, "data", rel);
  mkdirSync(dirname(out), { recursive: true });
  const lines = ["timestamp,value"];
  for (let i = 0; i < t.length; i++) lines.push(`${fmt(t[i]!)},${Number.isNaN(v[i]!) ? "" : Number(v[i]!.toPrecision(8))}`);
  writeFileSync(out, `${lines.join("\n")}\n`);
  // events: runs of labelled points
  const runs: Array<[number, number]> = [];
  for (let i = 0; i < lab.length; i++) {
    if (lab[i] !== 1) continue;
    let j = i;
    while (j + 1 < lab.length && lab[j + 1] === 1) j++;
    runs.push([i, j]);
    i = j;
  }
  const windows: Array<[number, number]> = [];
  if (runs.length > 0) {
    const width = Math.floor((0.1 * t.length) / runs.length);
    for (const [a, b] of runs) {
      const mid = (a + b) / 2;
      const half = Math.max((b - a) / 2, width / 2);
      const lo = Math.max(0, Math.floor(mid - half));
      const hi = Math.min(t.length - 1, Math.ceil(mid + half));
      const last = windows[windows.length - 1];
      if (last !== undefined && lo <= last[1]) last[1] = Math.max(last[1], hi);
      else windows.push([lo, hi]);
    }
  }
  labels[rel] = windows.map(([a, b]) => [`${fmt(t[a]!)}.000000`, `${fmt(t[b]!)}.000000`]);
  console.log(`${rel}: ${t.length} rows, ${runs.length} labelled runs, ${windows.length} windows`);
}
writeFileSync(resolve(here, "labels.json"), `${JSON.stringify(labels, null, 1)}\n`);
