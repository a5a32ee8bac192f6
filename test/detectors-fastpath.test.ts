/**
 * The fast paths behind `vigil detect` must give exactly what the reference formulations give:
 * the one-shift sorted-window push, the bisected MAD, the seasonal profile's incremental phase and
 * ring position, and the ensemble's column form (against `step`, verdict by verdict).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ensemble } from "../detectors/ensemble.js";
import { ensembleColumns } from "../detectors/ensemble-core.js";
import { getDetector } from "../detectors/registry.js";
import {
  forgetPhase,
  profileSummary,
  type SeasonalExpectation,
  seasonalProfileState,
  seasonalStep,
  seasonalStepInto,
} from "../detectors/seasonal-profile.js";
import { lowerBoundIn, type SortedWindow, smallMedian, sortedWindow, swClear, swMad, swPush, swPushAt } from "../detectors/stats.js";
import { type DetectorDefinition, NO_VERDICT, runBatch } from "../detectors/types.js";
import { detectCsv } from "../src/cli/detect/detect-csv.js";
import { resolveDetector } from "../src/cli/detect/detector-params.js";
import type { Point } from "../src/model/point.js";

/**
 * Feed `series` to two states, one through `step` and one through `stepNotable`: the latter must say
 * exactly the former's verdict when it is notable (anomalous or ongoing) and NO_VERDICT otherwise.
 * Returns how many verdicts of each kind `step` gave.
 */
function expectNotableAgrees<P, S>(def: DetectorDefinition<P, S>, params: P, series: readonly Point[]) {
  const full = def.init(params);
  const notable = def.init(params);
  const seen = { anomaly: 0, ongoing: 0, gap: 0, quiet: 0 };
  for (const p of series) {
    const a = def.step(full, p, params);
    const b = def.stepNotable!(notable, p, params);
    if (a.anomaly || a.ongoing === true) {
      expect(b).toEqual(a);
      if (a.ongoing === true) seen.ongoing++;
      else seen.anomaly++;
      if (a.reason.startsWith("data resumed")) seen.gap++;
    } else {
      expect(b).toBe(NO_VERDICT);
      seen.quiet++;
    }
  }
  return seen;
}

/** The original push: remove the oldest at its lower bound, then insert at the new value's. */
function refLowerBound(a: Float64Array, n: number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
function refPush(w: SortedWindow, x: number): void {
  const s = w.sorted;
  if (w.n === w.cap) {
    const at = refLowerBound(s, w.n, w.ring[w.head]!);
    s.copyWithin(at, at + 1, w.n);
    w.n--;
  }
  const at = refLowerBound(s, w.n, x);
  s.copyWithin(at + 1, at, w.n);
  s[at] = x;
  w.n++;
  w.ring[w.head] = x;
  w.head = w.head + 1 === w.cap ? 0 : w.head + 1;
}
/** The original MAD: a merge walk outwards from the median. */
function refMad(w: SortedWindow, med: number): number {
  const n = w.n;
  const s = w.sorted;
  let i = refLowerBound(s, n, med) - 1;
  let j = i + 1;
  let prev = 0;
  let cur = 0;
  for (let c = 0; c <= n >>> 1; c++) {
    const dl = i >= 0 ? med - s[i]! : Number.POSITIVE_INFINITY;
    const dr = j < n ? s[j]! - med : Number.POSITIVE_INFINITY;
    prev = cur;
    if (dl <= dr) {
      cur = dl;
      i--;
    } else {
      cur = dr;
      j++;
    }
  }
  return n & 1 ? cur : (prev + cur) / 2;
}

// small integers (many ties), signed zeros and the odd NaN: where positions could differ
const value = fc.oneof(
  fc.integer({ min: -4, max: 4 }),
  fc.constantFrom(0, -0, 0.5, -0.5, Number.NaN),
  fc.double({ min: -1e6, max: 1e6, noNaN: true }),
);

describe("sorted window fast paths", () => {
  it("swPush and swPushAt leave the same array as the two-step push, ±0 and NaN included", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(value, { maxLength: 300 }),
        fc.integer({ min: 0, max: 299 }),
        (cap, xs, clearAt) => {
          const a = sortedWindow(cap);
          const b = sortedWindow(cap);
          xs.forEach((x, i) => {
            if (i === clearAt) {
              swClear(a);
              swClear(b);
            }
            if (i % 2 === 0) swPush(a, x);
            else swPushAt(a, x, lowerBoundIn(a.sorted, 0, a.n, x));
            refPush(b, x);
            expect(a.n).toBe(b.n);
            expect(a.head).toBe(b.head);
            for (let k = 0; k < a.n; k++) expect(Object.is(a.sorted[k], b.sorted[k])).toBe(true);
          });
        },
      ),
      { numRuns: 300 },
    );
  });
  it("swMad equals the merge walk, to the sign of zero", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.array(value, { minLength: 1, maxLength: 120 }), value, (cap, xs, centre) => {
        const w = sortedWindow(cap);
        for (const x of xs) {
          swPush(w, x);
          for (const med of [w.sorted[w.n >> 1]!, centre, 0, -0]) expect(Object.is(swMad(w, med), refMad(w, med))).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("seasonal profile", () => {
  it("smallMedian is the middle of a stable insertion sort, to the sign of zero", () => {
    const reference = (xs: number[]): number => {
      const a = [...xs];
      for (let i = 1; i < a.length; i++) {
        const x = a[i]!;
        let j = i - 1;
        while (j >= 0 && a[j]! > x) {
          a[j + 1] = a[j]!;
          j--;
        }
        a[j + 1] = x;
      }
      const n = a.length;
      return n & 1 ? a[n >> 1]! : (a[(n >> 1) - 1]! + a[n >> 1]!) / 2;
    };
    const v = fc.oneof(value, fc.constantFrom(Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e308, -1e308, 5e-324));
    fc.assert(
      fc.property(fc.array(v, { minLength: 1, maxLength: 5 }), (xs) => {
        expect(Object.is(smallMedian(Float64Array.from(xs), xs.length), reference(xs))).toBe(true);
      }),
      { numRuns: 20_000 },
    );
  });
  it("the incremental phase and ring position give what the remainders give", () => {
    // the same series twice: once as is, once with the caches dropped before every point
    const HOUR = 3_600_000;
    const ts: number[] = [];
    let t = Date.UTC(2024, 0, 1);
    for (let i = 0; i < 24 * 7 * 5; i++) {
      // regular hours with holes, a duplicate, a few off-grid and fractional timestamps
      t += i % 97 === 0 ? 3 * HOUR : i % 131 === 0 ? 0 : HOUR;
      ts.push(i % 173 === 0 ? t + 0.5 : i % 211 === 0 ? t + 60_000 : t);
    }
    const xs = ts.map((_, i) => 100 + 10 * Math.sin((2 * Math.PI * i) / 24) + ((i * 7919) % 13) - (i % 500 === 0 ? 80 : 0));
    const a = seasonalProfileState(undefined);
    const b = seasonalProfileState(undefined);
    const outB: SeasonalExpectation = { expected: 0, local: 0, sigma: 0, periodMs: 0, seasons: 0, altZ: 0 };
    let seen = 0;
    ts.forEach((tt, i) => {
      forgetPhase(b);
      const ea = seasonalStep(a, tt, xs[i]!);
      const found = seasonalStepInto(b, tt, xs[i]!, outB);
      expect(found).toBe(ea !== null);
      if (ea !== null) {
        seen++;
        expect(outB).toEqual(ea);
      }
    });
    expect(seen).toBeGreaterThan(100);
    expect(profileSummary(a)).toEqual(profileSummary(b));
    expect(profileSummary(a).length).toBeGreaterThan(0);
  });
});

describe("ensemble column form", () => {
  const fixture = join(import.meta.dirname, "fixtures", "detectors", "hourly.csv");
  const csv = readFileSync(fixture, "utf8");
  const input = csv.trim().split("\n").slice(1);
  const params = ensemble.params.parse({});
  // the fixture with a hole (missing rows) and empty values, so the gap verdicts are exercised
  const points: Point[] = input.flatMap((l, i) => {
    const [ts, v] = l.split(",");
    if (i >= 300 && i < 305) return [];
    return [{ t: Date.parse(`${ts!.replace(" ", "T")}Z`), v: i % 50 === 7 ? null : Number(v) }];
  });

  it("scores and flags every point as step does", () => {
    const verdicts = runBatch(ensemble, params, points);
    const n = points.length;
    const t = Float64Array.from(points, (p) => p.t);
    const v = Float64Array.from(points, (p) => p.v ?? Number.NaN);
    const score = new Float64Array(n);
    const flag = new Uint8Array(n);
    const s = ensemble.init(params);
    // two calls: the state carries over between batches
    ensembleColumns(s, params, t.subarray(0, 200), v.subarray(0, 200), 200, score, flag);
    ensembleColumns(s, params, t.subarray(200), v.subarray(200), n - 200, score.subarray(200), flag.subarray(200));
    expect(Array.from(score)).toEqual(verdicts.map((x) => x.score));
    expect(Array.from(flag)).toEqual(verdicts.map((x) => (x.anomaly ? 1 : 0)));
    expect(verdicts.some((x) => x.anomaly && x.reason.startsWith("data resumed"))).toBe(true);
  });

  it("stepNotable says what step says for anomalous and ongoing points, and NO_VERDICT for the others", () => {
    // the fixture plus a lasting level shift after the gap's quiet time (its alert goes on: ongoing verdicts)
    const shifted = points.map((p, i) => (p.v !== null && i >= 470 && i < 530 ? { t: p.t, v: p.v * 3 } : p));
    const seen = expectNotableAgrees(ensemble, params, shifted);
    expect(seen.anomaly).toBeGreaterThan(1);
    expect(seen.ongoing).toBeGreaterThan(0);
    expect(seen.gap).toBeGreaterThan(0);
    expect(seen.quiet).toBeGreaterThan(400);
  });

  it("vigil detect writes, row for row, what step says", async () => {
    const text = `timestamp,value\n${points.map((p) => `${new Date(p.t).toISOString()},${p.v ?? ""}`).join("\n")}\n`;
    const { detector, params: resolved } = resolveDetector(undefined, []);
    const out = new PassThrough();
    const chunks: string[] = [];
    out.on("data", (c: Buffer) => chunks.push(c.toString()));
    await detectCsv(Readable.from([text]), out, "in.csv", detector, resolved);
    const verdicts = runBatch(ensemble, params, points);
    const scoreText = (x: number) => {
      const i = Math.round(x * 10_000);
      return i > 0 ? (i < 10_000 ? String(i / 10_000) : "1") : "0";
    };
    const expected = points.map(
      (p, i) => `${new Date(p.t).toISOString()},${p.v ?? ""},${scoreText(verdicts[i]!.score)},${verdicts[i]!.anomaly ? 1 : 0}`,
    );
    expect(chunks.join("")).toBe(`timestamp,value,anomaly_score,is_anomaly\n${expected.join("\n")}\n`);
  });
});

describe("vigil detect output", () => {
  it("writes nothing for a file rejected in its first batch, and the header alone for a header-only file", async () => {
    const run = async (text: string) => {
      const { detector, params } = resolveDetector(undefined, []);
      const out = new PassThrough();
      const chunks: string[] = [];
      out.on("data", (c: Buffer) => chunks.push(c.toString()));
      const done = detectCsv(Readable.from([text]), out, "in.csv", detector, params).then(
        () => "ok",
        (e: Error) => e.message,
      );
      const result = await done;
      return { result, written: chunks.join("") };
    };
    expect(await run("timestamp,value\n2024-01-01 00:00:00,1\nnot a time,2\n")).toEqual({
      result: 'in.csv:3: not a timestamp: "not a time"',
      written: "",
    });
    expect(await run("timestamp,value\n")).toEqual({ result: "ok", written: "timestamp,value,anomaly_score,is_anomaly\n" });
  });
});

describe("stepNotable", () => {
  // every detector that has the form, on a noisy hourly series with spikes, dips and a hole
  const configs: [string, Record<string, unknown>][] = [
    ["threshold", { min: 80, max: 125 }],
    ["threshold", { change: "15%", compare: "previous" }],
    ["threshold", { change: 20, compare: "last_week", granularity_ms: 3_600_000 }],
    ["moving_average", { method: "sma", window: 24, k: 3 }],
    ["moving_average", { method: "median_mad", window: 24, k: 3 }],
    ["moving_average", { method: "iqr", window: 24, k: 1.5 }],
    ["moving_average", { method: "ewma", window: 24, alpha: 0.3, k: 3 }],
  ];
  const series: Point[] = Array.from({ length: 600 }, (_, i) => ({
    t: Date.UTC(2026, 0, 5) + i * 3_600_000,
    v: i % 97 === 40 ? null : 100 + 10 * Math.sin(i / 3.8) + ((i * 7919) % 13) - 6 + (i % 61 === 30 ? 60 : 0) - (i % 89 === 50 ? 45 : 0),
  }));

  it.each(configs)("%s %j: step's verdict when it is anomalous, NO_VERDICT otherwise, the state the same", (type, raw) => {
    const def = getDetector(type)!;
    expect(def.stepNotable).toBeDefined();
    const seen = expectNotableAgrees(def, def.params.parse(raw), series);
    expect(seen.anomaly + seen.ongoing).toBeGreaterThan(0);
  });
});
