/**
 * An engine on a test database for the scan tests: reads of the metric table counted, every
 * judged point recorded as one line, grouped scans on or off.
 */
import { ManualClock } from "../../src/clock.js";
import type { MetricConfig } from "../../src/config/types.js";
import type { Database } from "../../src/db/database.js";
import { Engine } from "../../src/engine/engine.js";
import { type Logger, silentLogger } from "../../src/log.js";
import type { Point } from "../../src/model/point.js";
import { makeFetcher, makeGroupFetcher } from "../../src/source-fetcher.js";
import { migrate } from "../../src/store/migrations.js";
import { StateStore } from "../../src/store/state-store.js";
import { VigilMetrics } from "../../src/telemetry/metrics.js";
import { vigilConfig } from "./config.js";

/** `db` with the statements that name `table` counted. */
export function countingReads(db: Database, table: string): { db: Database; reads: () => number; reset: () => void } {
  let n = 0;
  const wrapped = Object.create(db) as Database;
  wrapped.query = (text, values, opts) => {
    if (text.includes(`"${table}"`)) n++;
    return db.query(text, values, opts);
  };
  return { db: wrapped, reads: () => n, reset: () => (n = 0) };
}

export interface ScanEngine {
  engine: Engine;
  clock: ManualClock;
  /** `metric|series|t|v|expected|flag` per judged point. */
  judged: string[];
  reads: () => number;
  resetReads: () => void;
}

/** An engine on its own state schema, reading `table` through a counter; `grouped`: shared scans on. */
export async function scanEngine(
  db: Database,
  o: { schema: string; table: string; metrics: MetricConfig[]; now: number; grouped: boolean; log?: Logger },
): Promise<ScanEngine> {
  await migrate(db, o.schema);
  const c = countingReads(db, o.table);
  const clock = new ManualClock(o.now);
  const judged: string[] = [];
  const engine = new Engine(vigilConfig(o.metrics), {
    store: new StateStore(db, o.schema),
    fetch: makeFetcher(c.db, silentLogger()),
    ...(o.grouped ? { fetchGroup: makeGroupFetcher(c.db, silentLogger()) } : {}),
    clock,
    log: o.log ?? silentLogger(),
    metrics: new VigilMetrics({ defaultMetrics: false }),
    onJudged: (m, s, p: Point, v, flags) => judged.push(`${m}|${s}|${p.t}|${p.v}|${v[0]?.expected}|${flags[0]}`),
  });
  return { engine, clock, judged, reads: c.reads, resetReads: c.reset };
}
