/**
 * End to end against the database (PGlite, or PostgreSQL with VIGIL_TEST_DATABASE_URL): data made
 * with generate_series, evaluated by evaluateExperiments, alerts and deliveries read back from the
 * state store.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../src/clock.js";
import type { ExperimentConfig, GuardrailConfig } from "../src/config/types.js";
import { evaluateExperiments } from "../src/experiments/evaluate.js";
import { guardrailFingerprint, srmFingerprint } from "../src/experiments/evaluation.js";
import { experimentsTable } from "../src/experiments/report-table.js";
import { silentLogger } from "../src/log.js";
import { notificationText } from "../src/model/format.js";
import type { AlertNotification } from "../src/model/notification.js";
import { migrate } from "../src/store/migrations.js";
import { StateStore } from "../src/store/state-store.js";
import { HOUR, vigilConfig } from "./helpers/config.js";
import { openTestDatabase, type TestDatabase } from "./helpers/db.js";

const T0 = Date.parse("2026-03-02T00:00:00Z");

const skipRate: GuardrailConfig = {
  name: "skip_rate",
  events: { table: "plays", unit_column: "user_id", time_column: "played_at", value: "skipped" },
  aggregate: "mean",
  bad_direction: "increase",
  margin: 0.02,
  winsorize: 0.999,
};

function experiment(name: string, overrides: Partial<ExperimentConfig> = {}): ExperimentConfig {
  return {
    name,
    variants: { control: 0.5, treatment: 0.5 },
    control: "control",
    assignments: {
      table: "exp_assignments",
      unit_column: "user_id",
      variant_column: "variant",
      time_column: "assigned_at",
      where: `experiment = '${name}'`,
    },
    guardrails: [skipRate],
    goals: [],
    alpha: 0.05,
    srm_alpha: 0.001,
    min_units: 1000,
    schedule: "0 * * * *",
    notify: ["out"],
    ...overrides,
  };
}

/** `control` then `treatment` units with ids from `firstId`, assigned over the first hour. */
async function assign(t: TestDatabase, name: string, firstId: number, control: number, treatment: number): Promise<void> {
  await t.db.query(
    `INSERT INTO exp_assignments
     SELECT g, $2, CASE WHEN g < $1 + $3 THEN 'control' ELSE 'treatment' END, $5::timestamptz + ((g % 3600) * interval '1 second')
     FROM generate_series($1::bigint, $1::bigint + $3 + $4 - 1) g`,
    [firstId, name, control, treatment, new Date(T0)],
  );
}

/** Five plays per unit after its assignment; skipped with probability `pControl` / `pTreatment` (hash-based, reproducible). */
async function plays(t: TestDatabase, name: string, pControl: number, pTreatment: number): Promise<void> {
  await t.db.query(
    `INSERT INTO plays
     SELECT a.user_id, a.assigned_at + k * interval '1 minute',
            CASE WHEN (hashtext(a.user_id::text || ':' || k) & 2147483647) % 100000
                      < (CASE WHEN a.variant = 'treatment' THEN $3::float8 ELSE $2::float8 END) * 100000 THEN 1 ELSE 0 END
     FROM exp_assignments a CROSS JOIN generate_series(1, 5) k
     WHERE a.experiment = $1`,
    [name, pControl, pTreatment],
  );
  // Plays before the assignment must not count: make them all skips, which would hide or fake harm.
  await t.db.query(
    `INSERT INTO plays SELECT a.user_id, a.assigned_at - interval '1 hour', 1 FROM exp_assignments a WHERE a.experiment = $1 AND a.variant = 'control'`,
    [name],
  );
}

describe("experiments end to end", () => {
  let t: TestDatabase;
  let store: StateStore;
  const clock = new ManualClock(T0 + 24 * HOUR);
  const log = silentLogger();
  const experiments = [
    experiment("srm_exp", { guardrails: [] }),
    experiment("harm_exp"),
    experiment("healthy_exp"),
    experiment("small_exp"),
    experiment("ended_exp", { end: new Date(T0 + 30 * HOUR).toISOString() }),
  ];
  const config = vigilConfig([], { experiments });

  beforeAll(async () => {
    t = await openTestDatabase();
    await t.db.exec(`
      CREATE TABLE exp_assignments (user_id bigint, experiment text, variant text, assigned_at timestamptz);
      CREATE TABLE plays (user_id bigint, played_at timestamptz, skipped int);
    `);
    await assign(t, "srm_exp", 1, 10_000, 9_400);
    await assign(t, "harm_exp", 100_001, 10_000, 10_000);
    await plays(t, "harm_exp", 0.3, 0.33); // +10% skips
    await assign(t, "healthy_exp", 200_001, 10_000, 10_000);
    await plays(t, "healthy_exp", 0.3, 0.3);
    await assign(t, "small_exp", 300_001, 400, 300); // a real mismatch, but too few units to judge
    await assign(t, "ended_exp", 400_001, 10_000, 9_000);
    await migrate(t.db);
    store = new StateStore(t.db);
  });

  afterAll(async () => {
    await t?.close();
  });

  it("raises an SRM alert, a guardrail alert, and nothing for the healthy or too-small experiments", async () => {
    const reports = await evaluateExperiments({ db: t.db, store, clock, log, config });
    const by = new Map(reports.map((r) => [r.experiment, r]));

    const srm = by.get("srm_exp")!;
    expect(srm.state).toBe("running");
    expect(srm.units).toEqual({ control: 10_000, treatment: 9_400 });
    expect(srm.srm?.mismatch).toBe(true);
    expect(srm.srm!.p).toBeLessThan(0.001);

    const harm = by.get("harm_exp")!;
    expect(harm.srm?.mismatch).toBe(false);
    expect(harm.guardrails).toHaveLength(1);
    const g = harm.guardrails[0]!;
    expect(g.status).toBe("harmed");
    expect(g.estimate!).toBeGreaterThan(0.05);
    expect(g.estimate!).toBeLessThan(0.15);
    expect(g.interval!.lower).toBeGreaterThan(0);
    expect(g.p!).toBeLessThan(0.05);
    expect(g.control?.units).toBe(10_000);

    const healthy = by.get("healthy_exp")!;
    expect(healthy.srm?.mismatch).toBe(false);
    expect(healthy.guardrails[0]!.status).not.toBe("harmed");
    expect(healthy.events).toEqual([]);

    expect(by.get("small_exp")!.state).toBe("collecting");
    expect(by.get("small_exp")!.srm?.judged).toBe(false);
    expect(by.get("small_exp")!.guardrails[0]!.status).toBe("collecting");

    const open = await store.openAlerts();
    expect(open.map((a) => `${a.kind} ${a.metric} ${a.state}`).sort()).toEqual([
      "guardrail harm_exp firing",
      "srm ended_exp firing",
      "srm srm_exp firing",
    ]);
    const srmAlert = open.find((a) => a.fingerprint === srmFingerprint("srm_exp"))!;
    expect(srmAlert.details.action).toBe("check assignment and logging before reading any result");
    expect(open.find((a) => a.fingerprint === guardrailFingerprint("harm_exp", "skip_rate", "treatment"))).toBeDefined();

    // Both went to the outbox, with everything a notifier needs to render them.
    const deliveries = await store.deliveries();
    const payloads = deliveries.map((d) => d.payload).filter((p): p is AlertNotification => p.type === "alert");
    const srmText = notificationText(payloads.find((p) => p.alert.metric === "srm_exp")!);
    expect(srmText).toContain("sample ratio mismatch");
    expect(srmText).toContain("10,000");
    expect(srmText).toContain("9,400");
    expect(srmText).toContain("check assignment and logging before reading any result");
    const gText = notificationText(payloads.find((p) => p.alert.metric === "harm_exp")!);
    expect(gText).toContain("skip_rate");
    expect(gText).toContain("treatment");
    expect(gText).toMatch(/\+\d+\.\d%/);
  });

  it("a second evaluation updates the open alerts instead of opening new ones", async () => {
    const before = (await store.deliveries()).length;
    clock.advance(HOUR);
    const reports = await evaluateExperiments({ db: t.db, store, clock, log, config });
    expect(reports.flatMap((r) => r.events)).toEqual([]);
    expect((await store.deliveries()).length).toBe(before);
    expect((await store.openAlerts()).length).toBe(3);
  });

  it("resolves the SRM alert once the split is back, and an ended experiment's alerts", async () => {
    await t.db.query(`INSERT INTO exp_assignments SELECT g, 'srm_exp', 'treatment', $1::timestamptz FROM generate_series(50001, 50600) g`, [
      new Date(T0 + 2 * HOUR),
    ]);
    clock.set(T0 + 31 * HOUR); // past ended_exp's end
    const reports = await evaluateExperiments({ db: t.db, store, clock, log, config });
    const by = new Map(reports.map((r) => [r.experiment, r]));
    expect(by.get("srm_exp")!.srm?.mismatch).toBe(false);
    expect(by.get("srm_exp")!.events.map((e) => e.event.to)).toEqual(["resolved"]);
    expect(by.get("ended_exp")!.state).toBe("ended");
    expect(by.get("ended_exp")!.events.map((e) => e.event.to)).toEqual(["resolved"]);
    expect((await store.openAlerts()).map((a) => a.metric)).toEqual(["harm_exp"]);
  });

  it("dry runs read and judge but store nothing", async () => {
    const before = await store.listAlerts();
    const reports = await evaluateExperiments({ db: t.db, store, clock, log, config, names: ["harm_exp"], dryRun: true });
    expect(reports.map((r) => r.experiment)).toEqual(["harm_exp"]);
    expect(reports[0]!.guardrails[0]!.status).toBe("harmed");
    expect(await store.listAlerts()).toEqual(before);
  });

  it("an arm that receives nobody trips the SRM check (guardrails keep waiting for min_units)", async () => {
    await assign(t, "zero_arm", 500_001, 2_000, 0);
    const cfg = vigilConfig([], { experiments: [experiment("zero_arm")] });
    const [r] = await evaluateExperiments({ db: t.db, store, clock, log, config: cfg });
    expect(r!.units).toEqual({ control: 2_000, treatment: 0 });
    expect(r!.srm).toMatchObject({ judged: true, mismatch: true, worstVariant: "control" });
    expect(r!.state).toBe("collecting");
    expect(r!.guardrails[0]!.status).toBe("collecting");
    expect(r!.events.map((e) => `${e.alert.kind} ${e.event.to}`)).toEqual(["srm firing"]);
  });

  it("the resolved message says so, without the what-to-do line", async () => {
    const resolved = (await store.deliveries())
      .map((d) => d.payload)
      .find((p): p is AlertNotification => p.type === "alert" && p.event === "resolved" && p.alert.metric === "srm_exp");
    const text = notificationText(resolved!);
    expect(text).toMatch(/^✅ RESOLVED #\d+ · critical · experiment srm_exp: sample ratio mismatch/);
    expect(text).toContain("control: 10,000 units");
    expect(text).not.toContain("what to do");
  });

  it("a broken query is reported and raises a meta-alert, the other experiments go on", async () => {
    const broken = vigilConfig([], {
      experiments: [
        experiment("broken_exp", { assignments: { table: "no_such_table", unit_column: "u", variant_column: "v", time_column: "t" } }),
        experiment("healthy_exp"),
      ],
    });
    const reports = await evaluateExperiments({ db: t.db, store, clock, log, config: broken });
    expect(reports[0]!.state).toBe("error");
    expect(reports[0]!.error).toMatch(/no_such_table/);
    expect(reports[1]!.state).toBe("running");
    const meta = (await store.openAlerts()).find((a) => a.metric === "broken_exp");
    expect(meta?.kind).toBe("meta");
  });
  it("a control mean of 0 is judged on the difference, and the report and the alert say why", async () => {
    await t.db.exec("CREATE TABLE errors (user_id bigint, at timestamptz)");
    await assign(t, "zero_ctl", 600_001, 2_000, 2_000);
    // No error in control; one in every 25th treatment unit (80 of 2,000).
    await t.db.query(
      `INSERT INTO errors SELECT user_id, assigned_at + interval '1 minute' FROM exp_assignments
       WHERE experiment = 'zero_ctl' AND variant = 'treatment' AND user_id % 25 = 0`,
    );
    const errors: GuardrailConfig = {
      ...skipRate,
      name: "errors",
      events: { table: "errors", unit_column: "user_id", time_column: "at", value: "1" },
      aggregate: "count",
      winsorize: null,
    };
    const cfg = vigilConfig([], { experiments: [experiment("zero_ctl", { guardrails: [errors] })] });
    const [r] = await evaluateExperiments({ db: t.db, store, clock, log, config: cfg });
    const g = r!.guardrails[0]!;
    expect(g.status).toBe("harmed");
    expect(g.estimate).toBeNull();
    // numpy: B mean 0.04, se = sqrt(var(B)/2000) with var(B) = (80 - 80**2/2000)/1999 and var(A) = 0;
    // half-width of the confidence sequence at level 2*0.05/1.05, N 4000, Nstar 5000 (STATS.md).
    expect(g.difference!.estimate).toBeCloseTo(0.04, 12);
    expect(g.difference!.interval.lower).toBeCloseTo(0.02777121601, 9);
    expect(g.difference!.interval.upper).toBeCloseTo(0.05222878399, 9);
    expect(g.control).toEqual({ variant: "control", units: 2000, mean: 0 });

    const table = experimentsTable([r!]);
    expect(table).toMatch(/zero_ctl .* errors\s+treatment\s+harmed\s+\+0\.04 \(abs\)\s+\+0\.02777 \.\. \+0\.05223 \(abs\)/);
    expect(table).toContain(
      "(abs) zero_ctl errors/treatment: the relative change is undefined because the control mean is 0; judged on the absolute difference (treatment − control)",
    );

    expect(r!.events.map((e) => `${e.alert.kind} ${e.event.to}`)).toEqual(["guardrail firing"]);
    const payload = (await store.deliveries())
      .map((d) => d.payload)
      .find((p): p is AlertNotification => p.type === "alert" && p.alert.metric === "zero_ctl");
    const text = notificationText(payload!);
    expect(text).toContain("guardrail errors harmed in treatment");
    expect(text).toContain("control: 2,000 units, mean 0 · treatment: 2,000 units, mean 0.04");
    expect(text).toContain("difference +0.04 (interval +0.02777 to +0.05223, always valid, one-sided 95%); increase is bad");
    expect(text).toContain("the relative change is undefined because the control mean is 0");
    expect(text).not.toContain("relative change +");
  });
});
