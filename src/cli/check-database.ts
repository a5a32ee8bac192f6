/**
 * `vigil validate --db`: run every metric's and experiment's query once against the metrics
 * database and say, at the config line, what would go wrong at run time (a missing table, a typo in
 * `value`) or quietly wrong (a naive time column read as UTC, a source without rows).
 *
 * A database that cannot be reached is not any metric's fault: its DatabaseError (kind
 * "connection") is thrown for the caller to report once.
 */

import type { PathSegment } from "../config/problem.js";
import type { ExperimentConfig, GuardrailConfig, MetricConfig, VigilConfig } from "../config/types.js";
import { DatabaseError, isConnectionError, type Queryable } from "../db/database.js";
import { probeAssignments, probeEvents } from "../experiments/sql.js";
import { formatDuration } from "../model/duration.js";
import { bucketClock, DAY_MS } from "../sources/bucket-clock.js";
import { tableColumns } from "../sources/column-type.js";
import { fetchBuckets, SourceError } from "../sources/fetch-buckets.js";

export interface DatabaseFinding {
  path: PathSegment[];
  message: string;
  severity: "error" | "warning";
  /** Point at the key (`source:`) rather than its value. */
  at: "key" | "value";
}

export interface DatabaseCheck {
  findings: DatabaseFinding[];
  metrics: number;
  experiments: number;
}

/** Buckets read first: enough to run the query for real, few enough to be cheap on any table. */
const RECENT_BUCKETS = 3;
/** How far back an experiment's probes look for a row (or from its `start`, if later). */
const EXPERIMENT_PROBE_MS = 7 * DAY_MS;

export const NAIVE_MESSAGE = "naive timestamps are read as UTC; set source.timezone";

export async function checkDatabase(db: Queryable, config: VigilConfig, now: number): Promise<DatabaseCheck> {
  const findings: DatabaseFinding[] = [];
  for (const [i, m] of config.metrics.entries()) findings.push(...(await checkMetric(db, m, ["metrics", i], now)));
  for (const [i, e] of config.experiments.entries()) findings.push(...(await checkExperiment(db, e, ["experiments", i], now)));
  return { findings, metrics: config.metrics.length, experiments: config.experiments.length };
}

async function checkMetric(db: Queryable, m: MetricConfig, at: PathSegment[], now: number): Promise<DatabaseFinding[]> {
  const where = [...at, m.source ? "source" : "query"];
  const to = bucketClock(m, now) - m.delayMs;
  let points: number;
  try {
    points = await pointsIn(db, m, { from: to - RECENT_BUCKETS * m.granularityMs, to });
    // Nothing lately is normal for a sparse source; nothing over the whole baseline is not.
    if (points === 0 && m.lookbackMs > RECENT_BUCKETS * m.granularityMs) points = await pointsIn(db, m, { from: to - m.lookbackMs, to });
  } catch (err) {
    return [{ path: where, message: failure(err, m.name), severity: "error", at: "key" }];
  }
  const out: DatabaseFinding[] = [];
  if (m.source) {
    const s = m.source;
    const type = await columnType(db, s.table, s.time_column);
    const col = [...where, "time_column"];
    if (type === "timestamp without time zone" && !s.timezone) {
      out.push(warn(col, `column "${s.time_column}" is timestamp without time zone: ${NAIVE_MESSAGE}`));
    } else if (type === "date" && m.granularityMs < DAY_MS) {
      out.push(
        warn(
          col,
          `column "${s.time_column}" is a date but buckets are ${formatDuration(m.granularityMs)}: each day's rows fall in its first bucket`,
        ),
      );
    }
  }
  if (points === 0) out.push(warn(where, `no rows in the last ${formatDuration(m.lookbackMs)}`, "key"));
  return out;
}

async function pointsIn(db: Queryable, m: MetricConfig, window: { from: number; to: number }): Promise<number> {
  const res = await fetchBuckets(db, m, window);
  return res.series.reduce((n, s) => n + s.points.length, 0);
}

async function checkExperiment(db: Queryable, e: ExperimentConfig, at: PathSegment[], now: number): Promise<DatabaseFinding[]> {
  const start = e.start === undefined ? Number.NaN : Date.parse(e.start);
  const end = e.end === undefined ? Number.NaN : Date.parse(e.end);
  const w = {
    from: Math.max(now - EXPERIMENT_PROBE_MS, Number.isFinite(start) ? start : -Infinity),
    to: Math.min(now, Number.isFinite(end) ? end : now),
  };
  if (!(w.from < w.to)) w.from = w.to - EXPERIMENT_PROBE_MS; // a finished (or future) experiment: look before its end instead
  const out: DatabaseFinding[] = [];
  const a = e.assignments;
  const assignments = [...at, "assignments"];
  try {
    if (!(await probeAssignments(db, e, w)))
      out.push(warn(assignments, `no assignments in the ${formatDuration(w.to - w.from)} before ${new Date(w.to).toISOString()}`, "key"));
    out.push(...(await naiveColumn(db, a.table, a.time_column, a.timezone, [...assignments, "time_column"], "assignments.timezone")));
  } catch (err) {
    out.push({ path: assignments, message: failure(err, e.name), severity: "error", at: "key" });
  }
  for (const list of ["guardrails", "goals"] as const) {
    for (const [j, g] of e[list].entries()) out.push(...(await checkEvents(db, e, g, [...at, list, j], w)));
  }
  return out;
}

async function checkEvents(
  db: Queryable,
  e: ExperimentConfig,
  g: GuardrailConfig,
  at: PathSegment[],
  w: { from: number; to: number },
): Promise<DatabaseFinding[]> {
  const events = [...at, "events"];
  try {
    await probeEvents(db, g, w);
    return naiveColumn(db, g.events.table, g.events.time_column, g.events.timezone, [...events, "time_column"], "events.timezone");
  } catch (err) {
    return [{ path: events, message: failure(err, `${e.name}/${g.name}`), severity: "error", at: "key" }];
  }
}

async function naiveColumn(
  db: Queryable,
  table: string,
  column: string,
  zone: string | undefined,
  path: PathSegment[],
  key: string,
): Promise<DatabaseFinding[]> {
  if (zone) return [];
  const type = await columnType(db, table, column);
  if (type !== "timestamp without time zone") return [];
  return [warn(path, `column "${column}" is timestamp without time zone: naive timestamps are read as UTC; set ${key}`)];
}

/** The column's data type, or null when the table or column is not visible (the query itself then says why). */
async function columnType(db: Queryable, table: string, column: string): Promise<string | null> {
  try {
    return (await tableColumns(db, table))?.types.get(column) ?? null;
  } catch (err) {
    if (isConnectionError(err)) throw err;
    return null; // a catalog we cannot read costs a warning, not the check
  }
}

function warn(path: PathSegment[], message: string, at: "key" | "value" = "value"): DatabaseFinding {
  return { path, message, severity: "warning", at };
}

/** The database's own words; connection failures go up to be reported once, programming errors too. */
function failure(err: unknown, name: string): string {
  if (isConnectionError(err)) throw err;
  if (err instanceof SourceError) {
    const prefix = `metric "${name}": `;
    return err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
  }
  if (err instanceof DatabaseError) return err.message;
  throw err;
}
