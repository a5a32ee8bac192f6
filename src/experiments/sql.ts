/**
 * All SQL of the experiment checks. The database does the per-unit work (first assignment per
 * unit, events at or after it, per-unit aggregate, winsorization) and returns one row per variant
 * with counts and sums: nothing per-unit crosses the network, so the cost on vigil's side does not
 * grow with the experiment.
 *
 * Trust model (as for metric sources): table and column names are identifiers, always quoted;
 * `value`, `numerator`, `denominator` and `where` are operator-written SQL, trusted, pasted in
 * parentheses on lines of their own (so a trailing `-- comment` cannot swallow the rest); the time
 * bounds and the winsorization quantile are bound parameters.
 */
import type { ExperimentConfig, GuardrailConfig } from "../config/types.js";
import { type Queryable, quoteIdent } from "../db/database.js";
import { boundText, instantSql } from "../sources/time-sql.js";
import type { SqlQuery } from "../sources/types.js";
import type { ArmSums } from "./analysis.js";

/** Assignments considered: [from, to) in epoch ms; from null = since the beginning. */
export interface ExperimentWindow {
  from: number | null;
  to: number;
}

const trusted = (sql: string) => `(\n${sql}\n)`;

/**
 * One row per unit: its first assignment inside the window. A unit re-exposed later keeps its
 * first variant and time (as an instant), which is when its exposure to the treatment began.
 * Parameters: $1 from (or NULL), $2 to, untyped so that they are read as the column's type, and
 * `zone` the parameter holding the zone of a naive time column (time-sql.ts).
 */
function assignedCte(e: ExperimentConfig, zone: string): string {
  const a = e.assignments;
  const time = quoteIdent(a.time_column);
  // (the comparison comes first: it gives the untyped $1 the column's type, which IS NULL cannot)
  const where = [`${time} < $2`, `(${time} >= $1 OR $1 IS NULL)`];
  if (a.where?.trim()) where.push(trusted(a.where));
  return `assigned AS (
  SELECT DISTINCT ON (x.unit) x.unit, x.variant, x.at
  FROM (
    SELECT ${quoteIdent(a.unit_column)} AS unit, (${quoteIdent(a.variant_column)})::text AS variant, ${instantSql(time, zone)} AS at
    FROM ${quoteIdent(a.table)}
    WHERE ${where.join("\n      AND ")}
  ) x
  ORDER BY x.unit, x.at
)`;
}

/** The window's bounds as text for a time column in `zone` (naive columns; time-sql.ts). */
function params(w: ExperimentWindow, zone: string | undefined): unknown[] {
  return [w.from === null ? null : boundText(w.from, zone), boundText(w.to, zone)];
}

/** Units per variant (for the sample ratio check). Columns: variant, units. */
export function buildAssignmentCountsQuery(e: ExperimentConfig, w: ExperimentWindow): SqlQuery {
  return {
    text: `WITH ${assignedCte(e, "$3")}
SELECT variant, count(*)::double precision AS units FROM assigned GROUP BY variant`,
    values: [...params(w, e.assignments.timezone), e.assignments.timezone ?? "UTC"],
  };
}

/** The per-event value columns of a guardrail: `v`, or `num` and `den` for a ratio. */
function eventColumns(g: GuardrailConfig): string {
  return g.aggregate === "ratio"
    ? `${trusted(g.numerator ?? g.events.value)}::double precision AS num,\n    ${trusted(g.denominator ?? "1")}::double precision AS den`
    : `${trusted(g.events.value)}::double precision AS v`;
}

/** The per-unit SQL aggregate over the joined events `ev` (v, or num/den for ratio). */
function perUnitAggregate(g: GuardrailConfig): string {
  switch (g.aggregate) {
    case "sum":
      return "coalesce(sum(ev.v), 0) AS v"; // no events = 0
    case "count":
      return "count(ev.v)::double precision AS v"; // counts matched events (unmatched rows have v NULL)
    case "mean":
      return "avg(ev.v) AS v"; // no events = no mean: the unit is left out of this metric
    case "any":
      return "CASE WHEN bool_or(ev.v <> 0) THEN 1 ELSE 0 END::double precision AS v";
    case "ratio":
      return "coalesce(sum(ev.num), 0) AS num, coalesce(sum(ev.den), 0) AS den";
  }
}

/**
 * Per variant: units and the sums of the per-unit values (for ratio: of numerator and denominator,
 * their squares and cross products), counting only each unit's events at or after its assignment
 * and before the window's end. Parameters: $1 from, $2 to (assignments), $3 from, $4 to (events), the
 * zones of their naive time columns ($5, $6), the winsorize quantile (if any, $7).
 *
 * Columns: variant, n, and s, ss (moments) or sm, ssm, sd, ssd, smd (ratio).
 */
export function buildGuardrailQuery(e: ExperimentConfig, g: GuardrailConfig, w: ExperimentWindow): SqlQuery {
  const ev = g.events;
  const time = quoteIdent(ev.time_column);
  const ratio = g.aggregate === "ratio";
  const cols = eventColumns(g);
  const values = params(w, e.assignments.timezone);
  // the events' own bounds and zones: their time column may be of another type than the assignments'
  values.push(...params(w, ev.timezone), e.assignments.timezone ?? "UTC", ev.timezone ?? "UTC");
  const n = values.length;
  // Events before the window cannot belong to a unit assigned inside it: the bound lets an index on the time column help.
  const where = [`${time} < $${n - 2}`, `(${time} >= $${n - 3} OR $${n - 3} IS NULL)`];
  if (ev.where?.trim()) where.push(trusted(ev.where));
  // Capping a 0/1 value at a quantile can only destroy it (at 0.999 with <0.1% ones, every 1 becomes 0).
  const winsorize = g.winsorize !== null && g.winsorize < 1 && g.aggregate !== "any";
  let capped = "per_unit";
  let capCte = "";
  if (winsorize) {
    values.push(g.winsorize);
    const q = `$${values.length}::double precision`;
    const nonzero = g.winsorize_over === "nonzero";
    const cols = ratio ? ["num", "den"] : ["v"];
    capped = "capped";
    capCte = `,
capped AS (
  SELECT p.variant, ${cols.map((c) => `${capValue(`p.${c}`, `c.${c}`, nonzero)} AS ${c}`).join(", ")}
  FROM per_unit p CROSS JOIN (SELECT ${cols.map((c) => `${capQuantile(c, q, nonzero)} AS ${c}`).join(", ")} FROM per_unit) c
)`;
  }
  const select = ratio
    ? `count(*)::double precision AS n, sum(num) AS sm, sum(num * num) AS ssm, sum(den) AS sd, sum(den * den) AS ssd, sum(num * den) AS smd`
    : `count(v)::double precision AS n, coalesce(sum(v), 0) AS s, coalesce(sum(v * v), 0) AS ss`;
  const text = `WITH ${assignedCte(e, `$${n - 1}`)},
ev AS (
  SELECT ${quoteIdent(ev.unit_column)} AS unit, ${instantSql(time, `$${n}`)} AS t,
    ${cols}
  FROM ${quoteIdent(ev.table)}
  WHERE ${where.join("\n    AND ")}
),
per_unit AS (
  SELECT a.variant, ${perUnitAggregate(g)}
  FROM assigned a LEFT JOIN ev ON ev.unit = a.unit AND ev.t >= a.at
  GROUP BY a.unit, a.variant
)${capCte}
SELECT variant, ${select}
FROM ${capped}
GROUP BY variant`;
  return { text, values };
}

/**
 * The cap: the quantile over the units that have a value (percentile_cont skips NULL, as a mean
 * over no events is), and with `nonzero` over the non-zero ones only (Statsig's rule).
 */
function capQuantile(column: string, q: string, nonzero: boolean): string {
  return `percentile_cont(${q}) WITHIN GROUP (ORDER BY ${column})${nonzero ? ` FILTER (WHERE ${column} <> 0)` : ""}`;
}

/**
 * A value capped from above; not LEAST(value, cap), which is the cap when the value is NULL and
 * so would give every unit without events a value. With `nonzero` a zero stays zero, even under a
 * negative cap.
 */
function capValue(value: string, cap: string, nonzero: boolean): string {
  return `CASE WHEN ${value} > ${cap}${nonzero ? ` AND ${value} <> 0` : ""} THEN ${cap} ELSE ${value} END`;
}

function num(v: unknown): number {
  const n = typeof v === "number" ? v : Number(v ?? 0);
  return Number.isFinite(n) ? n : 0;
}

/** Units per variant, as the database counts them. */
export async function fetchAssignmentCounts(db: Queryable, e: ExperimentConfig, w: ExperimentWindow): Promise<Map<string, number>> {
  const q = buildAssignmentCountsQuery(e, w);
  const { rows } = await db.query(q.text, q.values);
  return new Map(rows.map((r) => [String(r.variant), num(r.units)]));
}

/** Per-variant sums of one guardrail (or goal). */
export async function fetchGuardrailSums(
  db: Queryable,
  e: ExperimentConfig,
  g: GuardrailConfig,
  w: ExperimentWindow,
): Promise<Map<string, ArmSums>> {
  const q = buildGuardrailQuery(e, g, w);
  const { rows } = await db.query(q.text, q.values);
  const out = new Map<string, ArmSums>();
  for (const r of rows) {
    const variant = String(r.variant);
    out.set(
      variant,
      g.aggregate === "ratio"
        ? { kind: "ratio", n: num(r.n), sumM: num(r.sm), sumSqM: num(r.ssm), sumD: num(r.sd), sumSqD: num(r.ssd), sumMD: num(r.smd) }
        : { kind: "moments", n: num(r.n), sum: num(r.s), sumSq: num(r.ss) },
    );
  }
  return out;
}

/**
 * One row (at most) of the assignments as the checks read them (same columns, casts and filter)
 * within [from, to): `vigil validate --db` runs it to find a wrong table, column or `where` cheaply.
 */
export function buildAssignmentsProbe(e: ExperimentConfig, w: { from: number; to: number }): SqlQuery {
  const a = e.assignments;
  const time = quoteIdent(a.time_column);
  const where = [`${time} >= $1`, `${time} < $2`];
  if (a.where?.trim()) where.push(trusted(a.where));
  return {
    text: `SELECT ${quoteIdent(a.unit_column)} AS unit, (${quoteIdent(a.variant_column)})::text AS variant, ${instantSql(time, "$3")} AS at
FROM ${quoteIdent(a.table)}
WHERE ${where.join("\n  AND ")}
LIMIT 1`,
    values: [boundText(w.from, a.timezone), boundText(w.to, a.timezone), a.timezone ?? "UTC"],
  };
}

/** One row (at most) of a guardrail's (or goal's) events as the checks read them, within [from, to). */
export function buildEventsProbe(g: GuardrailConfig, w: { from: number; to: number }): SqlQuery {
  const ev = g.events;
  const time = quoteIdent(ev.time_column);
  const where = [`${time} >= $1`, `${time} < $2`];
  if (ev.where?.trim()) where.push(trusted(ev.where));
  return {
    text: `SELECT ${quoteIdent(ev.unit_column)} AS unit, ${instantSql(time, "$3")} AS t,
    ${eventColumns(g)}
FROM ${quoteIdent(ev.table)}
WHERE ${where.join("\n  AND ")}
LIMIT 1`,
    values: [boundText(w.from, ev.timezone), boundText(w.to, ev.timezone), ev.timezone ?? "UTC"],
  };
}

/** Whether the experiment's assignments have a row in [from, to); throws the database's error when its SQL is wrong. */
export async function probeAssignments(db: Queryable, e: ExperimentConfig, w: { from: number; to: number }): Promise<boolean> {
  const q = buildAssignmentsProbe(e, w);
  return (await db.query(q.text, q.values)).rows.length > 0;
}

/** Whether the guardrail's events have a row in [from, to); throws the database's error when its SQL is wrong. */
export async function probeEvents(db: Queryable, g: GuardrailConfig, w: { from: number; to: number }): Promise<boolean> {
  const q = buildEventsProbe(g, w);
  return (await db.query(q.text, q.values)).rows.length > 0;
}
