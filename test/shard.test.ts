/**
 * Scaling out: with VIGIL_SHARDS=4, two `vigil run` processes on one PostgreSQL split the metric
 * shards between them (two each); when one is killed the survivor holds all four within seconds,
 * every metric keeps being evaluated, and no notification is sent twice.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lockKey, shardOf } from "../src/leader.js";
import { startCli, until, waitExit } from "./helpers/cli.js";
import { openTestDatabase, TEST_DATABASE_URL, type TestDatabase } from "./helpers/db.js";
import { freePort } from "./helpers/net.js";
import { WebhookReceiver } from "./helpers/webhook-receiver.js";

const SEC = 1000;
const SHARDS = 4;
const METRICS = Array.from({ length: 8 }, (_, i) => `shard_metric_${i}`);

describe("shardOf", () => {
  it("is stable and spreads names over the shards", () => {
    expect(shardOf("dau", 4)).toBe(shardOf("dau", 4));
    const counts = new Array(4).fill(0);
    for (let i = 0; i < 1000; i++) counts[shardOf(`metric_${i}`, 4)]++;
    for (const c of counts) expect(c).toBeGreaterThan(200);
  });
});

describe.runIf(TEST_DATABASE_URL)("sharded metric ticks over two replicas (real PostgreSQL, real processes)", () => {
  let t: TestDatabase;
  let hook: WebhookReceiver;
  let dir: string;
  beforeAll(async () => {
    t = await openTestDatabase();
    hook = await new WebhookReceiver().start();
    dir = await mkdtemp(join(tmpdir(), "vigil-shard-"));
  });
  afterAll(async () => {
    await hook.close();
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Which process (pid) holds each shard lock. */
  async function owners(): Promise<Map<number, number>> {
    const { rows } = await t.db.query<{ classid: number; objid: number; pid: number }>(
      `SELECT classid::bigint AS classid, objid::bigint AS objid, pid FROM pg_locks
       WHERE locktype = 'advisory' AND granted AND objsubid = 1
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    const out = new Map<number, number>();
    for (let i = 0; i < SHARDS; i++) {
      const k = BigInt.asUintN(64, lockKey(`vigil:shard:${i}`));
      const hi = Number(k >> 32n);
      const lo = Number(k & 0xffffffffn);
      const r = rows.find((x) => Number(x.classid) === hi && Number(x.objid) === lo);
      if (r) out.set(i, Number(r.pid));
    }
    return out;
  }

  it("two replicas share the shards; kill one and the other takes all; no duplicate notifications", async () => {
    // every second: anomalous (1000) for 2 s, normal (100) for 2 s, for every metric
    const start = Math.floor(Date.now() / SEC) * SEC - 5 * SEC;
    await t.db.exec("CREATE TABLE shard_data (ts timestamptz NOT NULL, metric text NOT NULL, v double precision)");
    await t.db.query(
      `INSERT INTO shard_data SELECT to_timestamp(($1::float8 + s * 1000 + 100) / 1000), m, CASE WHEN s % 4 < 2 THEN 1000 ELSE 100 END
       FROM generate_series(0, 89) AS s, unnest($2::text[]) AS m`,
      [start, METRICS],
    );
    const yaml = `database: {url: "\${DATABASE_URL}"}
http: {port: "\${VIGIL_PORT}", host: 127.0.0.1}
channels:
  hook: {type: webhook, url: "${hook.url}"}
defaults:
  notify: [hook]
  schedule: "* * * * * *"
metrics:
${METRICS.map(
  (m) => `  - name: ${m}
    source: {table: shard_data, time_column: ts, value: max(v), where: "metric = '${m}'", granularity: 1s}
    lookback: 10m
    detectors: [{type: threshold, max: 500}]
    resolve_after: 1`,
).join("\n")}
`;
    const cfg = join(dir, "shard.yaml");
    await writeFile(cfg, yaml);
    const ports = [await freePort(), await freePort()];
    const procs = ports.map((p) =>
      startCli(["run", "-c", cfg], { DATABASE_URL: t.url!, VIGIL_PORT: String(p), VIGIL_SHARDS: String(SHARDS), LOG_LEVEL: "info" }),
    );
    try {
      // both replicas hold two shards each (pg_locks names the server backend of each replica's lock connection)
      const split = await until(
        async () => {
          const o = await owners();
          const per = new Map<number, number>();
          for (const pid of o.values()) per.set(pid, (per.get(pid) ?? 0) + 1);
          return o.size === SHARDS && per.size === 2 && [...per.values()].every((n) => n === 2) ? o : null;
        },
        "two shards each",
        30_000,
        200,
      ).catch((err: unknown) => {
        throw new Error(`${String(err)}\n${procs.map((p) => p.out.stderr.slice(-3000)).join("\n---\n")}`);
      });
      expect(split?.size).toBe(SHARDS);
      // every metric alerts, whichever replica ticks it
      await until(() => METRICS.every((m) => hook.received.some((x) => x.body.metric === m)), "alerts from every metric", undefined, 100);

      // kill the replica that is not the leader (the leader delivers; the other only ticks)
      const leaderFlag = async (p: number) =>
        /^vigil_is_leader 1$/m.test(
          await fetch(`http://127.0.0.1:${p}/metrics`).then(
            (r) => r.text(),
            () => "",
          ),
        );
      const victim = (await leaderFlag(ports[0]!)) ? 1 : 0;
      procs[victim]!.kill("SIGKILL");
      const killedAt = Date.now();
      await waitExit(procs[victim]!);
      await until(
        async () => {
          const o = await owners();
          return o.size === SHARDS && new Set(o.values()).size === 1;
        },
        "the survivor holds every shard",
        10_000,
        100,
      );
      expect(Date.now() - killedAt).toBeLessThan(5 * SEC);
      // the survivor keeps every metric going: new alerts for each after the kill
      const after = Date.now();
      await until(
        () => METRICS.every((m) => hook.received.some((x) => x.body.metric === m && x.at > after + 1500)),
        "alerts from every metric after the takeover",
        20_000,
        100,
      );
      const keys = hook.received.map((x) => String(x.headers["idempotency-key"]));
      expect(keys.length - new Set(keys).size).toBe(0);
    } finally {
      for (const p of procs) if (p.exitCode === null) p.kill("SIGTERM");
      for (const p of procs) await waitExit(p, 15_000).catch(() => undefined);
    }
  });
});
