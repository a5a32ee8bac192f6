import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AlertActions } from "../src/actions.js";
import { ManualClock } from "../src/clock.js";
import { type Alert, fingerprintOf } from "../src/model/alert.js";
import { observe } from "../src/model/lifecycle.js";
import { migrate } from "../src/store/migrations.js";
import { StateStore } from "../src/store/state-store.js";
import { runCli } from "./helpers/cli.js";
import { vigilConfig } from "./helpers/config.js";
import { openSubprocessDatabase, subprocessEnv, type TestDatabase } from "./helpers/db.js";
import { writeOutcomes } from "./helpers/store-write.js";

describe("vigil alerts and vigil silence (subprocess)", () => {
  let t: TestDatabase;
  let dir: string;
  let cfg: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    t = await openSubprocessDatabase();
    dir = await mkdtemp(join(tmpdir(), "vigil-cli-"));
    cfg = join(dir, "v.yaml");
    await writeFile(cfg, "channels: {out: {type: console}}\nmetrics: []\n");
    await migrate(t.db);
    const store = new StateStore(t.db);
    const clock = new ManualClock(Date.UTC(2026, 5, 1, 12));
    const actions = new AlertActions(store, clock, () => vigilConfig([]));
    const policy = { for: 1, resolveAfter: 1, severity: "critical" as const, repeatEveryMs: null };
    const ids: number[] = [];
    for (const [i, series] of ["a", "b", "c", "d", "e"].entries()) {
      const id = {
        fingerprint: fingerprintOf("orders", series, "seasonal"),
        kind: "metric" as const,
        metric: "orders",
        series: `shop=${series}`,
        detector: "seasonal",
        details: {},
      };
      const out = observe(
        null,
        id,
        { bucket: clock.now(), anomalous: true, value: 10 + i, expected: 100, lower: 80, upper: 120, sigmas: -9, reason: "9σ below" },
        i === 0 ? { ...policy, for: 3 } : policy,
        clock.now(),
      );
      const [saved] = await writeOutcomes(store, { outcomes: [{ alert: out.alert as Alert, events: out.events }], watermarks: [] });
      ids.push(saved!.id);
    }
    await actions.acknowledge(ids[2]!, "alice");
    await actions.snooze(ids[3]!, 3_600_000, "bob");
    await actions.resolve(ids[4]!, "carol");
    if (t.dataDir) await t.db.close();
    env = subprocessEnv(t);
  });
  afterAll(async () => {
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("lists every state, as a table and as JSON, and filters by state", async () => {
    const table = await runCli(["alerts", "-c", cfg], env);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^ID\s+METRIC\s+SERIES\s+DETECTOR\s+STATE\s+SEVERITY\s+STARTED_AT\s+VALUE$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[4])).toEqual(["resolved", "snoozed", "acknowledged", "firing", "pending"]);
    const json = JSON.parse((await runCli(["alerts", "--json", "-c", cfg], env)).stdout) as Array<Record<string, unknown>>;
    expect(json.map((a) => [a.id, a.state, a.acted_by])).toEqual([
      [5, "resolved", "carol"],
      [4, "snoozed", "bob"],
      [3, "acknowledged", "alice"],
      [2, "firing", null],
      [1, "pending", null],
    ]);
    expect(json[1]!.snoozed_until).toBe("2026-06-01T13:00:00.000Z");
    const snoozed = JSON.parse((await runCli(["alerts", "--json", "--state", "snoozed", "-c", cfg], env)).stdout) as unknown[];
    expect(snoozed).toHaveLength(1);
    const bad = await runCli(["alerts", "--state", "sleeping", "-c", cfg], env);
    expect(bad.code).toBe(2);
  }, 600_000);

  it("silence add, list and rm", async () => {
    const add = await runCli(
      ["silence", "add", "--metric", "orders", "--series", "shop=*", "--for", "2h", "--reason", "migration", "-c", cfg],
      env,
    );
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toMatch(/^silence 1 added: orders \/ shop=\* until /);
    const list = await runCli(["silence", "list", "-c", cfg], env);
    expect(list.stdout).toMatch(/1\s+orders\s+shop=\*\s+.*migration/);
    expect((await runCli(["silence", "add", "--metric", "x", "--for", "soon", "-c", cfg], env)).code).toBe(2);
    expect((await runCli(["silence", "rm", "1", "-c", cfg], env)).stdout).toContain("silence 1 removed");
    const again = await runCli(["silence", "rm", "1", "-c", cfg], env);
    expect(again.code).toBe(1);
    expect((await runCli(["silence", "list", "-c", cfg], env)).stdout).toContain("no active silences");
  }, 600_000);
});
