/** Seasonal slots follow the wall clock of the config's zone, so DST does not move a daily pattern. */
import { describe, expect, it } from "vitest";
import { localMs } from "../detectors/local-time.js";
import { getDetector } from "../detectors/registry.js";
import { runBatch } from "../detectors/types.js";
import type { Point } from "../src/model/point.js";

const HOUR = 3_600_000;
const DST = Date.parse("2026-03-29T01:00:00Z"); // Berlin: 02:00 CET becomes 03:00 CEST

/** Hourly, 100 at night and 300 from 09:00 to 17:00 Berlin time, with a little deterministic noise. */
function officeHours(from: string, to: string): Point[] {
  const out: Point[] = [];
  for (let t = Date.parse(from); t < Date.parse(to); t += HOUR) {
    const hour = new Date(localMs(t, "Europe/Berlin")).getUTCHours();
    const noise = ((t / HOUR) * 7919) % 11;
    out.push({ t, v: (hour >= 9 && hour < 17 ? 300 : 100) + noise });
  }
  return out;
}

function anomaliesAfterDst(type: string, params: Record<string, unknown>, points: readonly Point[]): number {
  const def = getDetector(type)!;
  const verdicts = runBatch(def, def.params.parse({ granularity_ms: HOUR, ...params }), points);
  return points.filter((p, i) => p.t >= DST && verdicts[i]?.anomaly).length;
}

describe("seasonal slots in local time", () => {
  const points = officeHours("2026-02-08T00:00:00Z", "2026-04-12T00:00:00Z");

  it("the default ensemble sees no anomaly at the March DST change in Europe/Berlin, where UTC slots would", () => {
    expect(anomaliesAfterDst("ensemble", { timezone: "Europe/Berlin" }, points)).toBe(0);
    expect(anomaliesAfterDst("ensemble", {}, points)).toBeGreaterThan(0);
  });

  it("the seasonal detector does the same", () => {
    expect(anomaliesAfterDst("seasonal", { period: "1d", timezone: "Europe/Berlin" }, points)).toBe(0);
    expect(anomaliesAfterDst("seasonal", { period: "1d" }, points)).toBeGreaterThan(0);
  });

  it("names the slot in local time", () => {
    // a spike at 10:00 Berlin time (08:00Z in summer) after the change
    const spiked = points.map((p) => (p.t === Date.parse("2026-04-08T08:00:00Z") ? { ...p, v: 2000 } : p));
    const def = getDetector("ensemble")!;
    const verdicts = runBatch(def, def.params.parse({ granularity_ms: HOUR, timezone: "Europe/Berlin" }), spiked);
    const i = spiked.findIndex((p) => p.t === Date.parse("2026-04-08T08:00:00Z"));
    expect(verdicts[i]?.anomaly).toBe(true);
    expect(verdicts[i]?.reason).toContain("10:00");
  });

  it("rejects an unknown zone when the parameters are checked", () => {
    expect(getDetector("ensemble")!.params.safeParse({ timezone: "Mars/Olympus" }).success).toBe(false);
  });
});
