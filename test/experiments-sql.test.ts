/** The experiment SQL on real tables (PGlite, or PostgreSQL with VIGIL_TEST_DATABASE_URL). */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExperimentConfig, GuardrailConfig } from "../src/config/types.js";
import type { ArmSums } from "../src/experiments/analysis.js";
import { buildGuardrailQuery, fetchAssignmentCounts, fetchGuardrailSums } from "../src/experiments/sql.js";
import { openTestDatabase, type TestDatabase } from "./helpers/db.js";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const H = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

const experiment: ExperimentConfig = {
  name: "new_recs",
  variants: { control: 0.5, treatment: 0.5 },
  control: "control",
  assignments: {
    table: "exp.assignments",
    unit_column: "user_id",
    variant_column: "Variant",
    time_column: "assignedAt",
    where: "experiment = 'new_recs' -- a trailing comment must not swallow the rest",
  },
  guardrails: [],
  goals: [],
  alpha: 0.05,
  srm_alpha: 0.001,
  min_units: 1,
  schedule: "0 * * * *",
  notify: [],
};

function guardrail(aggregate: GuardrailConfig["aggregate"], extra: Partial<GuardrailConfig> = {}): GuardrailConfig {
  return {
    name: `g_${aggregate}`,
    events: { table: "plays", unit_column: "uid", time_column: "played_at", value: "amount", where: "kind = 'x'" },
    aggregate,
    bad_direction: "increase",
    margin: 0,
    winsorize: null,
    ...extra,
  };
}

let t: TestDatabase;
const window = { from: null, to: T0 + 10 * H };

beforeAll(async () => {
  t = await openTestDatabase();
  await t.db.exec(`
    CREATE SCHEMA exp;
    CREATE TABLE exp.assignments (user_id int, "Variant" text, "assignedAt" timestamptz, experiment text);
    CREATE TABLE plays (uid int, played_at timestamp, amount numeric, kind text);
  `);
  const a: Array<[number, string, number, string]> = [
    [1, "control", T0, "new_recs"],
    [2, "control", T0 + H, "new_recs"],
    [3, "control", T0 + 2 * H, "new_recs"],
    [4, "treatment", T0, "new_recs"],
    [5, "treatment", T0 + H, "new_recs"],
    [6, "treatment", T0 + 2 * H, "new_recs"],
    [1, "treatment", T0 + 3 * H, "new_recs"], // re-exposure: the first assignment wins
    [7, "treatment", T0, "other"], // another experiment
    [8, "treatment", T0 + 20 * H, "new_recs"], // after the window
  ];
  for (const [u, v, at, x] of a) await t.db.query(`INSERT INTO exp.assignments VALUES ($1, $2, $3, $4)`, [u, v, new Date(at), x]);
  const e: Array<[number, number, number, string]> = [
    [1, T0 + H, 2, "x"],
    [1, T0 - H, 5, "x"], // before the unit's assignment
    [1, T0 + H, 50, "y"], // filtered by where
    [3, T0 + 3 * H, 3, "x"],
    [3, T0 + 4 * H, 4, "x"],
    [4, T0 + 1, 1, "x"],
    [5, T0 + 2 * H, 10, "x"],
    [5, T0 + 11 * H, 100, "x"], // after the window's end
    [7, T0 + H, 1000, "x"], // a unit of another experiment
  ];
  // played_at is a timestamp without time zone: written and compared as UTC.
  for (const [u, at, v, k] of e)
    await t.db.query(`INSERT INTO plays VALUES ($1, $2::timestamptz AT TIME ZONE 'UTC', $3, $4)`, [u, iso(at), v, k]);
});

afterAll(async () => {
  await t?.close();
});

function moments(m: Map<string, ArmSums>, variant: string): { n: number; sum: number; sumSq: number } {
  const s = m.get(variant);
  if (s?.kind !== "moments") throw new Error(`no moments for ${variant}`);
  return { n: s.n, sum: s.sum, sumSq: s.sumSq };
}

describe("experiment SQL", () => {
  it("counts units per variant: first assignment, filter, window", async () => {
    const c = await fetchAssignmentCounts(t.db, experiment, window);
    expect(Object.fromEntries(c)).toEqual({ control: 3, treatment: 3 });
  });

  it("start bound: only assignments inside the window", async () => {
    const c = await fetchAssignmentCounts(t.db, experiment, { from: T0 + 1.5 * H, to: T0 + 10 * H });
    // u3, u6, and u1's re-exposure (its first assignment inside the window).
    expect(Object.fromEntries(c)).toEqual({ control: 1, treatment: 2 });
  });

  it("sum: only events at or after assignment and before the end; no events = 0", async () => {
    const m = await fetchGuardrailSums(t.db, experiment, guardrail("sum"), window);
    expect(moments(m, "control")).toEqual({ n: 3, sum: 9, sumSq: 53 });
    expect(moments(m, "treatment")).toEqual({ n: 3, sum: 11, sumSq: 101 });
  });

  it("count", async () => {
    const m = await fetchGuardrailSums(t.db, experiment, guardrail("count"), window);
    expect(moments(m, "control")).toEqual({ n: 3, sum: 3, sumSq: 5 });
    expect(moments(m, "treatment")).toEqual({ n: 3, sum: 2, sumSq: 2 });
  });

  it("mean: units without events have no mean and are left out", async () => {
    const m = await fetchGuardrailSums(t.db, experiment, guardrail("mean"), window);
    expect(moments(m, "control")).toEqual({ n: 2, sum: 5.5, sumSq: 16.25 });
    expect(moments(m, "treatment")).toEqual({ n: 2, sum: 11, sumSq: 101 });
  });

  it("any: 0/1 per unit", async () => {
    const m = await fetchGuardrailSums(t.db, experiment, guardrail("any", { winsorize: 0.5 }), window);
    expect(moments(m, "control")).toEqual({ n: 3, sum: 2, sumSq: 2 });
    expect(moments(m, "treatment")).toEqual({ n: 3, sum: 2, sumSq: 2 });
  });

  it("ratio: sums, squares and cross products of numerator and denominator", async () => {
    const g = guardrail("ratio", { numerator: "amount", denominator: "1" });
    const m = await fetchGuardrailSums(t.db, experiment, g, window);
    expect(m.get("control")).toEqual({ kind: "ratio", n: 3, sumM: 9, sumSqM: 53, sumD: 3, sumSqD: 5, sumMD: 16 });
    expect(m.get("treatment")).toEqual({ kind: "ratio", n: 3, sumM: 11, sumSqM: 101, sumD: 2, sumSqD: 2, sumMD: 11 });
  });

  it("winsorize caps per-unit values at the pooled quantile (percentile_cont) before summing", async () => {
    // Pooled per-unit sums [0, 0, 1, 2, 7, 10]: the median is 1.5.
    const m = await fetchGuardrailSums(t.db, experiment, guardrail("sum", { winsorize: 0.5 }), window);
    expect(moments(m, "control")).toEqual({ n: 3, sum: 3, sumSq: 4.5 });
    expect(moments(m, "treatment")).toEqual({ n: 3, sum: 2.5, sumSq: 3.25 });
  });

  it("winsorized mean: units without events keep no value (LEAST(NULL, cap) would be the cap)", async () => {
    // Per-unit means of the units with events [2, 3.5] and [1, 10]: percentile_cont(0.5) of [1, 2, 3.5, 10] = 2.75.
    const m = await fetchGuardrailSums(t.db, experiment, guardrail("mean", { winsorize: 0.5 }), window);
    expect(moments(m, "control")).toEqual({ n: 2, sum: 4.75, sumSq: 11.5625 });
    expect(moments(m, "treatment")).toEqual({ n: 2, sum: 3.75, sumSq: 8.5625 });
  });

  it("winsorize over non-zero values: the quantile skips zeros, and zeros stay zero", async () => {
    // Per-unit sums [2, 0, 7] and [1, 10, 0]: percentile_cont(0.5) of the non-zero [1, 2, 7, 10] = 4.5.
    const m = await fetchGuardrailSums(t.db, experiment, guardrail("sum", { winsorize: 0.5, winsorize_over: "nonzero" }), window);
    expect(moments(m, "control")).toEqual({ n: 3, sum: 6.5, sumSq: 24.25 });
    expect(moments(m, "treatment")).toEqual({ n: 3, sum: 5.5, sumSq: 21.25 });
  });

  it("quotes identifiers, wraps operator SQL in parentheses, binds the bounds", () => {
    const q = buildGuardrailQuery(experiment, guardrail("sum", { winsorize: 0.99 }), window);
    expect(q.text).toContain(`FROM "exp"."assignments"`);
    expect(q.text).toContain(`"assignedAt"`);
    expect(q.text).toContain("(\nexperiment = 'new_recs' -- a trailing comment must not swallow the rest\n)");
    const to = new Date(T0 + 10 * H).toISOString().replace("Z", "+00:00");
    // assignments' bounds, the events' bounds, the two naive-column zones, the quantile
    expect(q.values).toEqual([null, to, null, to, "UTC", "UTC", 0.99]);
  });
});

/**
 * 2,000 units, 70% without events, values with outliers and negatives; expected sums computed in
 * numpy from the same rules (np.quantile is percentile_cont):
 *   variant(u) = control if u % 2 == 0 else treatment; a unit has events only if u % 10 < 3:
 *   [((u*37 + k*11) % 100) - 50 + (5000 if u % 97 == 0 else 0) for k in range(1, 2 + u % 4)]
 *   mean: cap = np.quantile(per-unit means of the units with events, q), each min(x, cap)
 *   sum:  per-unit sums (0 without events); all: np.quantile(all sums, q), min(x, cap);
 *         nonzero: cap = np.quantile(non-zero sums, q), x if x == 0 or x <= cap else cap
 */
describe("winsorization on a population with many inactive units", () => {
  const e: ExperimentConfig = {
    ...experiment,
    name: "wz",
    assignments: { table: "wz_assign", unit_column: "uid", variant_column: "variant", time_column: "at" },
  };
  const g = (aggregate: "mean" | "sum", extra: Partial<GuardrailConfig>): GuardrailConfig => ({
    name: "wz",
    events: { table: "wz_events", unit_column: "uid", time_column: "at", value: "v" },
    aggregate,
    bad_direction: "increase",
    margin: 0,
    winsorize: null,
    ...extra,
  });
  /** Equal to the numpy reference up to summation order. */
  const near = (actual: { n: number; sum: number; sumSq: number }, [n, sum, sumSq]: readonly [number, number, number]) => {
    expect(actual.n).toBe(n);
    expect(Math.abs(actual.sum - sum)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(sum)));
    expect(Math.abs(actual.sumSq - sumSq)).toBeLessThanOrEqual(1e-9 * Math.max(1, sumSq));
  };

  beforeAll(async () => {
    await t.db.query(
      `CREATE TABLE wz_assign AS SELECT u AS uid, CASE WHEN u % 2 = 0 THEN 'control' ELSE 'treatment' END AS variant, $1::timestamptz AS at
       FROM generate_series(1, 2000) u`,
      [new Date(T0)],
    );
    await t.db.query(
      `CREATE TABLE wz_events AS
       SELECT u AS uid, $1::timestamptz + k * interval '1 minute' AS at,
              (((u * 37 + k * 11) % 100) - 50 + CASE WHEN u % 97 = 0 THEN 5000 ELSE 0 END)::double precision AS v
       FROM generate_series(1, 2000) u CROSS JOIN LATERAL generate_series(1, 1 + u % 4) k
       WHERE u % 10 < 3`,
      [new Date(T0)],
    );
  });

  it("mean: same units as without winsorize, capped at the quantile of the units with a value", async () => {
    const plain = await fetchGuardrailSums(t.db, e, g("mean", {}), window);
    near(moments(plain, "control"), [400, 20066.666666666668, 100193711.1111111]);
    near(moments(plain, "treatment"), [200, 10300, 50281250]);
    // cap 43.5; LEAST(NULL, cap) gave the 600 and 800 units without events the cap (n 1,000 per arm)
    const capped = await fetchGuardrailSums(t.db, e, g("mean", { winsorize: 0.95 }), window);
    near(moments(capped, "control"), [400, 216.66666666666654, 255239.11111111112]);
    near(moments(capped, "treatment"), [200, 369, 104452]);
  });

  it.each([
    // q, over, control n/sum/sumSq, treatment n/sum/sumSq (caps: 0.9 all 25, nonzero 78; 0.1 all -22, nonzero -62)
    [0.9, "all", [1000, -3694, 720610], [1000, -2593, 295301]],
    [0.9, "nonzero", [1000, -618, 991710], [1000, 51, 554675]],
    [0.1, "nonzero", [1000, -26588, 1842688], [1000, -12620, 798500]],
  ] as const)("sum, winsorize %s over %s", async (q, over, c, tr) => {
    const m = await fetchGuardrailSums(
      t.db,
      e,
      g("sum", { winsorize: q, ...(over === "nonzero" ? { winsorize_over: over } : {}) }),
      window,
    );
    near(moments(m, "control"), c);
    near(moments(m, "treatment"), tr);
  });
});
