import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.js";
import { openSubprocessDatabase, subprocessEnv } from "./helpers/db.js";

describe("vigil run --once watches experiments", () => {
  it("prints an SRM alert for a 50/50 experiment that delivered 10,000 vs 9,400 units", async () => {
    const t = await openSubprocessDatabase();
    const dir = await mkdtemp(join(tmpdir(), "vigil-exp-"));
    try {
      await t.db.exec(`
        CREATE TABLE exp_assignments (user_id int, variant text, assigned_at timestamptz, experiment text);
        INSERT INTO exp_assignments
          SELECT g, CASE WHEN g <= 10000 THEN 'control' ELSE 'treatment' END, now() - interval '2 days' + g * interval '1 second', 'new_recs'
          FROM generate_series(1, 19400) AS g;
        CREATE TABLE plays (user_id int, played_at timestamptz, skipped boolean);
        INSERT INTO plays SELECT g, now() - interval '1 day', (g % 5 = 0) FROM generate_series(1, 19400) AS g;
      `);
      if (t.dataDir) await t.db.close();
      const cfg = join(dir, "v.yaml");
      await writeFile(
        cfg,
        `channels: {out: {type: console}}
defaults: {notify: [out]}
experiments:
  - name: new_recs
    variants: {control: 0.5, treatment: 0.5}
    control: control
    assignments: {table: exp_assignments, unit_column: user_id, variant_column: variant, time_column: assigned_at, where: "experiment = 'new_recs'"}
    guardrails:
      - name: skip_rate
        events: {table: plays, unit_column: user_id, time_column: played_at, value: "skipped::int"}
        aggregate: mean
        bad_direction: increase
    min_units: 1000
    notify: [out]
`,
      );
      const env = subprocessEnv(t);
      const r = await runCli(["run", "--once", "-c", cfg], env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout, r.stdout).toMatch(/FIRING #1 · critical · experiment new_recs/);
      expect(r.stdout).toMatch(/sample ratio mismatch|SRM/i);
      expect(r.stdout).toMatch(/10,000/);
      expect(r.stdout).toMatch(/check assignment and logging/);
      const list = await runCli(["experiments", "--json", "-c", cfg], env);
      expect(list.code, list.stderr).toBe(0);
    } finally {
      await t.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
