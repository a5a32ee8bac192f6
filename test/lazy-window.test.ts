import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Arena, arenaPlan } from "../detectors/arena.js";
import {
  lazyWindow,
  lwDue,
  lwLowerBound,
  lwPush,
  lwRecenter,
  lwRefresh,
  lwRing,
  lwSorted,
  planLazyWindow,
} from "../detectors/lazy-window.js";
import { lowerBound, madSorted, quantileSorted } from "../detectors/stats.js";

/** The last `cap` values as float32 offsets from `ref`, sorted: what the window must hold after a refresh. */
function expected(values: number[], cap: number, ref: number): number[] {
  return values
    .slice(-cap)
    .map((v) => Math.fround(v - ref))
    .sort((a, b) => a - b);
}

describe("lazy window (float32 offsets from a reference level)", () => {
  it("after a refresh the sorted copy is the ring, sorted, and the ring the last `cap` values up to order within a batch", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 80 }),
        fc.array(
          fc.integer({ min: -1e8, max: 1e8 }).map((i) => i / 64),
          { minLength: 1, maxLength: 400, size: "max" },
        ),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 400 }),
        (cap, values, refreshes) => {
          const batch = 8;
          // the window sits in its owner's arena between other runs (as the ensemble's do), which it must not touch
          const plan = arenaPlan();
          plan.f32 += 6;
          plan.u16 += 6;
          planLazyWindow(plan, cap, batch);
          const a = new Arena(plan);
          const runs = [a.at("f32", 3), a.at("u16", 3)];
          const w = lazyWindow(cap, true, a, batch);
          runs.push(a.at("f32", 3), a.at("u16", 3));
          for (const [k, at] of runs.entries()) (k % 2 === 0 ? a.f32 : a.u16).fill(7, at, at + 3);
          for (let i = 0; i < values.length; i++) {
            lwPush(w, values[i]!);
            if (refreshes[i % refreshes.length] && lwDue(w)) lwRefresh(w);
          }
          lwRefresh(w);
          expect(w.at).toBe(3);
          expect(runs.flatMap((at, k) => Array.from((k % 2 === 0 ? a.f32 : a.u16).subarray(at, at + 3)))).toEqual(Array(12).fill(7));
          expect(w.ref).toBe(values[0]);
          const ring = Array.from(lwRing(w)).sort((a, b) => a - b);
          expect(Array.from(lwSorted(w))).toEqual(ring);
          expect(w.sn).toBe(Math.min(cap, values.length));
          // a refresh writes its batch back sorted, so eviction order within a batch is not arrival order
          const recent = new Set(expected(values, cap + batch, values[0]!));
          for (const v of ring) expect(recent.has(v)).toBe(true);
          if (values.length <= cap) expect(ring).toEqual(expected(values, cap, values[0]!));
        },
      ),
    );
  });

  it("keeps exactly the last `cap` values across the wrap of its 16-bit push stamps", () => {
    // increasing values: sorting a batch does not reorder them, so the window is exactly the last `cap`
    const cap = 100;
    const w = lazyWindow(cap, false);
    for (let i = 0; i < 140_000; i++) {
      lwPush(w, i);
      if (lwDue(w)) lwRefresh(w);
      if (i % 9_973 === 0 || (i > 65_400 && i < 65_700)) {
        lwRefresh(w);
        const want = Array.from({ length: Math.min(cap, i + 1) }, (_, k) => i + 1 - Math.min(cap, i + 1) + k);
        expect(Array.from(lwSorted(w))).toEqual(want);
      }
    }
  });

  it("the indexed lower bound is the lower bound of the sorted copy, duplicates and re-centring included", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        // few distinct values, so runs of equal values cross the index's steps (and windows long enough for several steps)
        fc.array(fc.integer({ min: -40, max: 40 }), { minLength: 1, maxLength: 500, size: "max" }),
        fc.array(fc.integer({ min: -45, max: 45 }), { minLength: 1, maxLength: 30 }),
        fc.boolean(),
        (cap, values, probes, recenter) => {
          const w = lazyWindow(cap, true);
          for (const v of values) {
            lwPush(w, v);
            if (lwDue(w)) lwRefresh(w);
          }
          lwRefresh(w);
          if (recenter) lwRecenter(w, 3);
          const sorted = lwSorted(w);
          for (const x of probes) {
            const xr = x - w.ref;
            expect(lwLowerBound(w, xr)).toBe(lowerBound(sorted, sorted.length, xr));
            expect(lwLowerBound(w, xr + 0.5)).toBe(lowerBound(sorted, sorted.length, xr + 0.5));
          }
        },
      ),
    );
  });

  it("the indexed lower bound of a long window (5,000 values, an index of 313) is the lower bound of its sorted copy", () => {
    const w = lazyWindow(5000, true);
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % 400;
    };
    for (let i = 0; i < 6000; i++) {
      lwPush(w, next());
      if (lwDue(w)) lwRefresh(w);
    }
    lwRefresh(w);
    const sorted = lwSorted(w);
    expect(sorted.length).toBe(5000);
    for (let x = -2; x <= 402; x += 0.5) {
      const xr = x - w.ref;
      expect(lwLowerBound(w, xr)).toBe(lowerBound(sorted, sorted.length, xr));
    }
  });

  it("keeps the small moves of a huge level exact (offsets, not levels, are float32)", () => {
    const w = lazyWindow(101, true);
    const values: number[] = [];
    for (let i = 0; i < 300; i++) values.push(1_000_000_000 + ((i * 7) % 11) - 5);
    for (const v of values) lwPush(w, v);
    lwRefresh(w);
    // plain float32 would round 1e9 ± 5 to multiples of 64; the median and MAD come out exact
    const last = values.slice(-101).sort((a, b) => a - b);
    expect(w.ref + quantileSorted(lwSorted(w), w.sn, 0.5)).toBe(last[50]);
    const mRel = quantileSorted(lwSorted(w), w.sn, 0.5);
    const dev = last.map((v) => Math.abs(v - last[50]!)).sort((a, b) => a - b);
    expect(madSorted(lwSorted(w), w.sn, mRel)).toBe(dev[50]);
  });

  it("re-centring moves the reference and keeps ring and sorted copy matching value for value", () => {
    const w = lazyWindow(50, true, undefined, 8);
    const values: number[] = [];
    for (let i = 0; i < 120; i++) values.push(10 + i * 1000 + (i % 3));
    for (let i = 0; i < 100; i++) lwPush(w, values[i]!);
    lwRefresh(w);
    const before = w.ref;
    lwRecenter(w, quantileSorted(lwSorted(w), w.sn, 0.5));
    expect(w.ref).not.toBe(before);
    // pushes after the re-centre evict values that must still be found in the sorted copy
    for (let i = 100; i < 120; i++) lwPush(w, values[i]!);
    lwRefresh(w);
    expect(w.sn).toBe(50);
    const got = Array.from(lwSorted(w), (v) => v + w.ref);
    const want = values.slice(-50).sort((a, b) => a - b);
    for (let i = 0; i < 50; i++) expect(got[i]).toBeCloseTo(want[i]!, 6);
  });

  it("a window of magnitudes keeps offsets from 0", () => {
    const w = lazyWindow(10, false);
    for (const v of [5, 3, 9]) lwPush(w, v);
    lwRefresh(w);
    // == 0, not Object.is: the reference starts as ZERO (-0, zero stored as a double)
    expect(w.ref === 0).toBe(true);
    expect(Array.from(lwSorted(w))).toEqual([3, 5, 9]);
  });
});
