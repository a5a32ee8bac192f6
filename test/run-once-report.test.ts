/** `vigil run --once` lists every series it judged, healthy ones too, and summarises past a screenful. */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Verdict } from "../detectors/types.js";
import { JudgedCollector, type JudgedSeries, judgedReport } from "../src/cli/judged-series.js";
import type { MetricReport } from "../src/engine/reports.js";
import { runCli } from "./helpers/cli.js";
import { HOUR } from "./helpers/config.js";
import { openSubprocessDatabase, subprocessEnv } from "./helpers/db.js";
import { createMetricTable, insertRows, noise, type Row } from "./helpers/series.js";
import { tempDirFor } from "./helpers/temp-dir.js";

const T0 = Date.UTC(2026, 5, 1, 10);
const verdict = (expected: number, anomaly = false): Verdict => ({
  expected,
  lower: expected - 10,
  upper: expected + 10,
  score: anomaly ? 1 : 0,
  anomaly,
  sigmas: 0,
  reason: "",
});
const report = (metric: string, ok = true): MetricReport => ({ metric, ok, series: 0, points: 0, anomalies: 0, events: [] });
const names = () => ["zscore", "seasonal"];

function series(metric: string, key: string, anomalous: boolean): JudgedSeries {
  return {
    metric,
    series: key,
    buckets: 1,
    anomalousBuckets: anomalous ? 1 : 0,
    t: T0,
    value: anomalous ? 500 : 100,
    expected: 100,
    anomalousBy: anomalous ? [1] : [],
  };
}

describe("the run --once report", () => {
  it("keeps the anomalous bucket of a series on show when a later one is healthy", () => {
    const c = new JudgedCollector();
    c.onJudged("orders", "shop=a", { t: T0, v: 500 }, [verdict(100), verdict(110, true)], [false, true]);
    c.onJudged("orders", "shop=a", { t: T0 + HOUR, v: 101 }, [verdict(100), verdict(100)], [false, false]);
    c.onJudged("orders", "shop=b", { t: T0, v: 99 }, [verdict(100), verdict(100)], [false, false]);
    const [a, b] = c.list();
    expect(a).toEqual({
      metric: "orders",
      series: "shop=a",
      buckets: 2,
      anomalousBuckets: 1,
      t: T0,
      value: 500,
      expected: 110,
      anomalousBy: [1],
    });
    expect(b).toMatchObject({ series: "shop=b", buckets: 1, anomalousBuckets: 0, value: 99, expected: 100 });
    const text = judgedReport(c.list(), [report("orders"), report("signups"), report("broken", false)], { detectorsOf: names });
    expect(text.split("\n")).toEqual([
      "METRIC   SERIES  BUCKET                VALUE  EXPECTED  VERDICT",
      "orders   shop=a  2026-06-01T10:00:00Z  500    110       ANOMALOUS: seasonal (1 of 2 buckets)",
      "orders   shop=b  2026-06-01T10:00:00Z  99     100       ok",
      "signups  -       -                     -      -         nothing judged: no bucket closed since the last run, or it had no rows",
      "2 series judged: 1 anomalous, 1 ok; 1 metric with nothing to judge",
    ]);
  });

  it("past a screenful lists only the anomalous series and counts the healthy ones", () => {
    const judged = Array.from({ length: 45 }, (_, i) => series("orders", `shop=${String(i).padStart(2, "0")}`, i === 7 || i === 30));
    const lines = judgedReport(judged, [report("orders")], { detectorsOf: names }).split("\n");
    expect(lines).toHaveLength(4);
    expect(lines[1]).toMatch(/^orders\s+shop=07\s+.*ANOMALOUS: seasonal$/);
    expect(lines[2]).toMatch(/^orders\s+shop=30\s+/);
    expect(lines[3]).toBe("45 series judged: 2 anomalous, 43 ok (not listed: more than 40 lines)");
    const storm = judged.map((s) => ({ ...s, anomalousBuckets: 1, anomalousBy: [0] }));
    const stormLines = judgedReport(storm, [], { detectorsOf: names, screenful: 10 }).split("\n");
    expect(stormLines).toHaveLength(12);
    expect(stormLines[11]).toBe("45 series judged: 45 anomalous (the first 10 listed), 0 ok (not listed: more than 10 lines)");
  });
});

describe("vigil run --once (subprocess)", () => {
  const dir = tempDirFor("vigil-once-report-");

  it("prints one line per series judged, healthy or not", async () => {
    const t = await openSubprocessDatabase();
    try {
      // Two series hourly up to the current hour, "b" spiking in the last two: whether or not
      // the hour turns before the run, the bucket it judges is a spike for "b".
      const nowHour = Math.floor(Date.now() / HOUR) * HOUR;
      const rnd = noise(3);
      const rows: Row[] = [];
      for (let h = 96; h >= 0; h--) {
        for (const s of ["a", "b"])
          rows.push({ ts: nowHour - h * HOUR + 120_000, series: s, v: s === "b" && h <= 1 ? 1000 : 100 + rnd() * 8 });
      }
      await createMetricTable(t.db, "checkouts");
      await insertRows(t.db, "checkouts", rows);
      if (t.dataDir) await t.db.close();
      const cfg = join(dir(), "once.yaml");
      await writeFile(
        cfg,
        `channels: {out: {type: console}}
defaults: {notify: [out]}
metrics:
  - name: checkout_rate
    source: {table: checkouts, time_column: ts, value: sum(v), granularity: 1h, split_by: [series]}
    lookback: 4d
    detectors: [{type: zscore, window: 48, k: 4, min_points: 24}]
`,
      );
      const env = subprocessEnv(t);
      const r = await runCli(["run", "--once", "-c", cfg], env, 300_000);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^METRIC\s+SERIES\s+BUCKET\s+VALUE\s+EXPECTED\s+VERDICT$/m);
      expect(r.stdout).toMatch(/^checkout_rate\s+series=a\s+\S+Z\s+\d+(\.\d+)?\s+\d+(\.\d+)?\s+ok$/m);
      expect(r.stdout).toMatch(/^checkout_rate\s+series=b\s+\S+Z\s+1,000\s+\d+(\.\d+)?\s+ANOMALOUS: zscore$/m);
      expect(r.stdout).toContain("2 series judged: 1 anomalous, 1 ok\n");
    } finally {
      await t.close();
    }
  }, 600_000);

  it("a setting that stops the daemon from starting (VIGIL_SHARDS=abc) exits with its message instead of hanging", async () => {
    const t = await openSubprocessDatabase();
    try {
      await createMetricTable(t.db, "checkouts");
      if (t.dataDir) await t.db.close();
      const cfg = join(dir(), "bad-env.yaml");
      await writeFile(cfg, "metrics:\n  - name: m\n    source: {table: checkouts, time_column: ts, value: sum(v), granularity: 1h}\n");
      const env = subprocessEnv(t);
      // before, the pool it had opened kept the process alive for half a minute after "cannot start"
      // (PostgreSQL: 31 s; now under 2 s); the embedded database's exit is slower to start, so only bounded
      const r = await runCli(["run", "--once", "-c", cfg], { ...env, VIGIL_SHARDS: "abc" }, t.url ? 15_000 : 60_000);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("VIGIL_SHARDS must be a whole number from 1 to 1024, got abc");
    } finally {
      await t.close();
    }
  }, 120_000);
});
