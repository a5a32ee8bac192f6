/**
 * Steady-state tick cost: N series (one metric split N ways), hourly buckets, 14 days of history.
 * Prints the engine's tick time beside the time of the bare SQL that fetches the same new buckets,
 * so vigil's own overhead is visible. Uses PostgreSQL at $VIGIL_BENCH_DATABASE_URL (default
 * postgres://postgres@127.0.0.1:5432/postgres, in a scratch database), else PGlite.
 */
import { performance } from "node:perf_hooks";
import pg from "pg";
import { ManualClock } from "../src/clock.js";
import type { Database } from "../src/db/database.js";
import { PgDatabase } from "../src/db/pg.js";
import { PgliteDatabase } from "../src/db/pglite.js";
import { Engine } from "../src/engine/engine.js";
import { silentLogger } from "../src/log.js";
import { makeFetcher } from "../src/source-fetcher.js";
import { buildStructuredQuery } from "../src/sources/index.js";
import { migrate } from "../src/store/migrations.js";
import { StateStore } from "../src/store/state-store.js";
import { VigilMetrics } from "../src/telemetry/metrics.js";
import { metric, vigilConfig } from "../test/helpers/config.js";

const HOUR = 3_600_000;

async function openBenchDb(): Promise<{ db: Database; label: string; cleanup: () => Promise<void> }> {
  const admin = process.env.VIGIL_BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const client = new pg.Client({ connectionString: admin, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    const name = `vigil_bench_${process.pid}`;
    await client.query(`DROP DATABASE IF EXISTS ${name}`);
    await client.query(`CREATE DATABASE ${name}`);
    const url = new URL(admin);
    url.pathname = `/${name}`;
    const db = new PgDatabase({ url: url.toString() });
    return {
      db,
      label: `PostgreSQL (${url.host})`,
      cleanup: async () => {
        await db.close();
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await client.end();
      },
    };
  } catch {
    await client.end().catch(() => {});
    const db = await PgliteDatabase.open({ memory: true });
    return { db, label: "PGlite (no PostgreSQL reachable)", cleanup: () => db.close() };
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export async function benchTick(seriesCount = 1000, days = 14, ticks = 7): Promise<void> {
  const { db, label, cleanup } = await openBenchDb();
  try {
    await db.exec("CREATE TABLE bench_events (ts timestamptz NOT NULL, series text NOT NULL, v double precision)");
    await db.exec("CREATE INDEX bench_events_ts ON bench_events (ts)");
    const start = Date.UTC(2026, 0, 1);
    const hours = days * 24;
    const insertHours = async (from: number, to: number) => {
      await db.query(
        `INSERT INTO bench_events (ts, series, v)
         SELECT to_timestamp(($1::float8 + h * 3600000 + 60000) / 1000), 's' || s, 100 + 10 * sin(h / 3.8) + random() * 5
         FROM generate_series($2::int, $3::int - 1) AS h, generate_series(1, $4::int) AS s`,
        [start, from, to, seriesCount],
      );
    };
    await insertHours(0, hours);
    await db.exec("ANALYZE bench_events");
    await migrate(db);
    const m = metric({
      name: "bench",
      source: { table: "bench_events", time_column: "ts", value: "avg(v)", split_by: ["series"], dimensions: [] },
      granularityMs: HOUR,
      lookbackMs: days * 24 * HOUR,
      detectors: [],
      notify: [],
      schedule: "* * * * *",
    });
    const clock = new ManualClock(start + hours * HOUR + 60_000);
    const fetcher = makeFetcher(db, silentLogger());
    let fetchMs = 0;
    const timedFetch: typeof fetcher = async (metric, window) => {
      const f0 = performance.now();
      try {
        return await fetcher(metric, window);
      } finally {
        fetchMs += performance.now() - f0;
      }
    };
    const engine = new Engine(
      vigilConfig([m], {
        file: "bench",
        channels: {},
        defaults: { schedule: "* * * * *", notify: [], severity_channels: {}, storm_limit: 10 },
      }),
      { store: new StateStore(db), fetch: timedFetch, clock, log: silentLogger(), metrics: new VigilMetrics({ defaultMetrics: false }) },
    );
    const t0 = performance.now();
    await engine.evaluate();
    const cold = performance.now() - t0;
    const tickMs: number[] = [];
    const sqlMs: number[] = [];
    const fetchShare: number[] = [];
    for (let k = 0; k < ticks; k++) {
      const h = hours + k;
      await insertHours(h, h + 1);
      clock.advance(HOUR);
      // the engine's window for this tick: the one newly closed bucket [h, h+1)
      const q = buildStructuredQuery(m, { from: start + h * HOUR, to: start + (h + 1) * HOUR });
      const s0 = performance.now();
      await db.query(q.text, q.values);
      const s1 = performance.now();
      fetchMs = 0;
      const r = await engine.evaluate();
      const s2 = performance.now();
      fetchShare.push(fetchMs);
      if (r.failed.length) throw new Error(`tick failed: ${r.metrics[0]?.error}`);
      sqlMs.push(s1 - s0);
      tickMs.push(s2 - s1);
    }
    const mem = process.memoryUsage().rss / 1e6;
    console.log(
      `tick bench — ${label}: one metric split ${seriesCount} ways, default ensemble, ${days} days of hourly history (${(seriesCount * hours).toLocaleString("en-US")} rows); ` +
        "at this size a tick is mostly fixed costs (the 10,000-series targets are the scale bench's, below)",
    );
    console.log(`  cold start (history load + warm-up + judge): ${cold.toFixed(0)} ms`);
    console.log(`  steady-state tick (1 new bucket/series):    median ${median(tickMs).toFixed(1)} ms`);
    console.log(`  bare SQL fetching the same new buckets:     median ${median(sqlMs).toFixed(1)} ms`);
    console.log(`  of which fetch (SQL + decoding rows):      median ${median(fetchShare).toFixed(1)} ms`);
    console.log(`  ratio tick / bare SQL:                      ${(median(tickMs) / median(sqlMs)).toFixed(2)}×`);
    console.log(`  resident memory of this bench process:      ${mem.toFixed(0)} MB (tsx, the other benches' modules and this data)`);
  } finally {
    await cleanup();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await benchTick(Number(process.env.SERIES ?? 1000), Number(process.env.DAYS ?? 14), Number(process.env.TICKS ?? 7));
}
