/**
 * Scale on the layouts other than wide tables, 10,000 series of 5-minute buckets in one long-format
 * table (`ts, metric, host, v`: 1,000 metric names × 10 hosts):
 * - "long": 1,000 metrics, one per name (`where: "metric = 'mNNNN'"`, `split_by: [host]`), as
 *   operators write them;
 * - "big": one metric split by `[metric, host]`.
 * Each run is a process of its own with the launcher's flags. Prints the history load against the
 * bare SQL that reads the same history in one grouped query, the steady tick against the bare SQL
 * of its buckets, resident memory, and the pandas peer on the same table.
 *
 * Env: VIGIL_BENCH_DATABASE_URL (admin URL), LONG_DAYS (history, default 2), LONG_TICKS (default 6).
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { ManualClock } from "../src/clock.js";
import type { DetectorConfig, MetricConfig } from "../src/config/types.js";
import { PgDatabase } from "../src/db/pg.js";
import { Engine } from "../src/engine/engine.js";
import { silentLogger } from "../src/log.js";
import { makeFetcher, makeGroupFetcher } from "../src/source-fetcher.js";
import { planGroupScan } from "../src/sources/fetch-buckets.js";
import { buildStructuredQuery } from "../src/sources/index.js";
import { migrate } from "../src/store/migrations.js";
import { StateStore } from "../src/store/state-store.js";
import { VigilMetrics } from "../src/telemetry/metrics.js";
import { metric, vigilConfig } from "../test/helpers/config.js";
import { benchServer } from "./bench-db.js";
import { peerPython, runPeer } from "./peer.js";
import { daemonRuntime } from "./scale.js";
import { CHEAP_DETECTOR, DAY, FLOOR_DETECTOR, MIN5 } from "./scale-shape.js";

const NAMES = 1000;
const HOSTS = 10;
const END = Date.UTC(2026, 0, 15);
/** Rows follow a daily-ish wave per metric name, so new buckets continue the history rather than break it. */
const START = Date.UTC(2026, 0, 1);
const ROW_VALUE = "100 + (i % 7 + 1) * sin(b / 45.8 + i) + random() * 3";

interface Spec {
  url: string;
  layout: "long" | "big";
  detector: "floor" | "cheap" | "ensemble";
  days: number;
  ticks: number;
}

const name = (i: number) => `m${String(i).padStart(4, "0")}`;

function metricsOf(spec: Spec): MetricConfig[] {
  const detectors: DetectorConfig[] = { floor: FLOOR_DETECTOR, cheap: CHEAP_DETECTOR, ensemble: [] }[spec.detector];
  const base = { granularityMs: MIN5, lookbackMs: spec.days * DAY, detectors, notify: [] };
  const source = (where: string | undefined, splitBy: string[]) => ({
    table: "long_t",
    time_column: "ts",
    value: "avg(v)",
    ...(where === undefined ? {} : { where }),
    split_by: splitBy,
    dimensions: [],
  });
  if (spec.layout === "big") return [metric({ name: "all", source: source(undefined, ["metric", "host"]), ...base })];
  return Array.from({ length: NAMES }, (_, i) => metric({ name: name(i), source: source(`metric = '${name(i)}'`, ["host"]), ...base }));
}

/** The one grouped query that reads the metrics' buckets in [from, to). */
async function bareSql(db: PgDatabase, metrics: MetricConfig[], from: number, to: number): Promise<number> {
  const q = metrics.length > 1 ? planGroupScan(metrics, { from, to }).query! : buildStructuredQuery(metrics[0]!, { from, to });
  const t0 = performance.now();
  await db.query(q.text, q.values);
  return performance.now() - t0;
}

async function child(spec: Spec) {
  const db = new PgDatabase({ url: spec.url, statementTimeoutMs: 600_000 });
  await db.query("DELETE FROM long_t WHERE ts >= $1", [new Date(END).toISOString()]);
  const metrics = metricsOf(spec);
  const schema = `state_${process.pid}`;
  await migrate(db, schema);
  const clock = new ManualClock(END + 60_000);
  const engine = new Engine(
    vigilConfig(metrics, { defaults: { schedule: "*/5 * * * *", notify: [], severity_channels: {}, storm_limit: 1000 } }),
    {
      store: new StateStore(db, schema),
      fetch: makeFetcher(db, silentLogger()),
      fetchGroup: makeGroupFetcher(db, silentLogger()),
      clock,
      log: silentLogger(),
      metrics: new VigilMetrics({ defaultMetrics: false }),
    },
  );
  const t0 = performance.now();
  await engine.evaluate();
  const coldMs = performance.now() - t0;
  const ratios: number[] = [];
  const ticks: number[] = [];
  for (let k = 0; k < spec.ticks + 2; k++) {
    const t = END + k * MIN5;
    await db.query(
      `INSERT INTO long_t SELECT to_timestamp($1::float8 / 1000), 'm' || lpad(i::text, 4, '0'), 'h' || h, ${ROW_VALUE}
       FROM (SELECT $2::int AS b) AS x, generate_series(0, ${NAMES - 1}) i, generate_series(0, ${HOSTS - 1}) h`,
      [t, (t - START) / MIN5],
    );
    clock.advance(MIN5);
    const sql = await bareSql(db, metrics, t, t + MIN5);
    const s = performance.now();
    await engine.evaluate();
    if (k < 2) continue; // the first ticks after a load are not the steady state
    ticks.push(performance.now() - s);
    ratios.push(ticks.at(-1)! / sql);
  }
  (globalThis as { gc?: () => void }).gc?.();
  const rssMb = process.memoryUsage().rss / 1e6;
  const peakMb = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1]) / 1000;
  // last: its rows through the driver would be this process's peak
  const coldSqlMs = await bareSql(db, metrics, END - spec.days * DAY, END);
  await db.exec(`DROP SCHEMA ${schema} CASCADE`);
  await db.close();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { coldMs, coldSqlMs, tickMs: median(ticks), ratio: median(ratios), rssMb, peakMb };
}

function runChild(spec: Spec): Promise<Awaited<ReturnType<typeof child>>> {
  const here = fileURLToPath(import.meta.url);
  const repo = join(dirname(here), here.endsWith(".ts") ? ".." : "../..");
  // as scale.ts: the compiled bench when there is one, so the child holds no tsx loader
  const compiled = join(repo, "dist", "bench", "scale-long.js");
  const entry = here.endsWith(".ts") && existsSync(compiled) ? [compiled] : here.endsWith(".ts") ? ["--import", "tsx", here] : [here];
  const run = daemonRuntime(repo);
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ["--expose-gc", ...run.flags, ...entry, "--long-child", JSON.stringify(spec)], {
      env: { ...process.env, ...run.env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    p.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    p.on("exit", (code) => {
      const line = out.trim().split("\n").pop() ?? "";
      if (code === 0 && line.startsWith("{")) resolve(JSON.parse(line));
      else reject(new Error(`long-format child failed (${code}): ${out.slice(-2000)}`));
    });
  });
}

export async function benchScaleLong(): Promise<void> {
  const days = Number(process.env.LONG_DAYS ?? 2);
  const ticks = Number(process.env.LONG_TICKS ?? 6);
  const server = await benchServer("long-format scale bench");
  if (!server) return;
  const dbName = `vigil_long_${process.pid}`;
  const url = await server.create(dbName);
  try {
    const db = new PgDatabase({ url, statementTimeoutMs: 600_000 });
    const l0 = performance.now();
    await db.exec("CREATE TABLE long_t (ts timestamptz NOT NULL, metric text NOT NULL, host text NOT NULL, v double precision)");
    await db.query(
      `INSERT INTO long_t SELECT to_timestamp(($1::float8 + b::float8 * ${MIN5}) / 1000), 'm' || lpad(i::text, 4, '0'), 'h' || h, ${ROW_VALUE}
       FROM generate_series($2::int, $3::int - 1) b, generate_series(0, ${NAMES - 1}) i, generate_series(0, ${HOSTS - 1}) h`,
      [START, (END - days * DAY - START) / MIN5, (END - START) / MIN5],
    );
    await db.exec("CREATE INDEX ON long_t (ts)");
    await db.exec("VACUUM ANALYZE long_t");
    await db.close();
    console.log(
      `long-format scale bench — ${NAMES} metric names × ${HOSTS} hosts = ${NAMES * HOSTS} series, ${days} days of 5-minute rows (${((NAMES * HOSTS * days * DAY) / MIN5 / 1e6).toFixed(1)} M rows) loaded in ${((performance.now() - l0) / 1000).toFixed(0)} s`,
    );
    for (const layout of ["long", "big"] as const) {
      for (const detector of ["floor", "cheap", "ensemble"] as const) {
        const r = await runChild({ url, layout, detector, days, ticks });
        const what = layout === "long" ? "1,000 metrics, one per name" : "1 metric split by [metric, host]";
        console.log(
          `  ${what.padEnd(34)} ${detector.padEnd(8)} | cold ${(r.coldMs / 1000).toFixed(1)} s vs bare SQL ${(r.coldSqlMs / 1000).toFixed(1)} s ×${(r.coldMs / r.coldSqlMs).toFixed(2)} | tick ${r.tickMs.toFixed(0)} ms, ×${r.ratio.toFixed(2)} its bare SQL | RSS ${r.rssMb.toFixed(0)} MB, peak ${r.peakMb.toFixed(0)} MB`,
        );
      }
    }
    const python = peerPython();
    if (python === null) console.log("  the pandas peer — skipped: needs python3-pandas and python3-psycopg2");
    else {
      const p = runPeer(python, url, "long", ["long_t"], END);
      console.log(
        `  the pandas peer on the same table: ${(p.sqlS + p.pandasS).toFixed(1)} s per run (SQL ${p.sqlS.toFixed(1)} s, pandas ${p.pandasS.toFixed(1)} s), ${p.flagged} of ${p.series} series flagged`,
      );
    }
  } finally {
    await server.drop(dbName);
    await server.end();
  }
}

if (process.argv[2] === "--long-child") {
  console.log(JSON.stringify(await child(JSON.parse(process.argv[3]!) as Spec)));
  process.exit(0);
} else if (import.meta.url === `file://${process.argv[1]}`) {
  await benchScaleLong();
}
