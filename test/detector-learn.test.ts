import { describe, expect, it } from "vitest";
import { allDetectors } from "../detectors/registry.js";
import type { Point } from "../src/model/point.js";

/** Hourly series with a daily cycle, gaps, a NaN, spikes and a level shift. */
function series(n: number): Point[] {
  const out: Point[] = [];
  for (let i = 0; i < n; i++) {
    let v: number | null = 50 + 10 * Math.sin((2 * Math.PI * i) / 24) + ((i * 7919) % 13) / 4;
    if (i % 97 === 0) v += 60;
    if (i > n * 0.7) v += 25;
    if (i % 50 === 7) v = null;
    if (i === 333) v = Number.NaN;
    out.push({ t: Date.UTC(2026, 0, 1) + i * 3_600_000, v });
  }
  return out;
}

describe("learn (a history load's form of step)", () => {
  const withLearn = allDetectors().filter((d) => d.learn !== undefined);

  it("the default ensemble has one", () => {
    expect(withLearn.map((d) => d.type)).toContain("ensemble");
  });

  for (const d of withLearn) {
    it(`${d.type}: learning the first points gives the same verdicts afterwards as stepping them`, () => {
      const params = d.params.parse({});
      const points = series(1500);
      for (const k of [0, 1, 200, 999]) {
        const a = d.init(params);
        const b = d.init(params);
        for (let i = 0; i < k; i++) {
          d.step(a, points[i]!, params);
          d.learn!(b, points[i]!.t, points[i]!.v ?? Number.NaN, params);
        }
        for (let i = k; i < points.length; i++) expect(d.step(b, points[i]!, params)).toEqual(d.step(a, points[i]!, params));
      }
    });
  }
});
