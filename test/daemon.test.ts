import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../src/clock.js";
import { Daemon } from "../src/daemon.js";
import type { Database } from "../src/db/database.js";
import { PgDatabase } from "../src/db/pg.js";
import { silentLogger } from "../src/log.js";
import { ManualScheduler } from "../src/scheduler.js";
import { runCli, startCli, until, waitExit } from "./helpers/cli.js";
import { HOUR } from "./helpers/config.js";
import { openSubprocessDatabase, openTestDatabase, subprocessEnv, TEST_DATABASE_URL, type TestDatabase } from "./helpers/db.js";
import { freePort } from "./helpers/net.js";
import { createMetricTable, insertRows, noise, type Row } from "./helpers/series.js";
import { TcpProxy } from "./helpers/tcp-proxy.js";
import { tempDirFor } from "./helpers/temp-dir.js";
import { WebhookReceiver } from "./helpers/webhook-receiver.js";

/**
 * The subprocess runs judge "the last closed bucket" on the real clock: rows made at 06:59:50 for
 * the hour before are not the last closed hour any more at 07:00:05. When the hour ends within
 * `roomMs`, wait for it to pass (rarely, at most `roomMs`) so the data and the run share one hour.
 */
async function clearOfHourEnd(roomMs = 60_000): Promise<void> {
  const left = HOUR - (Date.now() % HOUR);
  if (left < roomMs) await new Promise((r) => setTimeout(r, left + 1000));
}

/** Hourly rows up to the real current hour, two series, a spike in the last closed bucket of "b". */
function recentRows(spike = true): Row[] {
  const nowHour = Math.floor(Date.now() / HOUR) * HOUR;
  const rnd = noise(11);
  const rows: Row[] = [];
  for (let h = 96; h >= 1; h--) {
    for (const s of ["a", "b"]) {
      const last = h === 1;
      rows.push({ ts: nowHour - h * HOUR + 120_000, series: s, v: last && spike && s === "b" ? 1000 : 100 + rnd() * 8 });
    }
  }
  return rows;
}

/** An in-process daemon on a manual clock and scheduler (ticks by `tickOnce`), started and leading. */
async function leadingDaemon(configPath: string, metricsDb: Database, stateDb: Database, clock: ManualClock): Promise<Daemon> {
  const d = await Daemon.create({
    configPath,
    metricsDb,
    stateDb,
    clock,
    log: silentLogger(),
    http: false,
    watch: false,
    scheduler: (log) => new ManualScheduler(log),
    stdout: { write: () => true } as unknown as NodeJS.WritableStream,
  });
  await d.start();
  await d.whenLeading();
  return d;
}

function configYaml(table: string, extra = ""): string {
  return `database: {url: "\${DATABASE_URL:-}"}
http: {port: "\${VIGIL_PORT:-0}", host: 127.0.0.1}
channels:
  out: {type: console}
defaults:
  notify: [out]
  schedule: "*/1 * * * *"
metrics:
  - name: checkout_rate
    description: Checkouts per hour
    source: {table: ${table}, time_column: ts, value: sum(v), granularity: 1h, split_by: [series]}
    lookback: 4d
    detectors: [{type: zscore, window: 48, k: 4, min_points: 24}]
    severity: critical
    runbook: https://wiki.example.com/checkout
${extra}`;
}

describe("vigil run (subprocess)", () => {
  const dir = tempDirFor("vigil-daemon-");

  it("run --once prints an alert naming the metric, the series and #ID for a spike in the last closed bucket", async () => {
    await clearOfHourEnd();
    const t = await openSubprocessDatabase();
    try {
      await createMetricTable(t.db, "checkouts");
      await insertRows(t.db, "checkouts", recentRows());
      if (t.dataDir) await t.db.close();
      const cfg = join(dir(), "once.yaml");
      await writeFile(cfg, configYaml("checkouts"));
      const env = subprocessEnv(t);
      const r = await runCli(["run", "--once", "-c", cfg], env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/FIRING #1 · critical · checkout_rate \{series=b\}/);
      expect(r.stdout).toContain("1,000 vs expected");
      expect(r.stdout).toContain("runbook: https://wiki.example.com/checkout");
      expect(r.stdout).not.toMatch(/FIRING.*series=a/);
      // a second run sees nothing new: no re-alert after a restart
      const again = await runCli(["run", "--once", "-c", cfg], env);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).not.toContain("FIRING");
      const list = await runCli(["alerts", "--json", "-c", cfg], env);
      expect(list.code, list.stderr).toBe(0);
      const alerts = JSON.parse(list.stdout) as Array<Record<string, unknown>>;
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toMatchObject({
        id: 1,
        metric: "checkout_rate",
        series: "series=b",
        state: "firing",
        severity: "critical",
        value: 1000,
      });
    } finally {
      await t.close();
    }
  });

  it("run --once exits 1 when a source fails, and still reports the others", async () => {
    await clearOfHourEnd();
    const t = await openSubprocessDatabase();
    try {
      await createMetricTable(t.db, "checkouts");
      await insertRows(t.db, "checkouts", recentRows());
      if (t.dataDir) await t.db.close();
      const cfg = join(dir(), "broken.yaml");
      await writeFile(
        cfg,
        configYaml(
          "checkouts",
          `  - name: broken
    source: {table: missing_table, time_column: ts, value: count(*), granularity: 1h}
`,
        ),
      );
      const env = subprocessEnv(t);
      const r = await runCli(["run", "--once", "-c", cfg], env);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/metric broken failed: .*missing_table/);
      expect(r.stdout).toMatch(/FIRING #\d+ · critical · checkout_rate \{series=b\}/);
      expect(r.stdout).toMatch(/FIRING #\d+ · critical · broken/);
    } finally {
      await t.close();
    }
  });

  it("serves /healthz, /readyz, /metrics and exits 0 on SIGTERM", async () => {
    const t = await openSubprocessDatabase();
    try {
      await createMetricTable(t.db, "checkouts");
      if (t.dataDir) await t.db.close();
      const cfg = join(dir(), "serve.yaml");
      await writeFile(cfg, configYaml("checkouts"));
      const port = await freePort();
      const env = { VIGIL_PORT: String(port), ...subprocessEnv(t) };
      const child = startCli(["run", "-c", cfg], env);
      const base = `http://127.0.0.1:${port}`;
      await until(async () => (await fetch(`${base}/healthz`).catch(() => null))?.ok, "healthz");
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      for (const name of [
        "vigil_tick_duration_seconds",
        "vigil_series_evaluated_total",
        "vigil_alerts",
        "vigil_delivery_queue_depth",
        "vigil_config_reloads_total",
        "\nvigil_is_leader 1\n",
        "process_cpu_user_seconds_total",
      ]) {
        expect(metrics).toContain(name);
      }
      child.kill("SIGTERM");
      const r = await waitExit(child);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain("vigil stopped");
    } finally {
      await t.close();
    }
  });

  it("SIGTERM ends the process while Slack's Socket Mode is still retrying to connect", async () => {
    const t = await openSubprocessDatabase();
    // Slack that answers 500 to apps.connections.open: the client keeps retrying with its backoff
    let opens = 0;
    const slack = createServer((req, res) => {
      if (req.url?.endsWith("apps.connections.open")) opens++;
      res.writeHead(req.url?.endsWith("apps.connections.open") ? 500 : 200, { "content-type": "application/json" });
      res.end(JSON.stringify({ ok: true }));
    });
    await new Promise<void>((r) => slack.listen(0, "127.0.0.1", r));
    try {
      await createMetricTable(t.db, "slack_down");
      if (t.dataDir) await t.db.close();
      const cfg = join(dir(), "slack-down.yaml");
      const api = `http://127.0.0.1:${(slack.address() as AddressInfo).port}/api/`;
      await writeFile(
        cfg,
        configYaml("slack_down").replace(
          "channels:\n  out: {type: console}",
          `slack: {token: xoxb-1, app_token: xapp-1, api_url: "${api}"}\nchannels:\n  out: {type: console}\n  team: {type: slack, channel: C1}`,
        ),
      );
      const port = await freePort();
      const env = { VIGIL_PORT: String(port), ...subprocessEnv(t) };
      const child = startCli(["run", "-c", cfg], env);
      await until(() => opens >= 2, "a retried apps.connections.open");
      child.kill("SIGTERM");
      // it stayed up for many minutes, until the Web API client's retries ran out
      const r = await waitExit(child);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain("vigil stopped");
    } finally {
      slack.close();
      await t.close();
    }
  });

  it("validate reports problems as FILE:LINE:COL and exits 2", async () => {
    const cfg = join(dir(), "bad.yaml");
    await writeFile(cfg, configYaml("checkouts").replace("severity: critical", "severity: catastrophic"));
    const r = await runCli(["validate", "-c", cfg]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${cfg.replace(/[/.]/g, "\\$&")}:14:15: metrics\\[0\\]\\.severity`));
  });
});

describe("daemon in process", () => {
  let t: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    t = await openTestDatabase();
    dir = await mkdtemp(join(tmpdir(), "vigil-reload-"));
  });
  afterAll(async () => {
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("a graceful stop stores the watermarks that quiet ticks judged but had not stored yet", async () => {
    const MIN5 = 300_000;
    const t0 = Math.floor(Date.UTC(2026, 2, 2) / HOUR) * HOUR;
    const rnd = noise(5);
    const rows: Row[] = [];
    for (let b = 0; b < 2 * 288; b++) rows.push({ ts: t0 + b * MIN5 + 1000, series: "s", v: 100 + rnd() * 4 });
    await createMetricTable(t.db, "quiet_t");
    await insertRows(t.db, "quiet_t", rows);
    const cfg = join(dir, "quiet.yaml");
    await writeFile(
      cfg,
      configYaml("quiet_t").replace("granularity: 1h, split_by: [series]", "granularity: 5m").replace("lookback: 4d", "lookback: 1d"),
    );
    const clock = new ManualClock(t0 + 36 * HOUR);
    const start = () => leadingDaemon(cfg, t.db, t.db, clock);
    const stored = async (d: Daemon) => Math.max(...(await d.store.watermarks("checkout_rate")).values());
    const daemon = await start();
    await daemon.tickOnce();
    for (let k = 0; k < 4; k++) {
      clock.advance(MIN5);
      await daemon.tickOnce();
    }
    const judged = Math.floor(clock.now() / MIN5) * MIN5 - MIN5;
    // quiet ticks store their watermark once an hour: the last ones are judged, not stored yet...
    expect(await stored(daemon)).toBeLessThan(judged);
    // ...until the stop
    await daemon.stop();
    const again = await start();
    try {
      expect(await stored(again)).toBe(judged);
      expect(await again.store.listAlerts()).toEqual([]);
    } finally {
      await again.stop();
    }
  });

  it("hot reload: a valid edit is swapped in, a bad edit keeps the old config and raises a config meta-alert", async () => {
    await createMetricTable(t.db, "reload_t");
    await insertRows(t.db, "reload_t", recentRows(false));
    const cfg = join(dir, "vigil.yaml");
    await writeFile(cfg, configYaml("reload_t"));
    const scheduler = new ManualScheduler(silentLogger());
    const daemon = await Daemon.create({
      configPath: cfg,
      metricsDb: t.db,
      stateDb: t.db,
      log: silentLogger(),
      http: false,
      scheduler: () => scheduler,
      stdout: { write: () => true } as unknown as NodeJS.WritableStream,
    });
    await daemon.start();
    await daemon.whenLeading();
    try {
      expect(scheduler.jobs()).toEqual(["*/1 * * * * @ UTC", "retention @ UTC"]);
      // bad edit
      await writeFile(cfg, configYaml("reload_t").replace("granularity: 1h", "granularity: [1h"));
      const meta = await until(
        async () => (await daemon.store.openAlerts()).find((a) => a.kind === "meta" && a.detector === "config"),
        "config meta-alert",
      );
      expect(meta!.reason).toMatch(/vigil\.yaml:\d+:\d+/);
      expect(daemon.getConfig().metrics.map((m) => m.name)).toEqual(["checkout_rate"]);
      expect(await scheduler.fire()).toBe(true); // still ticking on the old config
      // valid edit: a second metric on another schedule
      await writeFile(
        cfg,
        configYaml(
          "reload_t",
          `  - name: second
    schedule: "*/2 * * * *"
    source: {table: reload_t, time_column: ts, value: max(v), granularity: 1h}
`,
        ),
      );
      await until(() => daemon.getConfig().metrics.length === 2, "reload");
      expect(scheduler.jobs().sort()).toEqual(["*/1 * * * * @ UTC", "*/2 * * * * @ UTC", "retention @ UTC"]);
      await until(
        async () => (await daemon.store.listAlerts()).some((a) => a.detector === "config" && a.state === "resolved"),
        "config meta-alert resolved",
      );
      const text = await daemon.metrics.registry.getSingleMetricAsString("vigil_config_reloads_total");
      expect(text).toMatch(/outcome="invalid"} 1/);
      expect(text).toMatch(/outcome="success"} 1/);
    } finally {
      await daemon.stop();
    }
  });

  it("reload: database and http edits are not claimed as applied; a config meta-alert says they need a restart", async () => {
    await createMetricTable(t.db, "reload_r");
    const cfg = join(dir, "vigil.yaml");
    await writeFile(cfg, configYaml("reload_r"));
    const daemon = await Daemon.create({
      configPath: cfg,
      metricsDb: t.db,
      stateDb: t.db,
      log: silentLogger(),
      http: false,
      scheduler: () => new ManualScheduler(silentLogger()),
      stdout: { write: () => true } as unknown as NodeJS.WritableStream,
    });
    await daemon.start();
    await daemon.whenLeading();
    try {
      const before = daemon.getConfig();
      const edited = configYaml(
        "reload_r",
        "  - name: second\n    source: {table: reload_r, time_column: ts, value: max(v), granularity: 1h}\n",
      )
        .replace('database: {url: "${DATABASE_URL:-}"}', 'database: {url: "postgres://elsewhere.invalid/db"}')
        .replace("host: 127.0.0.1", "host: 0.0.0.0");
      await writeFile(cfg, edited);
      const meta = await until(
        async () => (await daemon.store.openAlerts()).find((a) => a.kind === "meta" && a.detector === "config"),
        "config meta-alert",
      );
      expect(meta!.reason).toBe(
        "the edited database and http settings take effect only when vigil restarts; it is still using the old ones (the rest of the edit is applied)",
      );
      expect(daemon.getConfig().metrics.map((m) => m.name)).toEqual(["checkout_rate", "second"]);
      expect(daemon.getConfig().database).toEqual(before.database);
      expect(daemon.getConfig().http).toEqual(before.http);
      // put them back: nothing is pending any more
      await writeFile(cfg, configYaml("reload_r"));
      await until(
        async () => (await daemon.store.listAlerts()).some((a) => a.detector === "config" && a.state === "resolved"),
        "config meta-alert resolved",
      );
    } finally {
      await daemon.stop();
    }
  });

  it("a tick never waits for the outbox: with the webhook hanging, the tick returns and the next one runs", async () => {
    await clearOfHourEnd();
    await createMetricTable(t.db, "slow_hook");
    await insertRows(t.db, "slow_hook", recentRows(true));
    const hook = await new WebhookReceiver().start();
    hook.script.push({ kind: "hang" });
    const cfg = join(dir, "vigil.yaml");
    await writeFile(
      cfg,
      configYaml("slow_hook")
        .replace("  out: {type: console}", `  out: {type: console}\n  hook: {type: webhook, url: "${hook.url}"}`)
        .replace("notify: [out]", "notify: [hook]")
        // a name of its own: earlier tests of this file leave checkout_rate's alerts open in the shared state schema
        .replace("name: checkout_rate", "name: slow_hook_rate"),
    );
    const scheduler = new ManualScheduler(silentLogger());
    const daemon = await Daemon.create({
      configPath: cfg,
      metricsDb: t.db,
      stateDb: t.db,
      log: silentLogger(),
      http: false,
      scheduler: () => scheduler,
      stdout: { write: () => true } as unknown as NodeJS.WritableStream,
      // the hanging call is not cut during the test: a tick that waited for it would never return
      httpTimeoutMs: 3_600_000,
    });
    await daemon.start();
    await daemon.whenLeading();
    try {
      expect(await scheduler.fire("*/1 * * * * @ UTC")).toBe(true);
      await until(() => hook.attempts === 1, "the alert's delivery attempt");
      // the tick is over while its alert's delivery still hangs, and the next tick is not skipped
      expect(hook.hanging).toBe(1);
      expect(await scheduler.fire("*/1 * * * * @ UTC")).toBe(true);
      expect(hook.hanging).toBe(1);
      expect(await daemon.store.queueDepth()).toBe(1);
    } finally {
      await daemon.stop();
      await hook.close();
    }
  });

  it.skipIf(!TEST_DATABASE_URL)(
    "a metric query that hangs is cancelled at its query_timeout; /healthz answers within 1 s meanwhile and the other metric alerts",
    async () => {
      await clearOfHourEnd();
      await createMetricTable(t.db, "hang_ok");
      await insertRows(t.db, "hang_ok", recentRows(true));
      await t.db.exec("CREATE VIEW hang_view AS SELECT h.* FROM hang_ok h, pg_sleep(60)");
      const cfg = join(dir, "vigil.yaml");
      await writeFile(
        cfg,
        configYaml(
          "hang_ok",
          "  - name: hanging\n    query_timeout: 3s\n    source: {table: hang_view, time_column: ts, value: sum(v), granularity: 1h}\n",
        )
          .replace("name: checkout_rate", "name: hang_neighbour")
          .replace('port: "${VIGIL_PORT:-0}"', "port: 0"),
      );
      const scheduler = new ManualScheduler(silentLogger());
      const daemon = await Daemon.create({
        configPath: cfg,
        metricsDb: t.db,
        stateDb: t.db,
        log: silentLogger(),
        scheduler: () => scheduler,
        stdout: { write: () => true } as unknown as NodeJS.WritableStream,
      });
      await daemon.start();
      await daemon.whenLeading();
      try {
        let done = false;
        const tick = scheduler.fire("*/1 * * * * @ UTC").then(() => (done = true));
        const slowest: number[] = [];
        while (!done) {
          const t0 = performance.now();
          expect((await fetch(`http://127.0.0.1:${daemon.httpPort}/healthz`)).status).toBe(200);
          slowest.push(performance.now() - t0);
          await new Promise((r) => setTimeout(r, 100));
        }
        await tick;
        expect(Math.max(...slowest)).toBeLessThan(1000);
        const open = await daemon.store.openAlerts();
        expect(open.find((a) => a.kind === "meta" && a.detector === "source")?.reason).toMatch(
          /hanging.*ran longer than its query_timeout \(3s\)/s,
        );
        expect(open.some((a) => a.metric === "hang_neighbour" && a.series === "series=b")).toBe(true);
      } finally {
        await daemon.stop();
      }
    },
  );

  it("a run still going when the next is due is skipped, never overlapped", async () => {
    const scheduler = new ManualScheduler(silentLogger());
    let release!: () => void;
    let runs = 0;
    scheduler.schedule({
      name: "slow",
      cron: "* * * * *",
      timezone: "UTC",
      run: () =>
        new Promise<void>((r) => {
          runs++;
          release = r;
        }),
    });
    const first = scheduler.guard.fire({ name: "slow", cron: "", timezone: "UTC", run: async () => {} });
    expect(first).toBe(true);
    expect(scheduler.guard.fire({ name: "slow", cron: "", timezone: "UTC", run: async () => {} })).toBe(false);
    await scheduler.guard.idle();
    const p = scheduler.fire("slow");
    expect(runs).toBe(1);
    expect(scheduler.guard.fire({ name: "slow", cron: "", timezone: "UTC", run: async () => {} })).toBe(false);
    release();
    await p;
    expect(runs).toBe(1);
  });
});

describe.runIf(TEST_DATABASE_URL)("database outage under a running daemon (real PostgreSQL)", () => {
  it("logs, raises a source meta-alert, keeps running, and recovers by itself", async () => {
    const t = await openTestDatabase();
    const proxy = new TcpProxy("127.0.0.1", 5432);
    const port = await proxy.start();
    const url = new URL(t.url!);
    url.host = `127.0.0.1:${port}`;
    const metricsDb = new PgDatabase({ url: url.toString(), connectTimeoutMs: 2000 });
    try {
      await createMetricTable(t.db, "outage_t");
      await insertRows(t.db, "outage_t", recentRows(false));
      const dir = await mkdtemp(join(tmpdir(), "vigil-outage-"));
      const cfg = join(dir, "vigil.yaml");
      await writeFile(cfg, configYaml("outage_t"));
      const clock = new ManualClock(Date.now());
      const daemon = await leadingDaemon(cfg, metricsDb, t.db, clock);
      const ok = await daemon.tickOnce();
      expect(ok.failed).toEqual([]);
      await proxy.stop(); // the metrics database goes away
      clock.advance(HOUR);
      const down = await daemon.tickOnce();
      expect(down.failed).toEqual(["checkout_rate"]);
      const meta = (await daemon.store.openAlerts()).find((a) => a.detector === "source");
      expect(meta?.state).toBe("firing");
      expect(meta?.reason).toMatch(/query failed/);
      await proxy.start(port); // and comes back
      clock.advance(HOUR);
      const back = await daemon.tickOnce();
      expect(back.failed).toEqual([]);
      expect((await daemon.store.listAlerts()).find((a) => a.detector === "source")?.state).toBe("resolved");
      await daemon.stop();
      await rm(dir, { recursive: true, force: true });
    } finally {
      await metricsDb.close();
      await proxy.stop();
      await t.close();
    }
  });
});
