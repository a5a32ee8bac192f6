/**
 * The fault-injection suite (docs/operations.md, "What vigil promises under faults"): the daemon as a whole,
 * in process on an injected clock where time matters and as a subprocess where a kill must be
 * real, with /healthz asked every 100 ms throughout. A hanging metric query is in daemon.test.ts
 * (PostgreSQL only: the embedded database answers one query at a time); hostile chat text and
 * silence patterns are in chat-commands-fuzz.test.ts and glob.test.ts; receivers' failures one by
 * one in dispatcher.test.ts.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ManualClock } from "../src/clock.js";
import { Daemon } from "../src/daemon.js";
import { silentLogger } from "../src/log.js";
import { ManualScheduler } from "../src/scheduler.js";
import { daemonConfig, runCli, startCli, until, waitExit } from "./helpers/cli.js";
import { HOUR } from "./helpers/config.js";
import { openSubprocessDatabase, openTestDatabase, subprocessEnv, type TestDatabase } from "./helpers/db.js";
import { HealthProbe, type HealthReport } from "./helpers/health-probe.js";
import { freePort } from "./helpers/net.js";
import { noise } from "./helpers/series.js";
import { tempDirFor } from "./helpers/temp-dir.js";
import { WebhookReceiver } from "./helpers/webhook-receiver.js";

const MINUTE = 60_000;
/** A Monday, 12:05 UTC: the last closed hourly bucket starts at 11:00. */
const NOW = Date.UTC(2026, 0, 5, 12, 5);
const quietOut = { write: () => true } as unknown as NodeJS.WritableStream;

function healthy(r: HealthReport): void {
  expect(r.failures).toEqual([]);
  expect(r.answers).toBeGreaterThan(0);
  expect(r.slowestMs).toBeLessThan(1000);
}

/**
 * A daemon with one metric (YAML lines) notifying a webhook, on a manual clock and scheduler,
 * serving HTTP on a free port, started and leading, with a probe already asking its /healthz.
 */
async function faultDaemon(dir: string, t: TestDatabase, hook: WebhookReceiver, metric: string, clock: ManualClock) {
  const configPath = join(dir, "vigil.yaml");
  await writeFile(
    configPath,
    `http: {port: 0, host: 127.0.0.1}
channels:
  hook: {type: webhook, url: "${hook.url}"}
defaults:
  notify: [hook]
  schedule: "*/1 * * * *"
metrics:
${metric}`,
  );
  const scheduler = new ManualScheduler(silentLogger());
  const daemon = await Daemon.create({
    configPath,
    metricsDb: t.db,
    stateDb: t.db,
    clock,
    log: silentLogger(),
    watch: false,
    scheduler: () => scheduler,
    stdout: quietOut,
    dispatchPollMs: 50,
  });
  await daemon.start();
  await daemon.whenLeading();
  return { daemon, scheduler, probe: new HealthProbe(daemon.httpPort!) };
}

describe("faults: the daemon in process", () => {
  const dir = tempDirFor("vigil-faults-");
  let t: TestDatabase;
  let hook: WebhookReceiver;
  // a database each: 10,000 open alerts left by one test would slow every tick of the next
  beforeEach(async () => {
    t = await openTestDatabase();
  });
  afterEach(async () => {
    await t?.close();
  });

  it("10,000 alerts at once: the tick does not wait for them, the next tick runs, every one reaches the webhook once and in order", async () => {
    hook = await new WebhookReceiver().start();
    await t.db.exec(`CREATE TABLE burst (ts timestamptz NOT NULL, series text NOT NULL, v double precision)`);
    await t.db.exec(`INSERT INTO burst SELECT timestamptz '2026-01-05 11:02:00+00', 's' || i, 1000 FROM generate_series(1, 10000) i`);
    const clock = new ManualClock(NOW);
    const metric = `  - name: burst
    source: {table: burst, time_column: ts, value: sum(v), granularity: 1h, split_by: [series]}
    detectors: [{type: threshold, max: 500}]
`;
    const { daemon, scheduler, probe } = await faultDaemon(dir(), t, hook, metric, clock);
    try {
      expect(await scheduler.fire("*/1 * * * * @ UTC")).toBe(true);
      expect((await daemon.store.alertCountsByState()).firing).toBe(10_000);
      // the tick is over long before its alerts are out, and the next one is not skipped
      expect(hook.received.length).toBeLessThan(10_000);
      clock.advance(MINUTE);
      expect(await scheduler.fire("*/1 * * * * @ UTC")).toBe(true);
      await hook.waitFor(10_000, 600_000);
      healthy(await probe.stop());
      const ids = hook.received.map((r) => r.body.id as number);
      expect(new Set(ids).size).toBe(10_000);
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      expect(await daemon.store.queueDepth()).toBe(0);
    } finally {
      await probe.stop();
      await daemon.stop();
      await hook.close();
    }
  });

  it("a receiver answering 429 with an absurd Retry-After, then a redirect: waited on for an hour at most, the redirect is a failure, the alert arrives once", async () => {
    hook = await new WebhookReceiver().start();
    hook.script.push(
      { kind: "status", status: 429, retryAfter: "10000000000000" },
      { kind: "redirect", status: 301, location: "http://127.0.0.1:9/elsewhere" },
    );
    await t.db.exec(`CREATE TABLE throttled (ts timestamptz NOT NULL, series text NOT NULL, v double precision)`);
    await t.db.exec(`INSERT INTO throttled VALUES (timestamptz '2026-01-05 11:02:00+00', 'a', 1000)`);
    const clock = new ManualClock(NOW);
    const metric = `  - name: throttled
    source: {table: throttled, time_column: ts, value: sum(v), granularity: 1h}
    detectors: [{type: threshold, max: 500}]
`;
    const { daemon, scheduler, probe } = await faultDaemon(dir(), t, hook, metric, clock);
    try {
      await scheduler.fire("*/1 * * * * @ UTC");
      await until(() => hook.attempts === 1, "the first attempt");
      const waiting = (await until(async () => {
        const p = await daemon.store.deliveries({ status: "pending" });
        return p.length === 1 && p[0]!.attempts === 1 ? p[0] : null;
      }, "the 429 recorded"))!;
      // the receiver asked for 317 years; the channel waits an hour
      expect(waiting.nextAttemptAt).toBe(NOW + HOUR);
      clock.advance(HOUR);
      await until(() => hook.attempts === 2, "the retry after an hour");
      const redirected = (await until(async () => {
        const p = await daemon.store.deliveries({ status: "pending" });
        return p.length === 1 && p[0]!.attempts === 2 ? p[0] : null;
      }, "the redirect recorded as a failure"))!;
      expect(redirected.lastError).toMatch(/HTTP 301 redirect to http:\/\/127\.0\.0\.1:9\/elsewhere not followed/);
      expect(hook.received).toHaveLength(0);
      clock.set(redirected.nextAttemptAt);
      await hook.waitFor(1, 600_000);
      healthy(await probe.stop());
      expect(hook.received).toHaveLength(1);
      expect(await daemon.store.queueDepth()).toBe(0);
    } finally {
      await probe.stop();
      await daemon.stop();
      await hook.close();
    }
  });

  it("a split column that never repeats a value, for an hour of simulated time: the series judged and the heap stay flat", async () => {
    // a heap measured after a full collection: expose gc() to this test only
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    hook = await new WebhookReceiver().start();
    await t.db.exec(`CREATE TABLE churn (ts timestamptz NOT NULL, series text NOT NULL, v double precision)`);
    const perMinute = 200;
    const minutes = 60;
    // every minute 200 values (request ids, deploy hashes) that are never seen again
    await t.db.exec(
      `INSERT INTO churn SELECT timestamptz '2026-01-05 12:00:10+00' + make_interval(mins => m), 'm' || m || '-' || i, 100
       FROM generate_series(0, ${minutes - 1}) m, generate_series(1, ${perMinute}) i`,
    );
    const clock = new ManualClock(Date.UTC(2026, 0, 5, 12, 1, 30));
    const metric = `  - name: churn
    source: {table: churn, time_column: ts, value: sum(v), granularity: 1m, split_by: [series]}
    lookback: 10m
    detectors: [{type: moving_average, window: 5}]
`;
    const { daemon, scheduler, probe } = await faultDaemon(dir(), t, hook, metric, clock);
    const judged: number[] = [];
    const heapMb: number[] = [];
    try {
      for (let m = 1; m <= minutes; m++) {
        const before = (await daemon.metrics.seriesEvaluated.get()).values.reduce((a, v) => a + v.value, 0);
        expect(await scheduler.fire("*/1 * * * * @ UTC")).toBe(true);
        judged.push((await daemon.metrics.seriesEvaluated.get()).values.reduce((a, v) => a + v.value, 0) - before);
        if (m % 10 === 0) {
          gc();
          heapMb.push(process.memoryUsage().heapUsed / 2 ** 20);
        }
        clock.advance(MINUTE);
      }
      healthy(await probe.stop());
      // a series is forgotten a lookback (10 buckets) after its last row: never more than 11 minutes of values
      expect(Math.max(...judged)).toBeLessThanOrEqual(11 * perMinute);
      expect(judged.slice(-10).every((n) => n === judged.at(-1))).toBe(true);
      // 12,000 series have come and gone; the heap after the first 20 minutes holds what it held then
      expect(Math.max(...heapMb.slice(1)) - heapMb[1]!).toBeLessThan(8);
    } finally {
      await probe.stop();
      await daemon.stop();
      await hook.close();
    }
  });
});

describe("faults: vigil run as a process", () => {
  const dir = tempDirFor("vigil-faults-proc-");
  const series = 100;
  const days = 7;

  /** A week of 1-minute rows of 100 series (about a million rows), on until 10 minutes from now, with spikes a day ago. */
  async function seed(t: TestDatabase): Promise<void> {
    await t.db.exec(`CREATE TABLE load_t (ts timestamptz NOT NULL, series text NOT NULL, v double precision)`);
    await t.db.exec(
      `INSERT INTO load_t SELECT date_trunc('minute', now()) - make_interval(mins => i) + interval '10 seconds', 's' || s,
         100 + ((i * 7919 + s * 104729) % 97) / 10.0
       FROM generate_series(-10, ${days * 1440}) i, generate_series(1, ${series}) s`,
    );
    // as a metrics table has: each chunk of the history load reads its own minutes
    await t.db.exec(`CREATE INDEX ON load_t (ts)`);
    await t.db.exec(
      `UPDATE load_t SET v = 5000 WHERE series IN ('s1', 's2', 's3') AND ts BETWEEN now() - interval '1 day 10 minutes' AND now() - interval '1 day'`,
    );
  }

  function config(port: number): Promise<string> {
    return daemonConfig(
      join(dir(), `load-${port}.yaml`),
      port,
      `  - name: loaded
    source: {table: load_t, time_column: ts, value: avg(v), granularity: 1m, split_by: [series]}
    lookback: ${days}d
`,
      `{notify: [out], schedule: "*/2 * * * * *"}`,
    );
  }

  it("killed (SIGKILL) at random points of its first history load, then stopped (SIGTERM) during one: no day-old spike is ever alerted as new", async () => {
    const t = await openSubprocessDatabase();
    try {
      await seed(t);
      if (t.dataDir) await t.db.close();
      const env = { LOG_LEVEL: "debug", ...subprocessEnv(t) };
      const rnd = noise(22);
      for (let k = 0; k < 4; k++) {
        const port = await freePort();
        const child = startCli(["run", "-c", await config(port)], env);
        const exited = waitExit(child);
        await until(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.ok, "healthz");
        const probe = new HealthProbe(port);
        // somewhere in the load: its first tick takes several seconds
        await until(async () => (child.out.stdout + child.out.stderr).includes("tick started"), "first tick");
        await new Promise((r) => setTimeout(r, 200 + (rnd() + 0.5) * 2000));
        const report = await probe.stop();
        const loadDone = child.out.stdout.includes("tick done") || child.out.stderr.includes("tick done");
        child.kill(k < 3 ? "SIGKILL" : "SIGTERM");
        const r = await exited;
        healthy(report);
        expect(loadDone, `kill ${k} came after the load`).toBe(false);
        if (k < 3) expect(r.signal).toBe("SIGKILL");
        else {
          // the stop cuts the load short instead of finishing it
          expect(r.code, r.stderr).toBe(0);
          expect(r.stdout + r.stderr).toContain("history load left for the next start");
        }
      }
      const done = await runCli(["run", "--once", "-c", await config(0)], env);
      expect(done.code, done.stderr).toBe(0);
      expect(done.stdout).toContain(`${series} series judged`);
      expect(done.stdout).not.toContain("FIRING");
      const list = await runCli(["alerts", "--json", "-c", await config(0)], env);
      expect(list.code, list.stderr).toBe(0);
      expect(JSON.parse(list.stdout)).toEqual([]);
    } finally {
      await t.close();
    }
  });
});
