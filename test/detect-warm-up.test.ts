/**
 * The detector thread's JIT warm-up: it must take the ensemble through each kind of incident (or it
 * warms nothing up), and must not change a single verdict of the real data.
 */
import { describe, expect, it } from "vitest";
import { ensembleCore } from "../detectors/ensemble-core.js";
import { mutableFields } from "../detectors/stats.js";
import { detachOnce } from "../src/cli/detect/detach.js";
import { resolveDetector } from "../src/cli/detect/detector-params.js";
import { judgeColumns } from "../src/cli/detect/judge-columns.js";
import { warmUp } from "../src/cli/detect/warm-up.js";

const MIN = 60_000;

function columns(n: number): { t: Float64Array; v: Float64Array } {
  const t = new Float64Array(n);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    t[i] = Date.UTC(2024, 0, 1) + i * 5 * MIN;
    v[i] = 50 + 10 * Math.sin(i / 20) + ((i * 7919) % 13) / 4 + (i === 900 ? 80 : 0) + (i > 1400 ? 25 : 0);
  }
  return { t, v };
}

function judge(t: Float64Array, v: Float64Array, params: unknown): { score: Float64Array; flag: Uint8Array } {
  const n = t.length;
  const score = new Float64Array(n);
  const flag = new Uint8Array(n);
  judgeColumns(ensembleCore, ensembleCore.init(params as never), params, t, v, n, score, flag);
  return { score, flag };
}

describe("the detector thread's warm-up", () => {
  it("takes the default ensemble through a spike, a lasting shift, a volatility burst, empty buckets, a gap and a drop", () => {
    const { params } = resolveDetector(undefined, []);
    const flagged = [...warmUp(ensembleCore, params)].flatMap((f, i) => (f ? [i] : []));
    // the incidents of the synthetic series (warm-up.ts): 400, 600, 1100-1111, 1500-1511, 1700, 1900
    for (const [from, to] of [
      [400, 400],
      [600, 611],
      [1100, 1111],
      [1500, 1511],
      [1700, 1700],
      [1900, 1900],
    ] as const) {
      expect(
        flagged.some((i) => i >= from && i <= to),
        `an alert in ${from}-${to}: ${flagged.join(",")}`,
      ).toBe(true);
    }
  });

  it("leaves the verdicts of the real data as they were", () => {
    const { params } = resolveDetector(undefined, []);
    const { t, v } = columns(3000);
    const before = judge(t, v, params);
    warmUp(ensembleCore, params);
    const after = judge(t, v, params);
    expect(after.flag).toEqual(before.flag);
    expect(after.score).toEqual(before.score);
    expect(before.flag.some((f) => f === 1)).toBe(true);
  });
});

describe("V8 helpers", () => {
  it("mutableFields leaves every field as it was", () => {
    const o = { a: 0, b: -0, c: 1, d: Number.NaN, e: true, f: "x", g: [1] };
    const g = o.g;
    mutableFields(o);
    expect(o).toEqual({ a: 0, b: -0, c: 1, d: Number.NaN, e: true, f: "x", g: [1] });
    expect(Object.is(o.b, -0)).toBe(true);
    expect(o.g).toBe(g);
  });

  it("detachOnce leaves later transfers working", () => {
    detachOnce();
    const b = new Float64Array([1, 2]).buffer;
    const moved = structuredClone(b, { transfer: [b] });
    expect(b.byteLength).toBe(0);
    expect([...new Float64Array(moved)]).toEqual([1, 2]);
  });
});
