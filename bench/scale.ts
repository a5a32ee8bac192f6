/**
 * Scale and cost: 1,000 metrics × 10 `split_by` values = 10,000 series of 5-minute buckets in a
 * real PostgreSQL, metrics sharing tables (100 per table) so that grouped scans matter.
 *
 * The data is what a metrics table usually is: pre-aggregated, one row per bucket per split value,
 * one column per measure (`c0..c99`); each metric is `sum(cK)` on one table. 14 days × 288 buckets ×
 * 10 regions × 100 measures = 40 M values per 1,000 metrics (403,200 wide rows), loaded in about
 * a minute on a 2-core machine. A raw event table of 40 M narrow rows was not tried.
 *
 * Every configuration runs in its own child process, so that resident memory is its own. Prints:
 * cold start, steady-state tick vs the bare SQL that fetches the new buckets (the grouped scans
 * vigil issues, run one after another through the same driver), resident memory (after the ticks
 * with a forced full GC; for the 10,000-series runs also after 30 s idle, as between two ticks, when
 * V8 has shrunk its heap; and the peak, which is the history load's), per-series cost
 * at several sizes, tick time with 7 vs 28 days of history, and alert latency to a local webhook.
 *
 * What a tick overlaps: it issues the next group's scan while it judges the current group's
 * metrics (at most two scans in flight), reads the alert state while the first scan runs, and
 * writes quiet watermarks in batches of 100 metrics while it goes on. So "fetch" (the time spent
 * inside the fetch functions, summed) can exceed the tick; "cpu" is the process's CPU time during
 * the tick (driver, decoding, engine, detectors).
 *
 * A threshold that never fires runs too ("floor"): no detector state, so its tick is what the engine
 * and the driver cost on their own, under any detector's.
 *
 * Env: VIGIL_BENCH_DATABASE_URL (admin URL; default postgres://postgres@127.0.0.1:5432/postgres),
 * SCALE_SIZES (default "1000,5000,10000,20000"), SCALE_TICKS (measured ticks, default 8), SCALE_WARM
 * (ticks run first and not measured, default 3: the steady state is not the ticks right after a
 * history load, while its garbage is collected and the judging path compiled), SCALE_ENSEMBLE (series
 * for the default-ensemble run, default 10000; 0 = skip), SCALE_DAYS (default 14), SCALE_HISTORY (history
 * lengths compared, default "7,28"; empty = skip), SCALE_LATENCY (0 = skip the alert-latency run).
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import inspector from "node:inspector/promises";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { ManualClock } from "../src/clock.js";
import type { Daemon } from "../src/daemon.js";
import { PgDatabase } from "../src/db/pg.js";
import { Engine } from "../src/engine/engine.js";
import { silentLogger } from "../src/log.js";
import { makeFetcher, makeGroupFetcher } from "../src/source-fetcher.js";
import { buildBucketScan, buildStructuredQuery } from "../src/sources/index.js";
import { ScanThread } from "../src/sources/scan-thread.js";
import { migrate } from "../src/store/migrations.js";
import { StateStore } from "../src/store/state-store.js";
import { VigilMetrics } from "../src/telemetry/metrics.js";
import { benchServer } from "./bench-db.js";
import { peerPython, runPeer } from "./peer.js";
import { CHEAP_DETECTOR, DAY, FLOOR_DETECTOR, MIN5, PER_TABLE, REGIONS, scaleConfig, scaleMetrics } from "./scale-shape.js";

const START = Date.UTC(2026, 0, 1);
/** Seconds a run stays idle before its "between ticks" memory is read (V8's memory reducer acts after some 10-20 s). */
const IDLE_S = 30;

interface RunSpec {
  url: string;
  series: number;
  /**
   * "cheap" = moving_average median_mad (window 30); "ensemble" = the default detector; "floor" = a
   * threshold that never fires (no state: what the engine and the driver cost on their own).
   */
  detector: "ensemble" | "cheap" | "floor";
  days: number;
  ticks: number;
  latency?: boolean;
  /** Also measure resident memory after the process has been idle, as between two ticks. */
  idle?: boolean;
  /**
   * Tick through the whole daemon (dispatcher and outbox loaded, a webhook channel, its state
   * in the `vigil` schema) rather than the engine alone: what a deployment holds in memory.
   */
  daemon?: boolean;
  ungrouped?: boolean;
  /** Ticks run before the measured ones (and not measured). */
  warm?: number;
  /** Run the grouped scans on the scan thread (VIGIL_SCAN_THREAD=1). */
  scanThread?: boolean;
}

interface RunResult {
  spec: Omit<RunSpec, "url">;
  coldMs: number;
  tickMs: number;
  /**
   * Each steady tick over the bare SQL measured just before it, sorted: the spread shows how much of
   * a run's ratio is the machine (GC, the database's checkpoints, other tenants) rather than vigil.
   */
  tickRatios: number[];
  sqlMs: number;
  /** This process's CPU time during the bare SQL (driver: sending, parsing rows). */
  sqlCpuMs: number;
  fetchMs: number;
  cpuMs: number;
  rssMb: number;
  heapMb: number;
  /** Peak resident memory of the process (the history load's, as a rule). */
  peakMb: number;
  /** Resident memory after IDLE_S seconds without work (V8's memory reducer has compacted the heap by then). */
  idleRssMb?: number;
  ungroupedSqlMs?: number;
  latency?: { insertToHookMs: number; tickMs: number; afterTickMs: number };
}

/** Every table ends at END; table 0 reaches 28 days back (the history-length comparison), the others `days`. */
const END = START + 28 * DAY;
function loadedDays(j: number, days: number): number {
  return j === 0 ? Math.max(28, days) : days;
}

const columns = Array.from({ length: PER_TABLE }, (_, i) => `c${i}`);

/** One bucket of rows for a table: smooth daily shape plus noise, `spike` multiplies region r0's c0. */
function bucketInsert(table: number, t: number, spike = 1): { text: string; values: unknown[] } {
  const b = (t - START) / MIN5;
  const vals = columns.map((_, i) => `100 + ${(i % 7) + 1} * sin(${b} / 45.8 + ${i}) + random() * 3`);
  return {
    text: `INSERT INTO scale_t${table} (ts, region, ${columns.join(", ")})
           SELECT to_timestamp($1::float8 / 1000), 'r' || r, ${vals.map((v, i) => (i === 0 ? `(${v}) * CASE WHEN r = 0 THEN $2::float8 ELSE 1 END` : v)).join(", ")}
           FROM generate_series(0, ${REGIONS - 1}) AS r`,
    values: [t, spike],
  };
}

async function child(spec: RunSpec): Promise<RunResult> {
  const db = new PgDatabase({ url: spec.url, statementTimeoutMs: 600_000 });
  const detectors = { ensemble: [], cheap: CHEAP_DETECTOR, floor: FLOOR_DETECTOR }[spec.detector];
  const metrics = scaleMetrics(spec.series, detectors, spec.days * DAY, ["hook"]);
  const tables = Math.ceil(metrics.length / PER_TABLE);
  const end = END;
  // buckets an earlier run appended
  for (let j = 0; j < tables; j++) await db.query(`DELETE FROM scale_t${j} WHERE ts >= $1`, [new Date(END).toISOString()]);
  const clock = new ManualClock(end + 60_000);
  const schema = `state_${process.pid}`;
  let hits: number[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      hits.push(performance.now());
      res.writeHead(200).end("{}");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const hook = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const config = scaleConfig(metrics, hook);
  let fetchMs = 0;
  const fetcher = makeFetcher(db, silentLogger());
  const scanThread = spec.scanThread && !spec.daemon ? new ScanThread({ ...db.threadOptions, max: 2 }) : undefined;
  const grouped = makeGroupFetcher(db, silentLogger(), scanThread);
  const timed =
    <A extends unknown[], R>(f: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      const t0 = performance.now();
      try {
        return await f(...a);
      } finally {
        fetchMs += performance.now() - t0;
      }
    };
  let evaluate: () => Promise<unknown>;
  let drain: () => Promise<unknown> = async () => {};
  let daemon: Daemon | null = null;
  if (spec.latency || spec.daemon) {
    // imported only here: the daemon pulls in its dispatcher, scheduler and HTTP modules, which the engine runs do not need
    const { Daemon } = await import("../src/daemon.js");
    daemon = await Daemon.create({
      configPath: "scale-bench",
      config,
      env: { VIGIL_SCAN_THREAD: spec.scanThread ? "1" : "0" },
      metricsDb: db,
      stateDb: db,
      http: false,
      watch: false,
      clock,
      log: silentLogger(),
    });
    const d = daemon;
    evaluate = () => d.tickOnce(undefined, "*/5 * * * *");
    drain = () => d.dispatcher.drain();
  } else {
    await migrate(db, schema);
    const engine = new Engine(config, {
      store: new StateStore(db, schema),
      fetch: timed(fetcher),
      fetchGroup: timed(grouped),
      clock,
      log: silentLogger(),
      metrics: new VigilMetrics({ defaultMetrics: false }),
    });
    evaluate = async () => {
      const r = await engine.evaluate();
      if (process.env.SCALE_DEBUG) {
        const ev = r.metrics.reduce((a, x) => a + x.events.length, 0);
        const an = r.metrics.reduce((a, x) => a + x.anomalies, 0);
        console.error(`tick: ${r.metrics.length} metrics, ${r.failed.length} failed, ${an} anomalies, ${ev} events`);
      }
      return r;
    };
  }
  const rss = (what: string) => {
    (globalThis as { gc?: () => void }).gc?.();
    if (process.env.SCALE_DEBUG) {
      const u = process.memoryUsage();
      const mb = (x: number) => (x / 1e6).toFixed(0);
      console.error(
        `${what}: rss ${mb(u.rss)} MB, heap ${mb(u.heapUsed)} of ${mb(u.heapTotal)} MB, array buffers ${mb(u.arrayBuffers)} MB, external ${mb(u.external)} MB`,
      );
      // resident memory by mapping: the brk heap, anonymous mappings by size class, files
      const maps = new Map<string, number>();
      let key = "";
      for (const line of readFileSync("/proc/self/smaps", "utf8").split("\n")) {
        const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
        if (head) {
          const [lo, hi] = line
            .split(" ")[0]!
            .split("-")
            .map((x) => Number.parseInt(x, 16));
          const size = (hi! - lo!) / 1e6;
          key = head[1]
            ? head[1].startsWith("/")
              ? "files"
              : head[1]
            : size >= 60
              ? "anon ≥60 MB (malloc arenas, V8 reservations)"
              : size >= 1
                ? "anon 1-60 MB"
                : "anon <1 MB";
        } else if (line.startsWith("Rss:")) maps.set(key, (maps.get(key) ?? 0) + Number(line.split(/\s+/)[1]) / 1000);
      }
      console.error(`  by mapping: ${[...maps].map(([k, v]) => `${k} ${v.toFixed(0)} MB`).join(", ")}`);
    }
  };
  rss("before the history load");
  // SCALE_DEBUG: what the process held when its resident memory peaked during the history load
  let peakSample: NodeJS.MemoryUsage | null = null;
  const sampler = process.env.SCALE_DEBUG
    ? setInterval(() => {
        const u = process.memoryUsage();
        if (peakSample === null || u.rss > peakSample.rss) peakSample = u;
      }, 20)
    : null;
  const t0 = performance.now();
  await evaluate();
  const coldMs = performance.now() - t0;
  if (sampler) {
    clearInterval(sampler);
    const u = peakSample as NodeJS.MemoryUsage | null;
    const mb = (x: number) => (x / 1e6).toFixed(0);
    if (u)
      console.error(
        `at the history load's highest sample: rss ${mb(u.rss)} MB, heap ${mb(u.heapUsed)} of ${mb(u.heapTotal)} MB, array buffers ${mb(u.arrayBuffers)} MB, external ${mb(u.external)} MB`,
      );
  }
  rss("after the history load");
  await drain();
  const tickMs: number[] = [];
  const sqlMs: number[] = [];
  const sqlCpuMs: number[] = [];
  const fetchShare: number[] = [];
  const cpuMs: number[] = [];
  let ungroupedSqlMs: number | undefined;
  // SCALE_PROFILE=FILE: CPU profiles of the steady ticks alone (not the history load, the inserts or
  // the bare SQL), one per tick: FILE.0, FILE.1...; SCALE_INTERVAL: µs between samples (default 100).
  // SCALE_HEAP=FILE: a sampling heap profile of every allocation (collected ones too) from the first
  // measured tick to the last, the inserts and the bare SQL included.
  // one inspector session serves both
  const session = process.env.SCALE_PROFILE || process.env.SCALE_HEAP ? new inspector.Session() : null;
  session?.connect();
  const profiler = process.env.SCALE_PROFILE ? session : null;
  const heapSes = process.env.SCALE_HEAP ? session : null;
  if (profiler) {
    await profiler.post("Profiler.enable");
    await profiler.post("Profiler.setSamplingInterval", { interval: Number(process.env.SCALE_INTERVAL ?? 100) });
  }
  // the first ticks after a history load are not the steady state: the load's garbage is still being
  // collected and the judging path (rather than the history's) is still being compiled
  const warm = spec.warm ?? 0;
  const rounds = warm + spec.ticks;
  for (let k = 0; k < rounds; k++) {
    if (heapSes && k === warm)
      await heapSes.post("HeapProfiler.startSampling", {
        samplingInterval: 256,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      } as never);
    const t = end + k * MIN5;
    for (let j = 0; j < tables; j++) {
      const q = bucketInsert(j, t);
      await db.query(q.text, q.values);
    }
    clock.advance(MIN5);
    // the bare SQL of this tick: one grouped scan per table over the new bucket, through the same driver
    const s0 = performance.now();
    const sqlCpu0 = process.cpuUsage();
    for (let j = 0; j < tables; j++) {
      const ms = metrics.slice(j * PER_TABLE, (j + 1) * PER_TABLE);
      const q = buildBucketScan(
        {
          table: `scale_t${j}`,
          timeColumn: "ts",
          granularityMs: MIN5,
          splitBy: ["region"],
          aggregates: ms.map((m, i) => ({ alias: `v${i}`, expr: m.source!.value })),
        },
        { from: t, to: t + MIN5 },
      );
      await db.query(q.text, q.values);
    }
    const s1 = performance.now();
    const sqlCpu = process.cpuUsage(sqlCpu0);
    fetchMs = 0;
    const cpu0 = process.cpuUsage();
    if (profiler) await profiler.post("Profiler.start");
    await evaluate();
    const s2 = performance.now();
    if (profiler) writeFileSync(`${process.env.SCALE_PROFILE}.${k}`, JSON.stringify((await profiler.post("Profiler.stop")).profile));
    const cpu = process.cpuUsage(cpu0);
    const ms = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
    if (process.env.SCALE_DEBUG) {
      console.error(
        `${k < warm ? "warm-up " : ""}tick ${k}: ${(s2 - s1).toFixed(1)} ms, cpu ${ms(cpu).toFixed(1)}, bare SQL ${(s1 - s0).toFixed(1)} ms (cpu ${ms(sqlCpu).toFixed(1)})`,
      );
    }
    if (k < warm) continue;
    cpuMs.push(ms(cpu));
    sqlCpuMs.push(ms(sqlCpu));
    sqlMs.push(s1 - s0);
    tickMs.push(s2 - s1);
    fetchShare.push(fetchMs);
    if (spec.ungrouped && k === rounds - 1) {
      const u0 = performance.now();
      for (const m of metrics) {
        const q = buildStructuredQuery(m, { from: t, to: t + MIN5 });
        await db.query(q.text, q.values);
      }
      ungroupedSqlMs = performance.now() - u0;
    }
  }
  if (heapSes) writeFileSync(process.env.SCALE_HEAP!, JSON.stringify((await heapSes.post("HeapProfiler.stopSampling")).profile));
  let latency: RunResult["latency"];
  if (spec.latency) {
    // An anomalous bucket lands; the tick at its close sees it and the webhook should follow at once.
    const t = end + rounds * MIN5;
    hits = [];
    const i0 = performance.now();
    for (let j = 0; j < tables; j++) {
      const q = bucketInsert(j, t, j === 0 ? 50 : 1);
      await db.query(q.text, q.values);
    }
    clock.advance(MIN5);
    const k0 = performance.now();
    await evaluate();
    const k1 = performance.now();
    await drain();
    const hit = hits[0];
    if (hit === undefined) throw new Error("the anomaly did not reach the webhook");
    latency = { insertToHookMs: hit - i0, tickMs: k1 - k0, afterTickMs: hit - k1 };
  }
  rss("after the steady ticks");
  session?.disconnect();
  const mem = process.memoryUsage();
  let idleRssMb: number | undefined;
  if (spec.idle) {
    // a daemon spends most of its time between ticks; V8 shrinks its heap once allocation stops
    await new Promise((r) => setTimeout(r, IDLE_S * 1000));
    idleRssMb = process.memoryUsage().rss / 1e6;
  }
  const peakMb = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? Number.NaN) / 1000;
  await daemon?.stop(1000);
  await scanThread?.close();
  server.closeAllConnections();
  server.close();
  // the next run starts from no alert state (an alert still open would not be notified again)
  await db.exec(`DROP SCHEMA ${daemon ? "vigil" : schema} CASCADE`);
  await db.close();
  const { url: _url, ...rest } = spec;
  return {
    spec: rest,
    coldMs,
    tickMs: median(tickMs),
    tickRatios: tickMs.map((x, i) => x / sqlMs[i]!).sort((a, b) => a - b),
    sqlMs: median(sqlMs),
    sqlCpuMs: median(sqlCpuMs),
    fetchMs: median(fetchShare),
    cpuMs: median(cpuMs),
    rssMb: mem.rss / 1e6,
    heapMb: (mem.heapUsed + mem.arrayBuffers) / 1e6,
    peakMb,
    ...(idleRssMb === undefined ? {} : { idleRssMb }),
    ...(ungroupedSqlMs === undefined ? {} : { ungroupedSqlMs }),
    ...(latency ? { latency } : {}),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

/**
 * How the Docker image runs the daemon: the node flags of its ENTRYPOINT (the options between
 * `node` and the script) and the C allocator's settings among the runtime stage's ENV (`MALLOC_*`).
 * The children run with both, so they measure vigil as it is deployed.
 */
export function daemonRuntime(repo: string): { flags: string[]; env: Record<string, string> } {
  const dockerfile = readFileSync(join(repo, "Dockerfile"), "utf8");
  const m = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile);
  if (!m) throw new Error("Dockerfile: no ENTRYPOINT in exec form");
  const argv = JSON.parse(m[1]!) as string[];
  const runtime = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));
  const env: Record<string, string> = {};
  for (const line of runtime.matchAll(/^ENV\s+(.*)$/gm)) {
    for (const kv of line[1]!.trim().split(/\s+/)) {
      const [k, v] = kv.split("=");
      if (k?.startsWith("MALLOC_") && v !== undefined) env[k] = v;
    }
  }
  return { flags: argv.slice(1).filter((a) => a.startsWith("--")), env };
}

function runChild(spec: RunSpec): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    // the compiled bench (`npm run bench` builds it) runs as the daemon does, without tsx's loader
    // in the process (about 30 MB of resident memory); from source otherwise
    const here = fileURLToPath(import.meta.url);
    const repo = join(dirname(here), here.endsWith(".ts") ? ".." : "../..");
    const compiled = join(repo, "dist", "bench", "scale.js");
    const entry = here.endsWith(".ts") && existsSync(compiled) ? [compiled] : here.endsWith(".ts") ? ["--import", "tsx", here] : [here];
    const { flags, env } = daemonRuntime(repo);
    const p = spawn(process.execPath, ["--expose-gc", ...flags, ...entry, "--child", JSON.stringify(spec)], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, ...env },
    });
    let out = "";
    p.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    p.on("exit", (code) => {
      const line = out.trim().split("\n").pop() ?? "";
      if (code === 0 && line.startsWith("{")) resolve(JSON.parse(line) as RunResult);
      else reject(new Error(`scale child failed (${code}): ${out.slice(-2000)}`));
    });
  });
}

export async function benchScale(): Promise<void> {
  const list = (v: string | undefined, def: string) =>
    (v ?? def)
      .split(",")
      .filter((x) => x.trim() !== "")
      .map(Number);
  const sizes = list(process.env.SCALE_SIZES, "1000,5000,10000,20000");
  const historyDays = list(process.env.SCALE_HISTORY, "7,28");
  const ticks = Number(process.env.SCALE_TICKS ?? 8);
  const warm = Number(process.env.SCALE_WARM ?? 3);
  // the default detector at the issue's scale (its history load takes about 40 s)
  const ensembleSeries = Number(process.env.SCALE_ENSEMBLE ?? 10000);
  const days = Number(process.env.SCALE_DAYS ?? 14);
  const server = await benchServer(
    "scale bench",
    "needs PostgreSQL (set VIGIL_BENCH_DATABASE_URL); PGlite cannot hold 10,000 series of 5-minute history in reasonable time",
  );
  if (!server) return;
  const name = `vigil_scale_${process.pid}`;
  const url = await server.create(name);
  const u = new URL(url);
  try {
    const db = new PgDatabase({ url, statementTimeoutMs: 600_000 });
    const maxSeries = Math.max(...sizes, ensembleSeries, process.env.SCALE_LATENCY === "0" ? 0 : 10000, 1000);
    const tables = Math.ceil(maxSeries / REGIONS / PER_TABLE);
    const l0 = performance.now();
    for (let j = 0; j < tables; j++) {
      const d = loadedDays(j, days);
      await db.exec(
        `CREATE TABLE scale_t${j} (ts timestamptz NOT NULL, region text NOT NULL, ${columns.map((c) => `${c} double precision`).join(", ")})`,
      );
      const vals = columns.map((_, i) => `100 + ${(i % 7) + 1} * sin(b / 45.8 + ${i}) + random() * 3`);
      await db.query(
        `INSERT INTO scale_t${j} SELECT to_timestamp(($1::float8 + b::float8 * ${MIN5}) / 1000), 'r' || r, ${vals.join(", ")}
         FROM generate_series($2::int, $3::int - 1) AS b, generate_series(0, ${REGIONS - 1}) AS r`,
        [START, (END - d * DAY - START) / MIN5, (END - START) / MIN5],
      );
      await db.exec(`CREATE INDEX ON scale_t${j} (ts)`);
      // VACUUM as well as ANALYZE: otherwise autovacuum (and the first scans, writing hint bits)
      // work through the fresh rows during the first measured runs, on the same two cores
      await db.exec(`VACUUM ANALYZE scale_t${j}`);
    }
    const loadS = (performance.now() - l0) / 1000;
    await db.close();
    console.log(
      `scale bench — PostgreSQL (${u.host}), 5-minute buckets, ${PER_TABLE} metrics per table × ${REGIONS} split values; ` +
        `${tables} tables, ${((tables * PER_TABLE * REGIONS * days * DAY) / MIN5 / 1e6).toFixed(0)} M values (+14 days on table 0) loaded in ${loadS.toFixed(0)} s`,
    );
    const run = daemonRuntime(join(dirname(fileURLToPath(import.meta.url)), import.meta.url.endsWith(".ts") ? ".." : "../.."));
    const settings = [...run.flags, ...Object.entries(run.env).map(([k, v]) => `${k}=${v}`)];
    console.log(
      `  each run in a process of its own, as the Docker image runs the daemon (${settings.length > 0 ? settings.join(" ") : "no flags"})`,
    );
    const fmt = (r: RunResult) =>
      `${String(r.spec.series).padStart(6)} series ${r.spec.detector.padEnd(8)} ${String(r.spec.days).padStart(2)} d | cold ${(r.coldMs / 1000).toFixed(1).padStart(6)} s | tick ${r.tickMs.toFixed(1).padStart(7)} ms (cpu ${r.cpuMs.toFixed(1).padStart(6)}, fetch ${r.fetchMs.toFixed(1).padStart(6)}) | bare SQL ${r.sqlMs.toFixed(1).padStart(6)} ms (cpu ${r.sqlCpuMs.toFixed(1).padStart(5)}) | ×${(r.tickMs / r.sqlMs).toFixed(2).padStart(5)} (per tick ${r.tickRatios[0]!.toFixed(2)}–${r.tickRatios[r.tickRatios.length - 1]!.toFixed(2)}, median ${median(r.tickRatios).toFixed(2)}) | ${((r.tickMs / r.spec.series) * 1000).toFixed(2).padStart(6)} µs/series | RSS ${r.rssMb.toFixed(0).padStart(5)} MB${r.idleRssMb === undefined ? "" : `, ${r.idleRssMb.toFixed(0)} MB between ticks`} (heap+buffers ${r.heapMb.toFixed(0)} MB, peak ${r.peakMb.toFixed(0)} MB)`;
    console.log("  cost by size (cheap detector: moving_average median_mad, window 30, so the engine's own cost shows):");
    console.log(
      "  (a tick overlaps the next scan with judging and writes watermarks while it goes on; the bare SQL runs the scans one after another)",
    );
    for (const n of sizes)
      console.log(
        `  ${fmt(await runChild({ url, series: n, detector: "cheap", days, ticks, warm, ungrouped: n === 10000, idle: n === 10000 }).then((r) => (last = r)))}`,
      );
    if (last?.ungroupedSqlMs !== undefined)
      console.log(`    (10,000 series read one metric per query instead: ${last.ungroupedSqlMs.toFixed(0)} ms of bare SQL per tick)`);
    console.log(
      "  a threshold that never fires (no detector state: the engine's and the driver's own cost, the floor under any detector):",
    );
    console.log(`  ${fmt(await runChild({ url, series: 10000, detector: "floor", days, ticks, warm }))}`);
    if (ensembleSeries > 0) {
      console.log(
        "  default detector (ensemble): the engine alone, then the whole daemon (dispatcher, outbox, state store; a webhook channel):",
      );
      console.log(`  ${fmt(await runChild({ url, series: ensembleSeries, detector: "ensemble", days, ticks, warm, idle: true }))}`);
      const daemonRun = await runChild({ url, series: ensembleSeries, detector: "ensemble", days, ticks, warm, idle: true, daemon: true });
      console.log(`  ${fmt(daemonRun)}`);
      printPeer(url, ensembleSeries, daemonRun);
      console.log("  the same daemon with VIGIL_SCAN_THREAD=1 (grouped scans run and parsed on a second thread):");
      console.log(
        `  ${fmt(await runChild({ url, series: ensembleSeries, detector: "ensemble", days, ticks, warm, idle: true, daemon: true, scanThread: true }))}`,
      );
    }
    if (historyDays.length > 0) console.log("  history length (1,000 series, cheap detector):");
    for (const d of historyDays) console.log(`  ${fmt(await runChild({ url, series: 1000, detector: "cheap", days: d, ticks, warm }))}`);
    if (process.env.SCALE_LATENCY === "0") return;
    const lat = await runChild({ url, series: 10000, detector: "cheap", days, ticks: 2, latency: true, idle: true });
    console.log(
      `  alert latency (10,000 series, cheap detector, daemon tick + outbox + webhook): insert → webhook ${lat.latency!.insertToHookMs.toFixed(0)} ms; ` +
        `the tick ${lat.latency!.tickMs.toFixed(0)} ms, webhook ${lat.latency!.afterTickMs.toFixed(0)} ms after it; ` +
        `the daemon's RSS ${lat.rssMb.toFixed(0)} MB, ${lat.idleRssMb!.toFixed(0)} MB between ticks, peak ${lat.peakMb.toFixed(0)} MB`,
    );
  } finally {
    await server.drop(name);
    await server.end();
  }
}
let last: RunResult | null = null;

/** The pandas peer on the same tables and series as a daemon run, side by side with its steady tick. */
function printPeer(url: string, series: number, daemonRun: RunResult): void {
  const python = peerPython();
  if (python === null) {
    console.log("  the pandas peer — skipped: needs Python 3 with pandas and psycopg2 (Debian: python3-pandas python3-psycopg2)");
    return;
  }
  const tables = Array.from({ length: Math.ceil(series / REGIONS / PER_TABLE) }, (_, j) => `scale_t${j}`);
  const peer = runPeer(python, url, "wide", tables, END);
  const peerMs = (peer.sqlS + peer.pandasS) * 1000;
  console.log(
    `  the pandas peer (re-reads the last day each run, rolling interquartile fence): ${(peerMs / 1000).toFixed(1)} s per run ` +
      `(SQL ${peer.sqlS.toFixed(1)} s, pandas ${peer.pandasS.toFixed(1)} s), ${peer.flagged} of ${peer.series} series flagged; ` +
      `vigil's steady tick ${daemonRun.tickMs.toFixed(0)} ms, ${(peerMs / daemonRun.tickMs).toFixed(0)}× faster`,
  );
}

if (process.argv[2] === "--child") {
  const r = await child(JSON.parse(process.argv[3]!) as RunSpec);
  console.log(JSON.stringify(r));
  process.exit(0);
} else if (import.meta.url === `file://${process.argv[1]}`) {
  await benchScale();
}
