/**
 * The delivery guarantees under crashes and failover, driven as an operator would: real `vigil run`
 * processes on one PostgreSQL, SIGKILLed at random moments, a webhook receiver counting what arrives.
 * Needs a PostgreSQL server (PGlite is single-process), so it runs in CI's PostgreSQL pass.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate } from "../src/store/migrations.js";
import { StateStore } from "../src/store/state-store.js";
import { startCli, until, waitExit } from "./helpers/cli.js";
import { openTestDatabase, TEST_DATABASE_URL, type TestDatabase } from "./helpers/db.js";
import { freePort } from "./helpers/net.js";
import { WebhookReceiver } from "./helpers/webhook-receiver.js";

const SEC = 1000;

/** Per second from `from`: blocks of 4 s, anomalous (1000) for the first 2, normal (100) after. */
async function seed(db: TestDatabase["db"], table: string, from: number, seconds: number): Promise<number[]> {
  await db.exec(`CREATE TABLE ${table} (ts timestamptz NOT NULL, v double precision)`);
  const ts: number[] = [];
  const vs: number[] = [];
  const blocks: number[] = [];
  for (let i = 0; i < seconds; i++) {
    const t = from + i * SEC;
    const anomalous = i % 4 < 2;
    if (i % 4 === 0) blocks.push(t);
    ts.push(t + 100);
    vs.push(anomalous ? 1000 : 100);
  }
  await db.query(`INSERT INTO ${table} SELECT to_timestamp(t / 1000.0), v FROM unnest($1::float8[], $2::float8[]) AS x(t, v)`, [ts, vs]);
  return blocks;
}

function configYaml(table: string, hook: string): string {
  return `database: {url: "\${DATABASE_URL}"}
http: {port: "\${VIGIL_PORT}", host: 127.0.0.1}
channels:
  hook: {type: webhook, url: "${hook}"}
defaults:
  notify: [hook]
  schedule: "* * * * * *"
metrics:
  - name: ha_metric
    source: {table: ${table}, time_column: ts, value: max(v), granularity: 1s}
    lookback: 10m
    detectors: [{type: threshold, max: 500}]
    resolve_after: 1
`;
}

describe.runIf(TEST_DATABASE_URL)("high availability (real PostgreSQL, real processes)", () => {
  let t: TestDatabase;
  let hook: WebhookReceiver;
  let dir: string;
  beforeAll(async () => {
    t = await openTestDatabase();
    hook = await new WebhookReceiver().start();
    dir = await mkdtemp(join(tmpdir(), "vigil-ha-"));
  });
  afterAll(async () => {
    await hook.close();
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("SIGKILL 20 times at random points: nothing lost, in order, duplicates ≤ kills", async () => {
    const start = Math.floor(Date.now() / SEC) * SEC;
    const blocks = await seed(t.db, "ha_kill", start - 5 * SEC, 120);
    const cfg = join(dir, "kill.yaml");
    await writeFile(cfg, configYaml("ha_kill", hook.url));
    const env = async () => ({ DATABASE_URL: t.url!, VIGIL_PORT: String(await freePort()), LOG_LEVEL: "warn" });
    let kills = 0;
    let seed32 = 12345;
    const rand = () => {
      seed32 = (seed32 * 1103515245 + 12345) % 2 ** 31;
      return seed32 / 2 ** 31;
    };
    // "Nothing lost" starts once vigil has seen the metric: before its first tick, a first sight
    // judges only the last closed bucket by design. So the first process runs until it has stored a
    // watermark (however long start-up takes on a busy machine), then the kills begin.
    const watching = new StateStore(t.db);
    const first = startCli(["run", "-c", cfg], await env());
    // (the schema appears with the first process's migration)
    const seen = async () => (await watching.watermarks("ha_metric").catch(() => new Map<string, number>())).size > 0;
    await until(async () => (await seen()) || first.exitCode !== null, "first tick", 60_000, 100);
    const firstStart = Date.now();
    await new Promise((r) => setTimeout(r, 700 + rand() * 1800));
    first.kill("SIGKILL");
    await waitExit(first);
    kills++;
    for (let i = 1; i < Number(process.env.VIGIL_HA_KILLS ?? 20); i++) {
      const child = startCli(["run", "-c", cfg], await env());
      // wait until it is doing work (HTTP up), then kill at a random moment of its ticks/deliveries
      await until(() => child.out.stderr.length > 0 || child.exitCode !== null || Date.now() > 0, "start");
      await new Promise((r) => setTimeout(r, 700 + rand() * 1800));
      child.kill("SIGKILL");
      await waitExit(child);
      kills++;
    }
    // a last, clean run until every bucket of the data is judged and every delivery sent
    const last = startCli(["run", "-c", cfg], await env());
    const store = new StateStore(t.db);
    const end = start - 5 * SEC + 120 * SEC;
    await until(async () => Date.now() > end + 2 * SEC && (await store.queueDepth()) === 0, "all delivered", 120_000, 200);
    last.kill("SIGTERM");
    const r = await waitExit(last);
    expect(r.code).toBe(0);

    const deliveries = await store.deliveries();
    expect(deliveries.filter((d) => d.status !== "sent")).toEqual([]);
    const keys = deliveries.map((d) => d.key);
    const received = hook.received.map((x) => String(x.headers["idempotency-key"]));
    const unique = [...new Set(received)];
    // nothing lost: every delivery the outbox holds arrived
    expect(keys.filter((k) => !unique.includes(k))).toEqual([]);
    // duplicates only from sends in flight at a kill
    expect(received.length - unique.length).toBeLessThanOrEqual(kills);
    // in order: first arrivals follow the outbox order
    expect(unique).toEqual(keys);
    // every anomalous block after the first start opened an alert, and it resolved
    const alerts = await store.listAlerts({ limit: 1000 });
    const judged = blocks.filter((b) => b > firstStart + 2 * SEC && b + 3 * SEC < end);
    const opened = new Set(alerts.map((a) => a.firstBucket));
    expect(judged.filter((b) => !opened.has(b))).toEqual([]);
    expect(alerts.filter((a) => a.state !== "resolved" && a.kind === "metric" && (a.firstBucket ?? 0) + 3 * SEC < end)).toEqual([]);
  });

  it("three replicas: one leader; kill it and another takes over within two tick intervals; no duplicates", async () => {
    hook.received.length = 0;
    const start = Math.floor(Date.now() / SEC) * SEC;
    await seed(t.db, "ha_fail", start - 5 * SEC, 60);
    await migrate(t.db);
    await t.db.exec("TRUNCATE vigil.deliveries, vigil.alert_history, vigil.channel_messages, vigil.alerts, vigil.series_state");
    const cfg = join(dir, "fail.yaml");
    await writeFile(cfg, configYaml("ha_fail", hook.url));
    const ports = [await freePort(), await freePort(), await freePort()];
    const procs = ports.map((p) => startCli(["run", "-c", cfg], { DATABASE_URL: t.url!, VIGIL_PORT: String(p), LOG_LEVEL: "info" }));
    const leaderFlags = async () =>
      Promise.all(
        ports.map(async (p) => {
          const text = await fetch(`http://127.0.0.1:${p}/metrics`).then(
            (r) => r.text(),
            () => "",
          );
          return /^vigil_is_leader 1$/m.test(text) ? 1 : /^vigil_is_leader 0$/m.test(text) ? 0 : -1;
        }),
      );
    try {
      let last: number[] = [];
      const flags = await until(
        async () => {
          last = await leaderFlags();
          return last.every((x) => x >= 0) && last.filter((x) => x === 1).length === 1 ? last : null;
        },
        "one leader among three",
        30_000,
        200,
      ).catch((err: unknown) => {
        throw new Error(`${String(err)}: flags ${JSON.stringify(last)}\n${procs.map((p) => p.out.stderr.slice(-2000)).join("\n---\n")}`);
      });
      const leader = flags!.indexOf(1);
      await until(() => hook.received.length >= 2, "first alerts");
      procs[leader]!.kill("SIGKILL");
      const killedAt = Date.now();
      await waitExit(procs[leader]!);
      const before = hook.received.length;
      await until(async () => (await leaderFlags()).filter((x) => x === 1).length === 1, "a new leader", 10_000, 100);
      await until(() => hook.received.length > before, "deliveries from the new leader", 10_000, 100);
      // schedule is every second: two tick intervals plus the first tick's own work
      expect(Date.now() - killedAt).toBeLessThan(2 * SEC + 2500);
      const received = hook.received.map((x) => String(x.headers["idempotency-key"]));
      expect(received.length - new Set(received).size).toBeLessThanOrEqual(1);
    } finally {
      for (const p of procs) if (p.exitCode === null) p.kill("SIGTERM");
      for (const p of procs) await waitExit(p, 15_000).catch(() => undefined);
    }
  });
});
