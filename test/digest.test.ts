import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../src/clock.js";
import { Daemon } from "../src/daemon.js";
import { dayStart, zonedMidnight } from "../src/digest/zoned-time.js";
import { silentLogger } from "../src/log.js";
import { ManualScheduler } from "../src/scheduler.js";
import { runCli } from "./helpers/cli.js";
import { openSubprocessDatabase, subprocessEnv, type TestDatabase } from "./helpers/db.js";

const HOUR = 3_600_000;

describe("zoned days", () => {
  it("finds local midnight across DST changes", () => {
    // Berlin: CET (+1) in winter, CEST (+2) from 29 Mar 2026 02:00
    expect(new Date(zonedMidnight(2026, 3, 28, "Europe/Berlin")).toISOString()).toBe("2026-03-27T23:00:00.000Z");
    expect(new Date(zonedMidnight(2026, 3, 30, "Europe/Berlin")).toISOString()).toBe("2026-03-29T22:00:00.000Z");
    const now = Date.parse("2026-03-30T07:00:00Z"); // 09:00 in Berlin
    expect(new Date(dayStart(now, "Europe/Berlin", 1)).toISOString()).toBe("2026-03-28T23:00:00.000Z"); // the 23-hour day
    expect(dayStart(now, "Europe/Berlin", 0) - dayStart(now, "Europe/Berlin", 1)).toBe(23 * HOUR);
    expect(new Date(dayStart(now, "America/Los_Angeles", 1)).toISOString()).toBe("2026-03-29T07:00:00.000Z"); // 00:00 PDT on the 30th: yesterday is the 29th
  });
});

describe("daily digest", () => {
  let t: TestDatabase;
  let dir: string;
  let cfg: string;
  // "now" is 09:00 Berlin on Wed 11 Mar 2026: yesterday = Tue 10 Mar (local), last week = Tue 3 Mar
  const now = Date.parse("2026-03-11T08:00:00Z");
  beforeAll(async () => {
    t = await openSubprocessDatabase();
    dir = await mkdtemp(join(tmpdir(), "vigil-digest-"));
    // one row per hour for 12 days, value 10 per row; Tue 10 Mar (local) has value 12; Tue 3 Mar has 8
    await t.db.exec(`
      CREATE TABLE visits (ts timestamptz NOT NULL, user_id int, country text);
      INSERT INTO visits
        SELECT ts, u, 'DE'
        FROM generate_series(TIMESTAMPTZ '2026-02-28 23:00:00+00', TIMESTAMPTZ '2026-03-11 07:00:00+00', interval '1 hour') AS ts,
             generate_series(1, CASE
               WHEN ts >= TIMESTAMPTZ '2026-03-09 23:00:00+00' AND ts < TIMESTAMPTZ '2026-03-10 23:00:00+00' THEN 12
               WHEN ts >= TIMESTAMPTZ '2026-03-02 23:00:00+00' AND ts < TIMESTAMPTZ '2026-03-03 23:00:00+00' THEN 8
               ELSE 10 END) AS u;
    `);
    cfg = join(dir, "v.yaml");
    await writeFile(
      cfg,
      `timezone: Europe/Berlin
channels: {out: {type: console}}
defaults: {notify: [out]}
metrics:
  - name: visits
    source: {table: visits, time_column: ts, value: count(*), granularity: 1h}
  - name: visitors
    source: {table: visits, time_column: ts, value: count(DISTINCT user_id), granularity: 1h}
digest:
  - {schedule: "0 9 * * *", notify: [out], metrics: [visits, visitors], experiments: false}
`,
    );
  });
  afterAll(async () => {
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("reports yesterday in the config's timezone, d/d and w/w, exact for distinct counts, with a chart; scheduled once per day", async () => {
    const out: string[] = [];
    const scheduler = new ManualScheduler(silentLogger());
    const daemon = await Daemon.create({
      configPath: cfg,
      metricsDb: t.db,
      stateDb: t.db,
      clock: new ManualClock(now),
      log: silentLogger(),
      http: false,
      watch: false,
      scheduler: () => scheduler,
      stdout: { write: (s: string) => out.push(s) > 0 } as unknown as NodeJS.WritableStream,
    });
    await daemon.start();
    await daemon.whenLeading();
    try {
      const job = scheduler.jobs().find((j) => j.startsWith("digest #1"))!;
      expect(job).toBe("digest #1 0 9 * * * @ Europe/Berlin");
      await scheduler.fire(job);
      await scheduler.fire(job); // a second run the same day (restart, failover) sends nothing new
      const digests = (await daemon.store.deliveries()).filter((d) => d.kind === "digest");
      expect(digests).toHaveLength(1);
      const n = digests[0]!.payload;
      expect(n.type).toBe("text");
      if (n.type !== "text") return;
      expect(n.title).toBe("📊 vigil daily digest — Tue 10 Mar 2026 (Europe/Berlin)");
      // 24 rows × 12 = 288 yesterday; the day before 240 (−16.7% from it: +20.0%); last Tue 192 (+50.0%)
      expect(n.text).toMatch(/visits\s+288\s+\+20\.0%\s+\+50\.0%\s+0/);
      // distinct users: 12 yesterday, 10 the day before, 8 last week — not a sum of hourly counts
      expect(n.text).toMatch(/visitors\s+12\s+\+20\.0%\s+\+50\.0%\s+0/);
      expect(n.text).toContain("Open alerts: none");
      expect(n.panels?.map((p) => p.title)).toEqual(["visits", "visitors"]);
      expect(n.panels![0]!.points.length).toBe(7 * 24);
      expect(out.join("")).toContain("📊 vigil daily digest");
    } finally {
      await daemon.stop();
    }
  });

  it("vigil digest --now sends it immediately", async () => {
    if (t.dataDir) await t.db.close();
    const env = subprocessEnv(t);
    const r = await runCli(["digest", "--now", "-c", cfg], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("📊 vigil daily digest");
    expect(r.stdout).toMatch(/visits\s+\S+/);
    expect((await runCli(["digest", "--now", "--channel", "nope", "-c", cfg], env)).code).toBe(2);
  });
});
