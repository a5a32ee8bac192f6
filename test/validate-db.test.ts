/**
 * `vigil validate --db`: each metric's and experiment's query runs once against the database, and
 * what fails or is quietly wrong is reported at its config line. Runs on PostgreSQL
 * (VIGIL_TEST_DATABASE_URL) and PGlite.
 */
import { writeFile } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateCommand } from "../src/cli/validate-command.js";
import type { Database } from "../src/db/database.js";
import { runCli } from "./helpers/cli.js";
import { openSubprocessDatabase, openTestDatabase, type TestDatabase } from "./helpers/db.js";
import { freePort } from "./helpers/net.js";
import { tempDirFor } from "./helpers/temp-dir.js";

const NOW = Date.parse("2026-03-10T12:00:00Z");
const dir = tempDirFor("vigil-validate-db-");

/** Rows every 10 minutes over the last two days before `now` (a SQL expression, so both backends agree). */
const SEED = (now: number) => `
CREATE SCHEMA analytics;
CREATE TABLE analytics.events (ts timestamptz NOT NULL, user_id int NOT NULL, kind text NOT NULL);
-- same name on the search_path, with a naive time column: the schema-qualified name must not find it
CREATE TABLE events (ts timestamp NOT NULL, user_id int NOT NULL);
CREATE TABLE assignments (user_id int NOT NULL, variant text NOT NULL, assigned_at timestamp NOT NULL);
INSERT INTO analytics.events
  SELECT '${new Date(now).toISOString()}'::timestamptz - i * interval '10 minutes', i % 50, CASE WHEN i % 3 = 0 THEN 'buy' ELSE 'view' END
  FROM generate_series(1, 288) i;
INSERT INTO events SELECT (ts AT TIME ZONE 'UTC'), user_id FROM analytics.events;
INSERT INTO assignments
  SELECT i, CASE WHEN i % 2 = 0 THEN 'control' ELSE 'treatment' END, '${new Date(now - 86_400_000).toISOString().slice(0, 19)}'::timestamp
  FROM generate_series(0, 49) i;
`;

/** A config with `metrics` and `experiments` YAML spliced in (each indented as a list under its key). */
function config(metrics: string, experiments = ""): string {
  return `channels:
  out: {type: console}
defaults: {notify: [out]}
metrics:
${metrics}${experiments ? `experiments:\n${experiments}` : ""}`;
}

const GOOD_METRICS = `  - name: views
    source: {table: analytics.events, time_column: ts, value: "count(*)", where: "kind = 'view'", granularity: 1h}
  - name: raw_buys
    query: "SELECT date_trunc('hour', ts) AS t, count(*) AS value FROM analytics.events WHERE kind = 'buy' AND ts >= $1 AND ts < $2 GROUP BY 1"
`;

const GOOD_EXPERIMENT = `  - name: recs
    variants: {control: 0.5, treatment: 0.5}
    control: control
    assignments: {table: assignments, unit_column: user_id, variant_column: variant, time_column: assigned_at, timezone: UTC}
    guardrails:
      - name: buys
        events: {table: analytics.events, unit_column: user_id, time_column: ts, value: "(kind = 'buy')::int"}
        aggregate: mean
        bad_direction: decrease
`;

/** 1-based number of the first line containing `needle`. */
function lineOf(text: string, needle: string): number {
  const i = text.split("\n").findIndex((l) => l.includes(needle));
  if (i < 0) throw new Error(`no line with ${needle}`);
  return i + 1;
}

let t: TestDatabase;

beforeAll(async () => {
  t = await openTestDatabase();
  await t.db.exec(SEED(NOW));
});

afterAll(async () => {
  await t?.close();
});

/** validate --db in this process against the test database (which validate must not close). */
async function validate(yaml: string, name: string): Promise<{ code: number; stdout: string; stderr: string; file: string }> {
  const file = join(dir(), `${name}.yaml`);
  await writeFile(file, yaml);
  let stdout = "";
  let stderr = "";
  const db = t.db;
  const shared: Database = {
    kind: db.kind,
    target: db.target,
    query: (text, values) => db.query(text, values),
    transaction: (fn) => db.transaction(fn),
    exec: (sql) => db.exec(sql),
    dedicated: () => db.dedicated(),
    close: async () => {},
  };
  const code = await validateCommand(
    file,
    { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } },
    {},
    { db: true, now: NOW, openDb: async () => shared },
  );
  return { code, stdout, stderr, file };
}

describe("vigil validate --db", () => {
  it("passes a config whose queries run, and says what it queried", async () => {
    const r = await validate(config(GOOD_METRICS, GOOD_EXPERIMENT), "good");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("OK — 2 metrics, 1 experiment");
    expect(r.stdout).toContain("database: 2 metrics and 1 experiment queried");
  });

  it("reports a missing table as an error at the metric's source line, with the database's message", async () => {
    const yaml = config(`${GOOD_METRICS}  - name: gone
    source:
      table: analytics.nope
      time_column: ts
      value: "count(*)"
`);
    const r = await validate(yaml, "missing");
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    const line = lineOf(yaml, "name: gone") + 1;
    expect(lines[0]).toMatch(new RegExp(`^${reEscape(r.file)}:${line}:5: metrics\\[2\\]\\.source: .*does not exist`));
    expect(r.stdout).toBe("");
  });

  it("warns about a naive time column without source.timezone at its line, and not once the zone is set", async () => {
    const naive = config(`  - name: naive
    source:
      table: events
      time_column: ts
      value: "count(*)"
`);
    const r = await validate(naive, "naive");
    expect(r.code).toBe(0);
    expect(r.stderr.trim().split("\n")).toEqual([
      `${r.file}:${lineOf(naive, "time_column: ts")}:20: metrics[0].source.time_column: warning: column "ts" is timestamp without time zone: naive timestamps are read as UTC; set source.timezone`,
    ]);
    expect(r.stdout).toContain("database: 1 metric and 0 experiments queried");

    const zoned = await validate(naive.replace("time_column: ts", "time_column: ts\n      timezone: Europe/Berlin"), "zoned");
    expect(zoned.stderr).toBe("");
    expect(zoned.code).toBe(0);
  });

  it("warns about a source without rows over its lookback, and an experiment's naive column and broken guardrail", async () => {
    const yaml = config(
      `  - name: nothing
    source: {table: analytics.events, time_column: ts, value: "count(*)", where: "kind = 'refund'", granularity: 1h}
    lookback: 3d
`,
      GOOD_EXPERIMENT.replace(", timezone: UTC", "").replace(
        "        bad_direction: decrease\n",
        `        bad_direction: decrease
      - name: typo
        events: {table: analytics.events, unit_column: uid, time_column: ts, value: "1"}
        aggregate: mean
        bad_direction: increase
`,
      ),
    );
    const r = await validate(yaml, "mixed");
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toEqual([
      `${r.file}:${lineOf(yaml, "name: nothing") + 1}:5: metrics[0].source: warning: no rows in the last 3d`,
      expect.stringMatching(
        new RegExp(
          `^${reEscape(r.file)}:${lineOf(yaml, "assignments:")}:\\d+: experiments\\[0\\]\\.assignments\\.time_column: warning: .*set assignments\\.timezone$`,
        ),
      ),
      expect.stringMatching(
        new RegExp(`^${reEscape(r.file)}:${lineOf(yaml, "name: typo") + 1}:9: experiments\\[0\\]\\.guardrails\\[1\\]\\.events: .*uid`),
      ),
    ]);
  });

  it("gives one clear line and exit 2, quickly, when the server accepts but never answers", async () => {
    const silent = await silentServer();
    try {
      const yaml = `database: {url: "postgres://vigil:hunter2@127.0.0.1:${silent.port}/metrics"}\n${config(GOOD_METRICS)}`;
      const file = join(dir(), "silent.yaml");
      await writeFile(file, yaml);
      let stderr = "";
      const started = Date.now();
      const code = await validateCommand(
        file,
        { stdout: { write: () => true }, stderr: { write: (s: string) => (stderr += s) } },
        {},
        { db: true, connectTimeoutMs: 300 },
      );
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(code).toBe(2);
      expect(stderr.trim().split("\n")).toEqual([
        expect.stringMatching(
          new RegExp(`^${reEscape(file)}:1:\\d+: database\\.url: cannot reach PostgreSQL at 127\\.0\\.0\\.1:${silent.port}`),
        ),
      ]);
      expect(stderr).not.toContain("hunter2");
    } finally {
      await silent.close();
    }
  });
});

describe("vigil validate --db (the command)", () => {
  it("refuses an unreachable database with one line and exit 2, without a stack trace", async () => {
    const port = await freePort();
    const file = join(dir(), "unreachable.yaml");
    await writeFile(file, `database: {url: "postgres://vigil:hunter2@127.0.0.1:${port}/metrics"}\n${config(GOOD_METRICS)}`);
    const r = await runCli(["validate", "-c", file, "--db"], {});
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual([
      `${file}:1:17: database.url: cannot reach PostgreSQL at 127.0.0.1:${port}: connect ECONNREFUSED`,
    ]);
    expect(r.stdout).toBe("");
  });

  it("opens the database as vigil run does ($DATABASE_URL, else PGlite in VIGIL_DATA_DIR) and passes a good config", async () => {
    const sub = await openSubprocessDatabase();
    try {
      await sub.db.exec(SEED(Date.now()));
      if (sub.dataDir) await sub.db.close(); // one process per PGlite directory
      const file = join(dir(), "cli-good.yaml");
      await writeFile(file, `database: {url: "\${DATABASE_URL:-}"}\n${config(GOOD_METRICS, GOOD_EXPERIMENT)}`);
      const env = sub.url ? { DATABASE_URL: sub.url } : { DATABASE_URL: "", VIGIL_DATA_DIR: sub.dataDir };
      const r = await runCli(["validate", "-c", file, "--db"], env);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("database: 2 metrics and 1 experiment queried");
    } finally {
      await sub.close();
    }
  });
});

function reEscape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A TCP server that accepts connections and never says a word (a PostgreSQL that hangs at startup). */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
