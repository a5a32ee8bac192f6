/**
 * Detector throughput: points per second for every registered detector (default parameters) and
 * the default ensemble on a 1,000,000-point series, and `vigil detect` wall time against merely
 * reading and parsing the same CSV (same streaming reader). Run with `npm run bench` (bench/run.ts
 * calls `benchDetectors`) or standalone: `npx tsx bench/detectors.ts`.
 */
import { spawnSync } from "node:child_process";
import { once } from "node:events";
import { createWriteStream, existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { max, median, min } from "simple-statistics";
import { allDetectors } from "../detectors/registry.js";
import { resolveDetector } from "../src/cli/detect/detector-params.js";
import type { Point } from "../src/model/point.js";

type DetectCsvModule = typeof import("../src/cli/detect/detect-csv.js");
type ParamsModule = typeof import("../src/cli/detect/detector-params.js");
type ReaderModule = typeof import("../src/cli/detect/read-series-csv.js");

/**
 * The pipeline as `vigil detect` runs it: the compiled build in dist/ (`npm run bench` builds it
 * first), whose detector thread starts from plain JS; from source when there is no build.
 */
async function pipelineModules(
  repo: string,
): Promise<{ csv: DetectCsvModule; params: ParamsModule; reader: ReaderModule; compiled: boolean }> {
  const dist = join(repo, "dist", "src", "detect");
  if (existsSync(join(dist, "detect-csv.js"))) {
    const load = (f: string) => import(pathToFileURL(join(dist, f)).href);
    return {
      csv: await load("detect-csv.js"),
      params: await load("detector-params.js"),
      reader: await load("read-series-csv.js"),
      compiled: true,
    };
  }
  return {
    csv: await import("../src/cli/detect/detect-csv.js"),
    params: await import("../src/cli/detect/detector-params.js"),
    reader: await import("../src/cli/detect/read-series-csv.js"),
    compiled: false,
  };
}

const N = 1_000_000;
const STEP_MS = 60_000;
const T0 = Date.UTC(2024, 0, 1);

/** A deterministic minute series: daily cycle, noise, a few spikes and a level shift. */
function series(n: number): Float64Array {
  let seed = 42;
  const rand = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const day = Math.sin((2 * Math.PI * i) / 1440);
    let x = 100 + 20 * day + 3 * (rand() + rand() + rand() - 1.5);
    if (i % 9973 === 0) x += 60;
    if (i > n / 2) x += 15;
    v[i] = x;
  }
  return v;
}

function pointsPerSecond(values: Float64Array, type: string): number {
  const { detector, params } = resolveDetector(type, []);
  const state = detector.init(params);
  const p: Point = { t: 0, v: 0 };
  let flags = 0;
  const start = performance.now();
  for (let i = 0; i < values.length; i++) {
    p.t = T0 + i * STEP_MS;
    p.v = values[i]!;
    if (detector.step(state, p, params).anomaly) flags++;
  }
  const sec = (performance.now() - start) / 1000;
  if (flags < 0) throw new Error("unreachable");
  return values.length / sec;
}

function fmtRate(r: number): string {
  return r >= 1e6 ? `${(r / 1e6).toFixed(2)}M` : `${(r / 1e3).toFixed(0)}k`;
}

export async function benchDetectors(): Promise<void> {
  const values = series(N);
  console.log(`detectors: points/second on a ${N.toLocaleString("en")}-point series (default parameters)`);
  for (const d of process.env.BENCH_SKIP_RATES ? [] : allDetectors()) {
    // a short warm run first so the JIT has compiled step() before timing
    pointsPerSecond(values.subarray(0, 50_000), d.type);
    const rate = pointsPerSecond(values, d.type);
    const target = d.type === "ensemble" ? 500_000 : 2_000_000;
    console.log(
      `  ${d.type.padEnd(16)} ${fmtRate(rate).padStart(8)} points/s  (target ≥ ${fmtRate(target)})${rate >= target ? "" : "  BELOW TARGET"}`,
    );
  }

  const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
  const dir = join(repo, "bench", "out");
  mkdirSync(dir, { recursive: true });
  const csv = join(dir, "bench-1m.csv");
  const lines: string[] = ["timestamp,value"];
  for (let i = 0; i < N; i++) {
    lines.push(`${new Date(T0 + i * STEP_MS).toISOString().slice(0, 19).replace("T", " ")},${values[i]!.toFixed(3)}`);
  }
  writeFileSync(csv, `${lines.join("\n")}\n`);
  // the three measurements are interleaved, best of ROUNDS each, so that a busy machine (other
  // processes, GC of the series above) hurts them alike
  const ROUNDS = 5;
  const time = async (f: () => Promise<void>): Promise<number> => {
    const s = performance.now();
    await f();
    return performance.now() - s;
  };
  const m = await pipelineModules(repo);
  // as `vigil detect` runs it: a file this size is judged on the detector thread
  const thread = statSync(csv).size >= m.csv.THREAD_MIN_BYTES;
  const detectWith = (type: string | undefined, file: string, threaded = thread) => {
    const { detector, params } = m.params.resolveDetector(type, []);
    return async () => {
      const out = createWriteStream(join(dir, file));
      await m.csv.detectCsv(m.reader.openCsv(csv), out, csv, detector, params, { thread: threaded });
      out.end();
      await once(out, "finish");
    };
  };
  const parseOnly = async () => {
    await m.csv.parseCsvOnly(m.reader.openCsv(csv), csv);
  };
  const ensembleRun = detectWith(undefined, "bench-1m.out.csv");
  // the same on one thread, and with `threshold` (next to no cost per point): the pipeline's own floor
  const oneThreadRun = detectWith(undefined, "bench-1m.out1.csv", false);
  const floorRun = detectWith("threshold", "bench-1m.floor.csv", false);
  let parseMs = Number.POSITIVE_INFINITY;
  let detectMs = Number.POSITIVE_INFINITY;
  let oneMs = Number.POSITIVE_INFINITY;
  let floorMs = Number.POSITIVE_INFINITY;
  for (let r = 0; r < ROUNDS; r++) {
    parseMs = Math.min(parseMs, await time(parseOnly));
    detectMs = Math.min(detectMs, await time(ensembleRun));
    oneMs = Math.min(oneMs, await time(oneThreadRun));
    floorMs = Math.min(floorMs, await time(floorRun));
  }
  const rows = N.toLocaleString("en");
  if (m.compiled) {
    // what a command line run costs: each run in a fresh process, its JIT cold (timed inside the
    // process, so node's own start-up is left out of both)
    const dist = pathToFileURL(join(repo, "dist", "src", "detect")).href;
    const script = (mode: "parse" | "detect") => `
      const { detectCsv, parseCsvOnly, THREAD_MIN_BYTES } = await import("${dist}/detect-csv.js");
      const { resolveDetector } = await import("${dist}/detector-params.js");
      const { openCsv } = await import("${dist}/read-series-csv.js");
      const { createWriteStream, statSync } = await import("node:fs");
      const { once } = await import("node:events");
      const csv = ${JSON.stringify(csv)};
      const s = performance.now();
      if (${JSON.stringify(mode)} === "parse") await parseCsvOnly(openCsv(csv), csv);
      else {
        const { detector, params } = resolveDetector(undefined, []);
        const out = createWriteStream(${JSON.stringify(join(dir, "bench-1m.cold.csv"))});
        await detectCsv(openCsv(csv), out, csv, detector, params, { thread: statSync(csv).size >= THREAD_MIN_BYTES });
        out.end();
        await once(out, "finish");
      }
      console.log(performance.now() - s);`;
    const cold = (mode: "parse" | "detect"): number => {
      const file = join(dir, `cold-${mode}.mjs`);
      writeFileSync(file, script(mode));
      const r = spawnSync(process.execPath, [file], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`cold ${mode} run failed: ${r.stderr}`);
      return Number(r.stdout.trim());
    };
    // pairs run back to back, so that each ratio compares runs that met the same machine (on a
    // shared 2-core VM the speed of a run drifts by ±30% from one minute to the next); the median ratio
    const PAIRS = 7;
    const pairs: Array<{ parse: number; detect: number }> = [];
    for (let r = 0; r < PAIRS; r++) pairs.push({ parse: cold("parse"), detect: cold("detect") });
    const ratios = pairs.map((p) => p.detect / p.parse);
    console.log(
      `vigil detect on ${rows} rows, a fresh process each (as the command runs): ${median(pairs.map((p) => p.detect)).toFixed(0)} ms${thread ? " (detector thread)" : ""}; ` +
        `read+parse only: ${median(pairs.map((p) => p.parse)).toFixed(0)} ms (medians of ${PAIRS} runs); ` +
        `ratio ${median(ratios).toFixed(2)}× (median of ${PAIRS} back-to-back pairs, range ${min(ratios).toFixed(2)}–${max(ratios).toFixed(2)}; target ≤ 2×)`,
    );
  }
  console.log(
    `in one process after warm-up runs: vigil detect ${detectMs.toFixed(0)} ms${thread ? " (detector thread, itself started cold each run)" : ""}${m.compiled ? "" : " (from source: no build in dist/)"}; read+parse only: ${parseMs.toFixed(0)} ms; ratio ${(detectMs / parseMs).toFixed(2)}×`,
  );
  console.log(
    `  on one thread: ${oneMs.toFixed(0)} ms (${(oneMs / parseMs).toFixed(2)}×) = read+parse ${parseMs.toFixed(0)} + output ${(floorMs - parseMs).toFixed(0)} (no-cost detector: ${floorMs.toFixed(0)} ms) + ensemble ${(oneMs - floorMs).toFixed(0)} ms`,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await benchDetectors();
}
