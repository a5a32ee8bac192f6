/** `vigil experiments [--json]` in a subprocess, on PGlite or PostgreSQL. */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.js";
import { openSubprocessDatabase, subprocessEnv, type TestDatabase } from "./helpers/db.js";

const CONFIG = `
channels: {out: {type: console}}
defaults: {notify: [out]}
experiments:
  - name: cli_exp
    variants: {control: 0.5, treatment: 0.5}
    control: control
    assignments: {table: exp_assignments, unit_column: user_id, variant_column: variant, time_column: assigned_at}
    guardrails:
      - name: skip_rate
        events: {table: plays, unit_column: user_id, time_column: played_at, value: "skipped"}
        aggregate: mean
        bad_direction: increase
        margin: 2%
    min_units: 500
`;

describe("vigil experiments (subprocess)", () => {
  let t: TestDatabase;
  let dir: string;
  let cfg: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    t = await openSubprocessDatabase();
    dir = await mkdtemp(join(tmpdir(), "vigil-exp-cli-"));
    cfg = join(dir, "v.yaml");
    await writeFile(cfg, CONFIG);
    await t.db.exec(`
      CREATE TABLE exp_assignments (user_id bigint, variant text, assigned_at timestamptz);
      CREATE TABLE plays (user_id bigint, played_at timestamptz, skipped int);
      INSERT INTO exp_assignments SELECT g, CASE WHEN g % 2 = 0 THEN 'control' ELSE 'treatment' END, now() - interval '2 days' FROM generate_series(1, 4000) g;
      INSERT INTO plays SELECT a.user_id, a.assigned_at + k * interval '1 minute',
        CASE WHEN (hashtext(a.user_id::text || ':' || k) & 2147483647) % 1000 < CASE WHEN a.variant = 'treatment' THEN 400 ELSE 300 END THEN 1 ELSE 0 END
      FROM exp_assignments a CROSS JOIN generate_series(1, 5) k;
    `);
    if (t.dataDir) await t.db.close();
    env = subprocessEnv(t);
  });
  afterAll(async () => {
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("prints the SRM p-value and each guardrail's status, change and interval", async () => {
    const r = await runCli(["experiments", "-c", cfg], env);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^EXPERIMENT\s+STATE\s+UNITS\s+SRM_P\s+GUARDRAIL\s+VARIANT\s+STATUS\s+CHANGE\s+INTERVAL\s+P$/);
    expect(lines[1]).toMatch(
      /^cli_exp\s+running\s+control 2,000 \/ treatment 2,000\s+1\.00\s+skip_rate\s+treatment\s+harmed\s+\+\d+\.\d%\s+\+\d+\.\d% \.\. \+\d+\.\d%/,
    );
  });

  it("--json, and it stores no alert", async () => {
    const r = await runCli(["experiments", "--json", "-c", cfg], env);
    expect(r.code, r.stderr).toBe(0);
    const [e] = JSON.parse(r.stdout) as Array<{
      experiment: string;
      srm: { p: number; mismatch: boolean };
      guardrails: Array<{ status: string; estimate: number; interval: { lower: number; upper: number } }>;
    }>;
    expect(e!.experiment).toBe("cli_exp");
    expect(e!.srm).toMatchObject({ p: 1, mismatch: false });
    expect(e!.guardrails[0]!.status).toBe("harmed");
    expect(e!.guardrails[0]!.estimate).toBeGreaterThan(0.2);
    expect(e!.guardrails[0]!.interval.lower).toBeGreaterThan(0);
    const alerts = await runCli(["alerts", "--json", "-c", cfg], env);
    expect(JSON.parse(alerts.stdout)).toEqual([]);
  });

  it("an unknown experiment name is a usage error", async () => {
    const r = await runCli(["experiments", "nope", "-c", cfg], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no experiment named 'nope'");
  });
});
