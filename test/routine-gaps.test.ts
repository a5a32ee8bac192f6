/**
 * The default ensemble on data with routine gaps, replayed as `vigil backtest` does: nights and
 * weekends without rows raise nothing, a gap where data is normally present does, and a gap never
 * blinds the value views.
 */
import { describe, expect, it } from "vitest";
import { getDetector } from "../detectors/registry.js";
import { runBatch } from "../detectors/types.js";
import { replay } from "../src/cli/backtest/replay.js";
import type { SeriesBatch } from "../src/sources/index.js";
import { HOUR, metric } from "./helpers/config.js";
import { noise } from "./helpers/series.js";

const DAY = 24 * HOUR;
const MON = Date.UTC(2026, 0, 5);

/** Hourly rows 08:00-19:00 on weekdays, none at night or at weekends. */
function officeHours(weeks: number, drop: (t: number) => boolean = () => false): SeriesBatch {
  const rnd = noise(11);
  const points = [];
  for (let t = MON; t < MON + weeks * 7 * DAY; t += HOUR) {
    const dow = Math.floor((t - MON) / DAY) % 7;
    const hour = (t % DAY) / HOUR;
    if (dow >= 5 || hour < 8 || hour >= 20 || drop(t)) continue;
    points.push({ t, v: 200 + 40 * Math.sin(((hour - 8) / 12) * Math.PI) + rnd() * 20 });
  }
  return { key: "", labels: {}, points };
}

/** Daily rows on weekdays only, a slow random walk around 4,000. */
function businessDays(days: number, change: (i: number, v: number) => number = (_, v) => v): SeriesBatch {
  const rnd = noise(3);
  const points = [];
  let level = 4000;
  for (let i = 0; i < days; i++) {
    const t = MON + i * DAY;
    level *= 1 + rnd() * 0.02;
    if (i % 7 >= 5) continue;
    const v = change(i, level);
    if (!Number.isNaN(v)) points.push({ t, v });
  }
  return { key: "", labels: {}, points };
}

describe("routine gaps", () => {
  const hourly = metric({ name: "calls", detectors: [], granularityMs: HOUR, lookbackMs: 14 * DAY });

  it("hourly office-hours data: no missing-data alert at night or at the weekend over six weeks", () => {
    const r = replay(hourly, [officeHours(8)], MON, MON + 8 * 7 * DAY, false, MON + 2 * 7 * DAY);
    expect(r.alerts.filter((a) => a.kind === "missing")).toEqual([]);
    expect(r.alerts.length).toBeLessThanOrEqual(2);
  });

  it("a brand-new series: its first weekend is not judged by its first weekdays, and a weekday outage that week still alerts", () => {
    // judged from its first row: office hours from a Monday, nothing on the weekend, an outage the next Tuesday 10:00-14:00
    const outage = MON + 8 * DAY + 10 * HOUR;
    const r = replay(hourly, [officeHours(2, (t) => t >= outage && t < outage + 4 * HOUR)], MON, MON + 14 * DAY);
    const missing = r.alerts.filter((a) => a.kind === "missing");
    expect(missing.filter((a) => a.firedAt < MON + 7 * DAY)).toEqual([]);
    expect(missing).toHaveLength(1);
    expect(missing[0]!.firedAt).toBeGreaterThanOrEqual(outage);
  });

  it("a four-hour daytime outage alerts, saying data is normally there", () => {
    const outage = MON + 37 * DAY + 10 * HOUR; // a Wednesday, 10:00-14:00
    const r = replay(
      hourly,
      [officeHours(8, (t) => t >= outage && t < outage + 4 * HOUR)],
      MON,
      MON + 8 * 7 * DAY,
      false,
      MON + 2 * 7 * DAY,
    );
    const missing = r.alerts.filter((a) => a.kind === "missing");
    expect(missing).toHaveLength(1);
    expect(missing[0]!.firedAt).toBeGreaterThanOrEqual(outage);
    expect(missing[0]!.firedAt).toBeLessThan(outage + 4 * HOUR);
    expect(missing[0]!.reason).toMatch(/^no data for 2h/);
  });

  it("the same hours empty on one earlier week and then again: still alerts (once is not a routine)", () => {
    const w1 = MON + 23 * DAY + 10 * HOUR;
    const w2 = w1 + 7 * DAY;
    const r = replay(
      hourly,
      [officeHours(8, (t) => (t >= w1 && t < w1 + 4 * HOUR) || (t >= w2 && t < w2 + 4 * HOUR))],
      MON,
      MON + 8 * 7 * DAY,
      false,
      MON + 2 * 7 * DAY,
    );
    expect(r.alerts.filter((a) => a.kind === "missing").map((a) => Math.floor((a.firedAt - MON) / DAY))).toEqual([23, 30]);
  });

  const daily = metric({
    name: "close",
    detectors: [],
    granularityMs: DAY,
    lookbackMs: 120 * DAY,
    source: { table: "t", time_column: "ts", value: "avg(close)", split_by: [], dimensions: [] },
  });

  it("weekday-only daily data: no missing-data alert on weekends over a year", () => {
    const r = replay(daily, [businessDays(364)], MON, MON + 364 * DAY);
    expect(r.alerts.filter((a) => a.kind === "missing")).toEqual([]);
    expect(r.alerts.length).toBeLessThanOrEqual(4);
  });

  it("a one-day holiday alerts nothing; two missing weekdays do", () => {
    const holiday = 7 * 20 + 2; // a Wednesday
    const r = replay(daily, [businessDays(364, (i, v) => (i === holiday ? Number.NaN : v))], MON, MON + 364 * DAY);
    expect(r.alerts.filter((a) => a.kind === "missing")).toEqual([]);
    const out = 7 * 30 + 1;
    const r2 = replay(daily, [businessDays(364, (i, v) => (i === out || i === out + 1 ? Number.NaN : v))], MON, MON + 364 * DAY);
    expect(r2.alerts.filter((a) => a.kind === "missing").map((a) => (a.firedAt - MON) / DAY)).toEqual([out + 1]);
  });

  it("a −40% day right after a weekend alerts (the weekend does not blind the value views)", () => {
    const monday = 7 * 40;
    const r = replay(daily, [businessDays(364, (i, v) => (i === monday ? v * 0.6 : v))], MON, MON + 364 * DAY);
    const hit = r.alerts.find((a) => a.firedAt === MON + monday * DAY);
    expect(hit).toMatchObject({ kind: "value" });
  });

  it("the first value after a gap that alerted is judged with full sensitivity", () => {
    const def = getDetector("ensemble")!;
    const params = def.params.parse({ granularity_ms: DAY, window: 180, history: 180, warmup: 28, refractory: 7, missing_after: 86_400 });
    const s = businessDays(364);
    const points = [];
    const byT = new Map(s.points.map((p) => [p.t, p.v]));
    for (let i = 0; i < 364; i++) if (i % 7 < 5) points.push({ t: MON + i * DAY, v: byT.get(MON + i * DAY) ?? null });
    // two weekdays without data (an outage that alerts), then a day at 60% of the level
    const at = points.findIndex((p) => p.t === MON + 7 * 30 * DAY);
    points[at + 1]!.v = null;
    points[at + 2]!.v = null;
    points[at + 3]!.v = points[at]!.v! * 0.6;
    const verdicts = runBatch(def, params, points);
    expect(verdicts[at + 2]).toMatchObject({ anomaly: true, kind: "missing" });
    expect(verdicts[at + 3]).toMatchObject({ anomaly: true });
    expect(verdicts[at + 3]!.kind).toBeUndefined();
  });
});
