/**
 * `tune` reads the alerts it replays (missing data vs value), proposes the config key that fixes
 * them, and shows the replay with it: pure replays over made-up series, then the command line.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readCsv } from "../bench/corpus/corpus.js";
import { tune } from "../src/cli/backtest/tune.js";
import type { StructuredSource } from "../src/config/types.js";
import type { SeriesBatch } from "../src/sources/index.js";
import { runCli } from "./helpers/cli.js";
import { DAY, HOUR, metric } from "./helpers/config.js";
import { openSubprocessDatabase } from "./helpers/db.js";
import { createMetricTable, insertRows, noise } from "./helpers/series.js";

const MON = Date.UTC(2026, 0, 5);
const avg: StructuredSource = { table: "t", time_column: "ts", value: "avg(v)", split_by: [], dimensions: [] };

/** Hourly, around the clock; weekends had rows in the first two weeks only (a job since stopped). */
function weekendsStop(weeks: number): SeriesBatch {
  const rnd = noise(3);
  const points = [];
  for (let t = MON; t < MON + weeks * 7 * DAY; t += HOUR) {
    const weekend = Math.floor((t - MON) / DAY) % 7 >= 5;
    if (weekend && t >= MON + 14 * DAY) continue;
    points.push({ t, v: 100 + rnd() * 10 });
  }
  return { key: "", labels: {}, points };
}

describe("tune's advice", () => {
  it("missing-data alerts on weekends: proposes calendar: weekdays, and the replay with it has none", () => {
    const m = metric({ name: "m", detectors: [{ type: "ensemble", missing_after: "1m" }], lookbackMs: 14 * DAY, source: avg });
    const t = tune(m, [weekendsStop(7)], MON, MON + 7 * 7 * DAY, 1, MON + 14 * DAY);
    expect(t.before.missing).toBeGreaterThanOrEqual(2);
    expect(t.before.value).toBe(0);
    expect(t.fixes[0]).toMatchObject({ key: "calendar", yaml: ["calendar: weekdays"], accepted: true, after: { missing: 0 } });
    expect(t.fixes[0]!.why).toMatch(/sat, sun \(UTC\)/);
    expect(t.proposal.yaml[0]).toBe("calendar: weekdays");
    expect(t.proposal.after.missing).toBe(0);
    expect(t.proposal.fits).toBe(true);
  });

  it("missing-data alerts on a count with fill: none: proposes fill: zero", () => {
    const rnd = noise(5);
    const points = [];
    // a few signups an hour; a fifth of the hours have none, and then the source returns no row
    for (let t = MON; t < MON + 6 * 7 * DAY; t += HOUR) {
      if (rnd() + 0.5 < 0.2) continue;
      const n = 1 + Math.floor((rnd() + 0.5) * 4);
      points.push({ t, v: n, n });
    }
    const m = metric({
      name: "signups",
      detectors: [],
      lookbackMs: 14 * DAY,
      fill: "none",
      rowCounts: true,
      source: { ...avg, value: "count(*)" },
    });
    const t = tune(m, [{ key: "", labels: {}, points }], MON, MON + 6 * 7 * DAY, 1, MON + 14 * DAY);
    expect(t.before.missing).toBeGreaterThan(5);
    const fill = t.fixes.find((f) => f.key === "fill");
    expect(fill).toMatchObject({ yaml: ["fill: zero"], accepted: true });
    expect(fill!.after.missing).toBe(0);
    expect(t.proposal.yaml).toContain("fill: zero");
  });

  it("missing-data alerts on public holidays of the timezone's country: proposes holidays: {country: DE}", () => {
    const from = Date.UTC(2025, 10, 30, 23); // 2025-12-01 00:00 in Berlin
    const rnd = noise(3);
    const points = [];
    for (let t = from; t < from + 63 * DAY; t += HOUR) {
      const berlinDate = new Date(t + HOUR).toISOString().slice(0, 10);
      if (["2025-12-25", "2025-12-26", "2026-01-01"].includes(berlinDate)) continue;
      points.push({ t, v: 100 + rnd() * 10 });
    }
    const m = metric({ name: "m", detectors: [], timezone: "Europe/Berlin", lookbackMs: 14 * DAY, source: avg });
    const t = tune(m, [{ key: "", labels: {}, points }], from, from + 63 * DAY, 1, from + 14 * DAY);
    expect(t.before.missing).toBeGreaterThan(0);
    expect(t.fixes.find((f) => f.key === "calendar")).toBeUndefined();
    expect(t.fixes.find((f) => f.key === "holidays")).toMatchObject({
      yaml: ["holidays: {country: DE}"],
      accepted: true,
      after: { missing: 0 },
    });
  });

  it("value alerts on public holidays (real hourly DC bike rentals, the operator's own holiday list empty): proposes holidays: {country: US}, and the replay with it has fewer", () => {
    // Washington DC bike rentals 2011-2012 (bench/corpus), a metrics table: one row an hour
    const { rows } = readCsv("dc-bikes.csv.gz");
    const points = rows.map((r) => ({ t: Date.parse(r[0]!), v: Number(r[1]), n: 1 }));
    const from = Date.parse("2011-01-01T05:00:00Z");
    const to = Date.parse("2012-12-31T05:00:00Z");
    const implied = metric({
      name: "rentals",
      detectors: [],
      timezone: "America/New_York",
      lookbackMs: 56 * DAY,
      fill: "zero",
      rowCounts: true,
      source: { ...avg, value: "sum(cnt)" },
    });
    const tuneOf = (x: typeof implied) => tune(x, [{ key: "", labels: {}, points }], from, to, 0.2, Date.parse("2011-03-01T05:00:00Z"));
    // the timezone implies US holidays: a holiday morning is no seasonal alert, and there is nothing to propose
    expect(tuneOf(implied).fixes.find((f) => f.key === "holidays")).toBeUndefined();
    // `holidays: []` names none, so nothing is implied
    const m = { ...implied, calendar: { days: [0, 1, 2, 3, 4, 5, 6], hours: null, holidays: { dates: [] } } };
    const t = tuneOf(m);
    const fix = t.fixes.find((f) => f.key === "holidays");
    expect(fix).toMatchObject({ yaml: ["holidays: {country: US}"], accepted: true });
    // Memorial Day, Independence Day, the days after Christmas and New Year...
    expect(fix!.why).toMatch(/^\d+ of the \d+ days with value alerts are public holidays in US \(2011-05-30, 2011-07-04/);
    expect(fix!.after.value).toBeLessThan(fix!.before.value);
    expect(t.proposal.yaml).toContain("holidays: {country: US}");
  });

  it("short isolated gaps: proposes a longer missing_after on the detector", () => {
    const rnd = noise(4);
    const points = [];
    const gaps = [400, 600, 777, 900];
    for (let i = 0; i < 42 * 24; i++) if (!gaps.some((g) => i >= g && i < g + 2)) points.push({ t: MON + i * HOUR, v: 100 + rnd() * 10 });
    const m = metric({ name: "m", detectors: [], lookbackMs: 14 * DAY, source: avg });
    const t = tune(m, [{ key: "", labels: {}, points }], MON, MON + 42 * DAY, 1, MON + 14 * DAY);
    expect(t.before.missing).toBe(4);
    expect(t.fixes[0]).toMatchObject({
      key: "missing_after",
      yaml: ["detectors: [ { type: ensemble, missing_after: 2h } ]"],
      accepted: true,
      after: { missing: 0 },
    });
    expect(t.proposal.yaml.filter((l) => l.startsWith("detectors:"))).toHaveLength(1);
    expect(t.proposal.yaml.at(-1)).toMatch(/missing_after: 2h/);
  });

  it("value alerts on buckets backed by few rows: proposes min_rows just above them", () => {
    const rnd = noise(5);
    const points = [];
    for (let i = 0; i < 42 * 24; i++) {
      const thin = i > 14 * 24 && i % 50 === 0;
      points.push({ t: MON + i * HOUR, v: thin ? 200 + rnd() * 40 : 100 + rnd() * 10, n: thin ? 30 : 100 + Math.round(rnd() * 10) });
    }
    const m = metric({ name: "m", detectors: [], lookbackMs: 14 * DAY, rowCounts: true, source: avg });
    const t = tune(m, [{ key: "", labels: {}, points }], MON, MON + 42 * DAY, 1, MON + 14 * DAY);
    expect(t.before.value).toBeGreaterThan(0);
    expect(t.fixes.find((f) => f.key === "min_rows")).toMatchObject({ yaml: ["min_rows: 31"], accepted: true, after: { value: 0 } });
  });

  it("data without structure in its alerts: no fix, the sensitivity alone, as before", () => {
    const rnd = noise(6);
    const points = Array.from({ length: 14 * 24 }, (_, h) => ({
      t: MON + h * HOUR,
      v: [60, 130, 200, 270].includes(h) ? 300 : 100 + rnd() * 10,
    }));
    const t = tune(metric({ name: "m", detectors: [] }), [{ key: "", labels: {}, points }], MON, MON + 14 * DAY, 0.5);
    expect(t.fixes).toEqual([]);
    expect(t.param).toBe("novelty");
  });

  it("says when nothing fits: level shifts every day are more alerts than a budget of 0 at any sensitivity", () => {
    const points = Array.from({ length: 21 * 24 }, (_, h) => ({ t: MON + h * HOUR, v: 100 * 3 ** Math.floor(h / 24) }));
    const t = tune(
      metric({ name: "m", detectors: [{ type: "zscore", window: 48, k: 3, min_points: 24 }] }),
      [{ key: "", labels: {}, points }],
      MON,
      MON + 21 * DAY,
      0,
    );
    expect(t.best).toBeNull();
    expect(t.proposal.fits).toBe(false);
    expect(t.proposal.after.alerts).toBeGreaterThan(0);
  });

  it("vigil tune prints the fix, before → after by kind, and the lines to add; --json says the same", async () => {
    const db = await openSubprocessDatabase();
    const dir = await mkdtemp(join(tmpdir(), "vigil-tune-"));
    try {
      await createMetricTable(db.db, "jobs");
      await insertRows(
        db.db,
        "jobs",
        weekendsStop(7).points.map((p) => ({ ts: p.t + 1000, v: p.v })),
      );
      if (db.dataDir) await db.db.close();
      const cfg = join(dir, "v.yaml");
      await writeFile(
        cfg,
        `channels: {out: {type: console}}
metrics:
  - name: batch_latency
    source: {table: jobs, time_column: ts, value: avg(v), granularity: 1h}
    lookback: 14d
    detectors: [{type: ensemble, missing_after: 1m}]
    notify: [out]
`,
      );
      const env = db.url ? { DATABASE_URL: db.url } : { VIGIL_DATA_DIR: db.dataDir, DATABASE_URL: "" };
      const args = [
        "tune",
        "-c",
        cfg,
        "--metric",
        "batch_latency",
        "--max-alerts-per-week",
        "1",
        "--from",
        new Date(MON + 14 * DAY).toISOString(),
        "--to",
        new Date(MON + 49 * DAY).toISOString(),
      ];
      const r = await runCli(args, env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^as configured: \d+ alerts \([\d.]+\/week: \d+ missing data, 0 value\)$/m);
      expect(r.stdout).toMatch(
        /^fix: calendar: weekdays\n {2}why: .*sat, sun \(UTC\).*\n {2}\d+ alerts .* → 0 alerts \(0\.0\/week: 0 missing data, 0 value\)$/m,
      );
      expect(r.stdout).toMatch(/^sensitivity, with calendar as above:$/m);
      expect(r.stdout).toMatch(
        /^proposal: calendar: weekdays, novelty = [\d.]+, novelty_point = [\d.]+ \([\d.]+ alerts\/week\); in batch_latency's config:\n {2}calendar: weekdays\n {2}detectors: \[ \{ type: ensemble, .*missing_after: 1m.* \} \]$/m,
      );
      const j = await runCli([...args, "--json"], env);
      expect(j.code, j.stderr).toBe(0);
      const out = JSON.parse(j.stdout) as {
        before: { missing: number };
        fixes: Array<{ key: string; accepted: boolean }>;
        proposal: { yaml: string[]; fits: boolean };
      };
      expect(out.before.missing).toBeGreaterThan(0);
      expect(out.fixes).toMatchObject([{ key: "calendar", accepted: true }]);
      expect(out.proposal).toMatchObject({ fits: true });
      expect(out.proposal.yaml[0]).toBe("calendar: weekdays");
    } finally {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
