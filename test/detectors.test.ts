import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readCsv } from "../bench/corpus/corpus.js";
import { controlLimits } from "../detectors/control-limits.js";
import { ensembleTimeDefaults } from "../detectors/ensemble.js";
import { pct } from "../detectors/ensemble-verdict.js";
import { esdCriticalValue, generalizedEsd, seasonalHybridEsd } from "../detectors/esd.js";
import { missing } from "../detectors/missing.js";
import { ewmaLimitFactor, movingAverage } from "../detectors/moving-average.js";
import { allDetectors, DEFAULT_DETECTORS, getDetector, withTimeDefaults } from "../detectors/registry.js";
import { seasonal } from "../detectors/seasonal.js";
import { seasonalProfileState, seasonalStep } from "../detectors/seasonal-profile.js";
import { threshold } from "../detectors/threshold.js";
import { runBatch, type Verdict } from "../detectors/types.js";
import type { Point } from "../src/model/point.js";

const T0 = Date.UTC(2024, 0, 1);
const MIN = 60_000;
const HOUR = 3_600_000;
/** The tests' seeded uniform numbers in [0, 1) (a linear congruential generator: the same sequence in every run). */
function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1_103_515_245 + 12_345) % 2_147_483_648;
    return s / 2_147_483_648;
  };
}
const pts = (vs: ReadonlyArray<number | null>, step = MIN, t0 = T0): Point[] => vs.map((v, i) => ({ t: t0 + i * step, v }));

function flagsOf(vs: Verdict[]): number[] {
  return vs.flatMap((v, i) => (v.anomaly ? [i] : []));
}

describe("control_limits (Montgomery: Shewhart individuals, Western Electric rules)", () => {
  // standards given: centre 10, sigma 1, so each constructed value sits in a known zone
  const std = (over: Record<string, unknown> = {}) => controlLimits.params.parse({ center: 10, sigma0: 1, ...over });
  const run = (vs: number[], over: Record<string, unknown> = {}) => runBatch(controlLimits, std(over), pts(vs));

  it("rule 1: one point beyond 3 sigma", () => {
    const v = run([10, 10.5, 9.5, 13.2, 10]);
    expect(flagsOf(v)).toEqual([3]);
    expect(v[3]!.reason).toBe("3.2σ above the centre line");
    expect(v[3]!.sigmas).toBeCloseTo(3.2, 10);
  });
  it("rule 2: two of three beyond 2 sigma on one side", () => {
    // alternating sides keep the 8-in-a-row rule away
    expect(flagsOf(run([10.5, 9.5, 12.5, 9.5, 12.4, 9.5]))).toEqual([4]);
    // two beyond 2σ but on opposite sides: nothing
    expect(flagsOf(run([10.5, 9.5, 12.5, 9.5, 7.5, 10.5]))).toEqual([]);
  });
  it("rule 3: four of five beyond 1 sigma on one side", () => {
    const v = run([9.5, 11.5, 11.2, 10.5, 11.7, 11.3, 9.0]);
    expect(flagsOf(v)).toEqual([5]);
    expect(v[5]!.reason).toBe("4 of 5 points beyond 1σ above the centre line");
  });
  it("rule 4: eight in a row on one side", () => {
    const v = run([10.5, 9.6, 9.7, 9.5, 9.8, 9.9, 9.4, 9.7, 9.6, 10.2]);
    expect(flagsOf(v)).toEqual([8]);
    expect(v[8]!.reason).toBe("8 points in a row below the centre line");
  });
  it("shewhart ignores run rules; nelson needs nine in a row and adds a trend rule", () => {
    const run8 = [10.5, 9.6, 9.7, 9.5, 9.8, 9.9, 9.4, 9.7, 9.6, 10.2];
    expect(flagsOf(run(run8, { rules: "shewhart" }))).toEqual([]);
    expect(flagsOf(run([9.6, 9.7, 9.5, 9.8, 9.9, 9.4, 9.7, 9.6, 9.5], { rules: "nelson" }))).toEqual([8]);
    const trend = run([9.0, 9.1, 10.3, 9.2, 9.4, 9.6, 9.8, 10.1, 10.2, 9.9], { rules: "nelson" });
    expect(flagsOf(trend)).toEqual([8]);
    expect(trend[8]!.reason).toBe("6 points in a row increasing");
  });
  it("sigma comes from the average moving range / 1.128", () => {
    // moving ranges 1,1,1,... over an alternating baseline: sigma = 1/1.128
    const base = Array.from({ length: 20 }, (_, i) => (i % 2 ? 11 : 10));
    const p = controlLimits.params.parse({ baseline: 20, min_points: 20, rules: "shewhart" });
    const v = runBatch(controlLimits, p, pts([...base, 10.5]));
    expect(v[20]!.expected).toBeCloseTo(10.5, 12);
    expect(v[20]!.upper! - v[20]!.expected!).toBeCloseTo(3 / 1.128, 12);
  });
  it("CUSUM catches a small persistent shift that the limits miss", () => {
    const v = run([...Array(10).fill(10), ...Array(20).fill(11)], { rules: "shewhart", cusum: true });
    // C+ grows by 0.5 per point after the shift: beyond h = 5 at the 11th shifted point
    expect(flagsOf(v)[0]).toBe(20);
    expect(v[20]!.reason).toMatch(/^CUSUM 5\.5σ above target$/);
  });
});

describe("moving_average", () => {
  it("EWMA limits follow L·σ·sqrt(λ/(2−λ)·(1−(1−λ)^(2i))) (Montgomery Example 9.3: λ=0.1, L=2.7)", () => {
    expect(ewmaLimitFactor(0.1, 1)).toBeCloseTo(0.1, 10);
    expect(10 + 2.7 * ewmaLimitFactor(0.1, 1)).toBeCloseTo(10.27, 2);
    expect(10 + 2.7 * ewmaLimitFactor(0.1, 2)).toBeCloseTo(10.36, 2);
    expect(10 + 2.7 * ewmaLimitFactor(0.1, 1000)).toBeCloseTo(10 + 2.7 * Math.sqrt(0.1 / 1.9), 10);
    const p = movingAverage.params.parse({ method: "ewma", alpha: 0.1, k: 2.7, mu0: 10, sigma0: 1 });
    const v = runBatch(movingAverage, p, pts([9.45, 7.99, 9.29, 11.66, 12.16]));
    expect(v[0]!.upper).toBeCloseTo(10.27, 2);
    expect(v[0]!.lower).toBeCloseTo(9.73, 2);
    expect(v[1]!.upper).toBeCloseTo(10.36, 2);
    expect(v[2]!.upper).toBeCloseTo(10 + 2.7 * Math.sqrt((0.1 / 1.9) * (1 - 0.9 ** 6)), 10);
    // z1 = 0.1·9.45 + 0.9·10 = 9.945: inside
    expect(v[0]!.anomaly).toBe(false);
  });
  it("ewma is not blinded for good by one outlier in its baseline (a backlog bucket of 20× the level); sma and the other detectors neither", () => {
    // level 100 with a small deterministic wobble, one bucket of 2,000 in the baseline, then a 100-bucket outage
    const vs = Array.from({ length: 2000 }, (_, i) => (i === 5 ? 2000 : i >= 1000 && i < 1100 ? 0 : 100 + ((i * 7) % 5) - 2));
    const inOutage = (v: Verdict[]) => flagsOf(v).filter((i) => i >= 1000 && i < 1100).length;
    for (const method of ["ewma", "sma"] as const) {
      const v = runBatch(movingAverage, movingAverage.params.parse({ method, window: 20 }), pts(vs));
      expect(inOutage(v), method).toBeGreaterThan(0);
    }
    expect(inOutage(runBatch(controlLimits, controlLimits.params.parse({}), pts(vs)))).toBeGreaterThan(0);
    expect(inOutage(runBatch(seasonal, seasonal.params.parse({}), pts(vs)))).toBeGreaterThan(0);
  });
  it("ewma's robust baseline leaves a clean baseline's limits as they were (mean, average moving range / d2)", () => {
    const base = Array.from({ length: 30 }, (_, i) => 100 + ((i * 7) % 5) - 2);
    const v = runBatch(movingAverage, movingAverage.params.parse({ method: "ewma", window: 30, alpha: 0.3, k: 3 }), pts([...base, 100]));
    let mr = 0;
    for (let i = 1; i < 30; i++) mr += Math.abs(base[i]! - base[i - 1]!);
    const mean = base.reduce((a, b) => a + b, 0) / 30;
    expect(v[30]!.expected).toBeCloseTo(mean, 10);
    expect(v[30]!.upper! - v[30]!.expected!).toBeCloseTo(3 * (mr / 29 / 1.128) * ewmaLimitFactor(0.3, 1), 10);
  });
  it("median_mad resists the outliers it looks for; iqr uses Tukey fences", () => {
    const base = Array.from({ length: 30 }, (_, i) => 100 + (i % 5) - 2);
    const mm = runBatch(movingAverage, movingAverage.params.parse({ method: "median_mad", window: 30 }), pts([...base, 100, 160]));
    expect(mm[30]!.anomaly).toBe(false);
    expect(mm[31]!.anomaly).toBe(true);
    expect(mm[31]!.reason).toMatch(/σ above the 30-point median$/);
    const iq = runBatch(movingAverage, movingAverage.params.parse({ method: "iqr", window: 30, k: 1.5 }), pts([...base, 104, 105]));
    // Q1 = 99, Q3 = 101, IQR 2: fences 96 and 104
    expect(iq[30]!.upper).toBeCloseTo(104, 10);
    expect(iq[30]!.anomaly).toBe(false);
    expect(iq[31]!.anomaly).toBe(true);
  });
});

describe("generalized ESD (NIST e-Handbook 1.3.5.17.3, Rosner's 54 values)", () => {
  const data = [
    -0.25, 0.68, 0.94, 1.15, 1.2, 1.26, 1.26, 1.34, 1.38, 1.43, 1.49, 1.49, 1.55, 1.56, 1.58, 1.65, 1.69, 1.7, 1.76, 1.77, 1.81, 1.91, 1.94,
    1.96, 1.99, 2.06, 2.09, 2.1, 2.14, 2.15, 2.23, 2.24, 2.26, 2.35, 2.37, 2.4, 2.47, 2.54, 2.62, 2.64, 2.9, 2.92, 2.92, 2.93, 3.21, 3.26,
    3.3, 3.59, 3.68, 4.3, 4.64, 5.34, 5.42, 6.01,
  ];
  it("finds exactly three outliers with the published statistics and critical values", () => {
    const r = generalizedEsd(data, { maxOutliers: 10, alpha: 0.05 });
    const R = [3.118, 2.942, 3.179, 2.81, 2.815, 2.848, 2.279, 2.31, 2.101, 2.067];
    const L = [3.158, 3.151, 3.143, 3.136, 3.128, 3.12, 3.111, 3.103, 3.094, 3.085];
    r.steps.forEach((s, i) => {
      expect(s.r).toBeCloseTo(R[i]!, 2);
      expect(s.lambda).toBeCloseTo(L[i]!, 2);
    });
    expect(r.outliers.map((i) => data[i])).toEqual([6.01, 5.42, 5.34]);
    expect(esdCriticalValue(54, 1, 0.05)).toBeCloseTo(3.158, 2);
  });
  it("S-H-ESD finds anomalies on top of a daily pattern", () => {
    const period = 24;
    const v = Array.from({ length: period * 14 }, (_, i) => 100 + 30 * Math.sin((2 * Math.PI * i) / period) + ((i * 7919) % 13) / 13);
    v[100] = v[100]! + 25;
    v[250] = v[250]! - 25;
    const r = seasonalHybridEsd(v, { period, maxAnomalies: 0.02 });
    expect(r.outliers.sort((a, b) => a - b)).toEqual([100, 250]);
  });
});

describe("seasonal", () => {
  const daily = (days: number, noise = 0) =>
    Array.from({ length: days * 24 }, (_, i) => 100 + 40 * Math.sin((2 * Math.PI * i) / 24) + noise * (((i * 7919) % 11) / 11 - 0.5));
  it("falls back while history is short, then judges by the same hour on earlier days", () => {
    const vs = daily(10, 2);
    vs[24 * 8 + 6] = 100; // the daily peak (140) missing: normal for the level, not for the hour
    const v = runBatch(seasonal, seasonal.params.parse({}), pts(vs, 3_600_000));
    expect(v[30]!.reason === "" || v[30]!.reason.includes("rolling median")).toBe(true);
    expect(flagsOf(v).filter((i) => i >= 24 * 3)).toEqual([24 * 8 + 6]);
    expect(v[24 * 8 + 6]!.reason).toMatch(/below the same time in the last 4 days/);
  });
  it("an anomaly does not poison the same slot in the next seasons", () => {
    const vs = daily(12, 2);
    vs[24 * 6 + 6] = 400; // a holiday spike at 06:00
    const p = seasonal.params.parse({ period: "1d", seasons: 2, min_seasons: 1 });
    const v = runBatch(seasonal, p, pts(vs, 3_600_000));
    expect(v[24 * 6 + 6]!.anomaly).toBe(true);
    // next day, same hour, a normal value: the baseline must not have moved towards 400
    expect(v[24 * 7 + 6]!.anomaly).toBe(false);
    expect(Math.abs(v[24 * 7 + 6]!.expected! - vs[24 * 7 + 6]!)).toBeLessThan(5);
  });
  it("Holt-Winters additive and multiplicative forecast a clean seasonal series", () => {
    for (const seasonality of ["additive", "multiplicative"] as const) {
      const vs = daily(8);
      const v = runBatch(seasonal, seasonal.params.parse({ period: "1d", method: "holt_winters", seasonality }), pts(vs, 3_600_000));
      const last = v[v.length - 1]!;
      expect(Math.abs(last.expected! - vs[vs.length - 1]!)).toBeLessThan(1);
      expect(flagsOf(v.slice(24 * 3))).toEqual([]);
    }
  });
});

describe("seasonal profile (the ensemble's seasonal view)", () => {
  // an hourly daily shape, one unit higher each day, so the median of the seasons behind an
  // expectation shows which days it read
  const at = (day: number, h: number) => 100 + 40 * Math.sin((2 * Math.PI * h) / 24) + day;
  const feed = (s: ReturnType<typeof seasonalProfileState>, days: number[]) => {
    let last = null;
    for (const d of days) for (let h = 0; h < 24; h++) last = seasonalStep(s, T0 + (d * 24 + h) * HOUR, at(d, h));
    return last;
  };
  it("judges a Saturday against earlier Saturdays though the daily profile fitted the five weekdays before it", () => {
    // weekday rush hours (300 at 08:00) and quiet weekends (30), ±20% noise: on weekdays the median
    // of 5 days (daily profile) is steadier than that of 3 weeks (weekly); T0 is a Monday
    const NOISE = 0.4;
    const rand = lcg(5);
    const rush = (d: number, h: number) => {
      const u = rand();
      const weekend = d % 7 >= 5;
      const level = h < 6 ? 5 : (weekend ? 30 : 300) * Math.exp(-(((h - 8) / 2) ** 2)) + 50;
      return level * (1 + NOISE * (u - 0.5));
    };
    const s = seasonalProfileState(HOUR);
    for (let d = 0; d < 5 * 7 + 5; d++) for (let h = 0; h < 24; h++) seasonalStep(s, T0 + (d * 24 + h) * HOUR, rush(d, h));
    // Saturday of week 6 at 06:00, the first hour a weekend differs (a weekday's is 2.6 times it)
    const sat = 5 * 7 + 5;
    for (let h = 0; h < 6; h++) seasonalStep(s, T0 + (sat * 24 + h) * HOUR, rush(sat, h));
    const x = rush(sat, 6);
    const e = seasonalStep(s, T0 + (sat * 24 + 6) * HOUR, x);
    expect(e!.periodMs).toBe(7 * 24 * HOUR);
    expect(e!.expected).toBeLessThan(x * 1.5);
  });
  it("puts the weekly profile in force at 5-minute buckets too (a week is 2,016 of them, more than its scale's span)", () => {
    const MIN5 = 5 * 60_000;
    // weekdays peak at 300 at noon, weekends stay at 50; T0 is a Monday
    const x = (i: number) => {
      const t = i * MIN5;
      const h = (t % (24 * HOUR)) / HOUR;
      const weekend = Math.floor(t / (24 * HOUR)) % 7 >= 5;
      return 50 + (weekend ? 0 : 250 * Math.exp(-(((h - 12) / 3) ** 2))) + ((i * 7919) % 13);
    };
    const s = seasonalProfileState(MIN5);
    const n = 4 * 2016;
    for (let i = 0; i < n; i++) seasonalStep(s, T0 + i * MIN5, x(i));
    // Saturday noon of week 5
    const sat = n + 5 * 288 + 144;
    for (let i = n; i < sat; i++) seasonalStep(s, T0 + i * MIN5, x(i));
    const e = seasonalStep(s, T0 + sat * MIN5, x(sat));
    expect(e!.periodMs).toBe(7 * 24 * HOUR);
    expect(Math.abs(e!.expected - x(sat))).toBeLessThan(20);
  });
  it("expects the median of the same hour on the days it holds", () => {
    const s = seasonalProfileState(HOUR);
    feed(s, [0, 1, 2, 3, 4, 5]);
    // day 6 at 10:00: five days kept (1..5), median day 3
    const e = seasonalStep(s, T0 + (6 * 24 + 10) * HOUR, at(6, 10));
    expect(e).not.toBeNull();
    expect(e!.periodMs).toBe(24 * HOUR);
    expect(e!.seasons).toBe(5);
    expect(e!.expected).toBeCloseTo(at(3, 10), 4);
  });
  it("days without data are not read from the cells of older days", () => {
    const s = seasonalProfileState(HOUR);
    // days 6 and 7 missing: day 8's window is days 3..7, of which 3, 4 and 5 were seen; the cells of
    // days 6 and 7 still hold days 1 and 2
    feed(s, [0, 1, 2, 3, 4, 5]);
    const e = seasonalStep(s, T0 + (8 * 24 + 10) * HOUR, at(8, 10));
    expect(e!.seasons).toBe(3);
    expect(e!.expected).toBeCloseTo(at(4, 10), 4);
  });
  it("after a gap longer than the seasons it keeps, nothing old comes back", () => {
    const s = seasonalProfileState(HOUR);
    feed(s, [0, 1, 2, 3, 4, 5]);
    // ten days missing, then two days: the profile has two seasons of its own, none of before the gap
    feed(s, [16, 17]);
    const e = seasonalStep(s, T0 + (18 * 24 + 10) * HOUR, at(18, 10));
    expect(e!.seasons).toBe(2);
    expect(e!.expected).toBeCloseTo((at(16, 10) + at(17, 10)) / 2, 4);
  });
});

describe("threshold and missing", () => {
  it("min/max and relative change versus the previous bucket", () => {
    const p = threshold.params.parse({ min: 10, change: "20%" });
    const v = runBatch(threshold, p, pts([100, 110, 140, 5, null, 6, 7]));
    // 6 and 7 are below the minimum (7 is within 20% of 6, so only the minimum speaks)
    expect(flagsOf(v)).toEqual([2, 3, 5, 6]);
    expect(v[6]!.reason).toBe("below the minimum 10");
    expect(v[2]!.reason).toBe("up 27.27% on the previous bucket (limit 20%)");
    expect(v[3]!.reason).toBe("below the minimum 10");
  });
  it("absolute change versus the same slot last week", () => {
    const week = 7 * 24;
    const vs = Array.from({ length: week * 2 }, (_, i): number => (i % 24 < 12 ? 50 : 80));
    vs[week + 30] = vs[30]! + 11;
    const v = runBatch(threshold, threshold.params.parse({ change: 10, compare: "last_week" }), pts(vs, 3_600_000));
    expect(flagsOf(v)).toEqual([week + 30]);
    expect(v[week + 30]!.reason).toBe("up 11 on the same time last week (limit 10)");
  });
  it("missing flags empty buckets beyond `after` and the point closing a gap", () => {
    const p = missing.params.parse({ after: "5m" });
    const v = runBatch(missing, p, pts([1, 2, null, null, null, null, null, null, 3]));
    expect(flagsOf(v)).toEqual([7, 8]);
    expect(v[7]!.reason).toBe("no data for 6m");
    const gap = runBatch(missing, p, [...pts([1, 2, 3]), { t: T0 + 20 * MIN, v: 4 }]);
    expect(flagsOf(gap)).toEqual([3]);
    expect(gap[3]!.reason).toBe("data resumed after a 17m gap");
  });
});

// ---- properties every detector must have ---------------------------------------------------------

const cases: Array<[string, Record<string, unknown>]> = [
  ...allDetectors().map((d): [string, Record<string, unknown>] => [d.type, {}]),
  ["moving_average", { method: "sma" }],
  ["moving_average", { method: "median_mad" }],
  ["moving_average", { method: "iqr" }],
  ["control_limits", { rules: "nelson", cusum: true }],
  ["seasonal", { method: "holt_winters", period: "1h", fallback_window: 10 }],
  ["seasonal", { method: "holt_winters", seasonality: "multiplicative", period: "1h" }],
  ["threshold", { min: 0, max: 1000, change: "50%" }],
];

function build(type: string, over: Record<string, unknown>) {
  const def = getDetector(type)!;
  return { def, params: def.params.parse(over) };
}

function wave(n: number, seed: number): number[] {
  const rand = lcg(seed);
  return Array.from({ length: n }, (_, i) => 100 + 10 * Math.sin(i / 5) + 5 * rand() + (i % 97 === 50 ? 80 : 0));
}

describe.each(cases)("%s %j: properties", (type, over) => {
  const { def, params } = build(type, over);

  it("streaming in ticks with carried (structuredCloned) state equals batch", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 20 }),
        (seed, cuts) => {
          const points = pts(wave(300, seed));
          const batch = runBatch(def, params, points);
          let state = def.init(params);
          const streamed: Verdict[] = [];
          let i = 0;
          let c = 0;
          while (i < points.length) {
            const end = Math.min(points.length, i + cuts[c++ % cuts.length]!);
            for (; i < end; i++) streamed.push(def.step(state, points[i]!, params));
            state = structuredClone(state); // as the engine persists it between ticks
          }
          expect(streamed).toEqual(batch);
        },
      ),
      { numRuns: 15 },
    );
  });

  it("a constant series never alerts and never yields NaN", () => {
    // absolute limits are the one place where a constant may legitimately alert: stay inside them
    const limited = type === "threshold" && over.min !== undefined;
    fc.assert(
      fc.property(
        fc.double({ min: limited ? 0 : -1e6, max: limited ? 1000 : 1e6, noNaN: true }),
        fc.integer({ min: 1, max: 400 }),
        (c, n) => {
          const v = runBatch(def, params, pts(Array(n).fill(c)));
          for (const x of v) {
            expect(x.anomaly).toBe(false);
            for (const f of [x.expected, x.lower, x.upper, x.sigmas, x.score]) if (f !== null) expect(Number.isNaN(f)).toBe(false);
          }
        },
      ),
      { numRuns: 20 },
    );
  });

  it("shifting time changes nothing", () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e6, max: 1e6 }), (shiftMin) => {
        const vs = wave(250, 7);
        const a = runBatch(def, params, pts(vs));
        const b = runBatch(def, params, pts(vs, MIN, T0 + shiftMin * MIN));
        expect(b.map((x) => [x.anomaly, x.reason])).toEqual(a.map((x) => [x.anomaly, x.reason]));
      }),
      { numRuns: 10 },
    );
  });

  it("survives NaN, null, gaps, duplicate timestamps, a huge value and tiny series", () => {
    const vs: Array<number | null> = wave(120, 3);
    vs[10] = Number.NaN;
    vs[11] = null;
    vs[60] = 1e300;
    const points = pts(vs);
    points[30] = { t: points[29]!.t, v: 100 }; // duplicate timestamp
    points.splice(80, 10); // a gap
    for (const series of [points, points.slice(0, 1), points.slice(0, 3), []]) {
      const v = runBatch(def, params, series);
      expect(v).toHaveLength(series.length);
      for (const x of v) {
        expect(x.score).toBeGreaterThanOrEqual(0);
        expect(x.score).toBeLessThanOrEqual(1);
        expect(Number.isNaN(x.score)).toBe(false);
        expect(typeof x.reason).toBe("string");
      }
    }
  });
});

// scale invariance: the statistical detectors (threshold has absolute limits, so it is excluded)
const scaled = cases.filter(([t, o]) => t !== "threshold" && t !== "missing" && !(t === "seasonal" && o.seasonality === "multiplicative"));
describe.each(scaled)("%s %j: scaling by c > 0", (type, over) => {
  const { def, params } = build(type, over);
  it("scales expected and band by c and keeps the flags", () => {
    fc.assert(
      fc.property(fc.constantFrom(0.001, 0.5, 3, 1000), (c) => {
        const vs = wave(300, 11);
        const a = runBatch(def, params, pts(vs));
        const b = runBatch(def, params, pts(vs.map((x) => x * c)));
        b.forEach((x, i) => {
          const y = a[i]!;
          expect(x.anomaly).toBe(y.anomaly);
          for (const k of ["expected", "lower", "upper"] as const) {
            if (y[k] === null) expect(x[k]).toBeNull();
            else expect(x[k]!).toBeCloseTo(y[k]! * c, Math.max(0, 6 - Math.ceil(Math.log10(Math.abs(y[k]! * c) + 1))));
          }
        });
      }),
      { numRuns: 4 },
    );
  });
});

describe("registry", () => {
  it("the default is the ensemble; every detector documents every parameter", () => {
    expect(DEFAULT_DETECTORS).toEqual([{ type: "ensemble" }]);
    for (const d of allDetectors()) {
      for (const [key, field] of Object.entries(d.params.shape)) {
        expect((field as { description?: string }).description, `${d.type}.${key}`).toBeTruthy();
      }
    }
  });
});

describe("ensemble", () => {
  const { def, params } = build("ensemble", {});
  it("alerts on a level shift once, then re-baselines instead of alerting for days", () => {
    const base = wave(1500, 5);
    const vs = base.map((x, i) => (i >= 1000 ? x + 200 : x));
    const v = runBatch(def, params, pts(vs));
    const after = flagsOf(v).filter((i) => i >= 1000);
    expect(after[0]).toBeLessThan(1005);
    expect(after.length).toBeLessThanOrEqual(2);
    expect(v[after[0]!]!.reason).toMatch(/above the rolling median/);
  });
  it("flags data resuming after a gap only when the gap is the longest yet (irregular sampling is not an incident each time)", () => {
    // 5-minute data with rows absent for 3 h, then 2 h, then 2.5 h, then 4 h; 300 points between gaps (past the refractory period)
    const gapsH = [3, 2, 2.5, 4];
    const points: Point[] = [];
    let t = T0;
    const vs = wave(1500, 11);
    vs.forEach((v, i) => {
      if (i > 0 && i % 300 === 0) t += gapsH[i / 300 - 1]! * 3_600_000;
      points.push({ t, v });
      t += 5 * MIN;
    });
    const v = runBatch(def, params, points);
    const resumed = flagsOf(v).filter((i) => v[i]!.reason.startsWith("data resumed"));
    expect(resumed).toEqual([300, 1200]);
    expect(v[1200]!.reason).toBe("data resumed after a 4h gap");
    // the `missing` detector itself flags every gap beyond `after`
    const m = runBatch(missing, missing.params.parse({ after: "1h" }), points);
    expect(flagsOf(m)).toEqual([300, 600, 900, 1200]);
  });
  it("alerts on a count collapsing at a quiet hour even when busy hours have dipped further in raw numbers", () => {
    // hourly rentals: nights about 5, afternoons about 300 with ±15% noise; on a third of the days
    // (at random) rain cuts the daytime to a fifth to two fifths, a bigger raw drop than an evening
    // can make; on day 50 the shop closes at 18:00, where about 150 is usual
    const t0 = Date.UTC(2024, 0, 1);
    const rand = lcg(11);
    const days = 53;
    const rain = Array.from({ length: days }, () => (rand() < 0.33 ? 0.2 + 0.2 * rand() : 1));
    const closedAt = 50 * 24 + 18;
    const vs = Array.from({ length: days * 24 }, (_, i) => {
      const h = i % 24;
      const level = h < 6 || h > 22 ? 5 : 5 + 295 * Math.sin((Math.PI * (h - 6)) / 16) ** 2;
      const x = Math.max(0, Math.round(level * (h >= 7 && h <= 16 ? rain[Math.floor(i / 24)]! : 1) * (1 + 0.3 * (rand() - 0.5))));
      return i >= closedAt && i < closedAt + 5 ? 0 : x;
    });
    const v = runBatch(def, params, pts(vs, HOUR, t0));
    const during = flagsOf(v).filter((i) => i >= closedAt && i < closedAt + 5);
    // the second empty hour confirms it (one empty bucket is a dropped scrape more often than an outage)
    expect(during[0]).toBe(closedAt + 1);
    expect(v[during[0]!]!.reason).toMatch(/below the expected value for \w+ 19:00 \(down 100%\)$/);
    // a series that goes below zero has no collapse view: the same shape shifted down never says one
    const shifted = runBatch(
      def,
      params,
      pts(
        vs.map((x) => x - 1000),
        HOUR,
        t0,
      ),
    );
    expect(flagsOf(shifted).filter((i) => /expected value for [^(]*\(down|a collapse beyond/.test(shifted[i]!.reason))).toEqual([]);
  });
  it("a collapse's band is its own bar, so the value is drawn beyond it (real hourly rentals)", () => {
    // Washington DC bike rentals 2011-2012 (bench/corpus), empty hours as 0, as the engine feeds a sum
    const { rows } = readCsv("dc-bikes.csv.gz");
    const byHour = new Map(rows.map((r) => [Date.parse(r[0]!), Number(r[1])]));
    const first = Math.min(...byHour.keys());
    const points = Array.from({ length: 731 * 24 }, (_, i) => ({ t: first + i * HOUR, v: byHour.get(first + i * HOUR) ?? 0 }));
    const hourly = build("ensemble", { granularity_ms: HOUR, timezone: "America/New_York" });
    const v = runBatch(hourly.def, hourly.params, points);
    // the views of a point against a bar (a level shift, volatility and a gap are about several points)
    const pointAlerts = flagsOf(v).filter((i) => !/^(level shift|last \d+ points|volatility|a value not seen)/.test(v[i]!.reason));
    expect(pointAlerts.filter((i) => /\(down \d+%\)$/.test(v[i]!.reason)).length).toBeGreaterThan(3);
    const inside = pointAlerts.filter((i) => points[i]!.v >= v[i]!.lower! && points[i]!.v <= v[i]!.upper!);
    expect(
      inside.map((i) => `${new Date(points[i]!.t).toISOString()} ${points[i]!.v} in [${v[i]!.lower}, ${v[i]!.upper}]: ${v[i]!.reason}`),
    ).toEqual([]);
  });
  it("a night gap that alerted leaves the morning's steps alone: no volatility alert as the rush hour returns (real hourly London hire)", () => {
    // London cycle hire 2015 (bench/corpus): one row an hour, none from 22:00 on 17 November to 06:00 the next day
    const { rows } = readCsv("london-bikes.csv.gz");
    const byHour = new Map(rows.map((r) => [Date.parse(r[0]!), Number(r[1])]));
    const first = Math.min(...byHour.keys());
    const end = Date.parse("2015-11-18T12:00:00Z");
    const points = Array.from({ length: (end - first) / HOUR }, (_, i) => ({
      t: first + i * HOUR,
      v: byHour.get(first + i * HOUR) ?? null,
    }));
    const hourly = build("ensemble", { granularity_ms: HOUR, timezone: "Europe/London" });
    const v = runBatch(hourly.def, hourly.params, points);
    const gap = points.findIndex((p) => p.t === Date.parse("2015-11-17T23:00:00Z"));
    expect(v[gap]!.reason).toBe("no data for 2h, at a time this series normally has data");
    // 633, 2097, 4455, 2325, 950: a weekday's rush, only the night's small steps between it and the evening are gone
    const after = flagsOf(v).filter((i) => i > gap + 6);
    expect(after.map((i) => `${new Date(points[i]!.t).toISOString()}: ${v[i]!.reason}`)).toEqual([]);
  });
  it("gives a shift in percent of the median, except against a median next to zero", () => {
    expect(pct(143, 100)).toBe(" (up 43%)");
    expect(pct(40, 100)).toBe(" (down 60%)");
    expect(pct(-5, -10)).toBe(" (up 50%)");
    // a count that was idle (median 1e-6) jumping to 21.5: "up 2150000000%" says nothing
    expect(pct(21.5, 1e-6)).toBe("");
    expect(pct(5, 0)).toBe("");
  });
  it("caps its point-count defaults in time at buckets coarser than an hour", () => {
    const MIN5 = 5 * MIN;
    const plain = { window: 1000, history: 1000, warmup: 72, refractory: 150, missing_after: 3600 };
    expect(ensembleTimeDefaults(MIN5)).toEqual(plain);
    expect(ensembleTimeDefaults(60 * MIN)).toEqual({ ...plain, refractory: 24 });
    // a silence alerts once it outlasts one bucket: one missing day is a holiday or a late load
    expect(ensembleTimeDefaults(24 * 60 * MIN)).toEqual({ window: 180, history: 180, warmup: 28, refractory: 7, missing_after: 86_400 });
    expect(ensembleTimeDefaults(7 * 24 * 60 * MIN)).toEqual({ window: 25, history: 25, warmup: 14, refractory: 4, missing_after: 604_800 });
    // only what the config leaves out
    const def = getDetector("ensemble")!;
    expect(withTimeDefaults(def, { granularity_ms: 86_400_000, refractory: 30 })).toMatchObject({ refractory: 30, history: 180 });
    expect(withTimeDefaults(def, { refractory: 30 })).toEqual({ refractory: 30 });
  });
  it("needs a warm-up of 72 points, then judges (3 days of hourly buckets)", () => {
    const early = wave(300, 9);
    early[60] = 1e6;
    expect(flagsOf(runBatch(def, params, pts(early))).filter((i) => i <= 60)).toEqual([]);
    const later = wave(300, 9);
    later[120] = 1e6;
    expect(flagsOf(runBatch(def, params, pts(later)))).toContain(120);
  });
  it("an hourly series with a daily pattern and 14 days of history: a 60% drop alerts against the same hour", () => {
    const t0 = Date.UTC(2024, 0, 1); // a Monday
    const rand = lcg(3);
    const vs = Array.from({ length: 14 * 24 + 24 }, (_, i) => 1000 + 600 * Math.sin((2 * Math.PI * (i % 24)) / 24) + 30 * (rand() - 0.5));
    const at = 14 * 24 + 14; // Monday 14:00, day 15
    const normal = vs[at]!;
    vs[at] = normal * 0.4;
    const v = runBatch(def, params, pts(vs, HOUR, t0));
    expect(flagsOf(v)).toContain(at);
    const a = v[at]!;
    expect(a.reason).toMatch(/below the expected value for 14:00$/);
    expect(a.expected!).toBeGreaterThan(normal - 50);
    expect(a.expected!).toBeLessThan(normal + 50);
    expect(a.sigmas!).toBeLessThan(-4);
    expect(a.lower!).toBeLessThan(a.expected!);
    expect(a.upper!).toBeGreaterThan(a.expected!);
    expect(a.lower!).toBeGreaterThan(vs[at]!);
    // nothing else in the last week of ordinary days
    expect(flagsOf(v).filter((i) => i >= 7 * 24 && i !== at)).toEqual([]);
  });
  it("uses weekly seasonality when weekends differ from weekdays", () => {
    const t0 = Date.UTC(2024, 0, 1); // a Monday
    const rand = lcg(5);
    const vs = Array.from({ length: 5 * 7 * 24 }, (_, i) => {
      const weekend = Math.floor(i / 24) % 7 >= 5;
      return (weekend ? 400 : 1000) + 300 * Math.sin((2 * Math.PI * (i % 24)) / 24) + 20 * (rand() - 0.5);
    });
    // a Saturday that looks like a weekday (a launch, a holiday shift)
    const sat = 4 * 7 * 24 + 5 * 24;
    for (let h = 10; h < 16; h++) vs[sat + h] = vs[sat + h]! + 600;
    const v = runBatch(def, params, pts(vs, HOUR, t0));
    const flags = flagsOf(v);
    expect(flags.filter((i) => i >= 3 * 7 * 24 && (i < sat + 10 || i > sat + 16))).toEqual([]);
    const hit = flags.find((i) => i >= sat + 10 && i < sat + 16);
    expect(hit).toBeDefined();
    expect(v[hit!]!.reason).toMatch(/above the expected value for Saturday 1\d:00$/);
  });
  it("a level shift down alerts once and then follows the new level", () => {
    const vs = wave(1500, 4).map((x, i) => (i >= 800 ? x * 0.6 : x));
    const v = runBatch(def, params, pts(vs));
    const after = flagsOf(v).filter((i) => i >= 800);
    expect(after[0]).toBeLessThan(805);
    expect(after.length).toBeLessThanOrEqual(2);
    expect(v[after[0]!]!.sigmas!).toBeLessThan(0);
  });
  it("an outage long enough to be taken for a level shift is undone when the series returns, and the same outage the next day alerts again", () => {
    // 5-minute counts with a daily wave (400-600) for 9 days; on days 6 and 7 at 17:40 an hour and a quarter at a quarter of the level
    const day = 288;
    const rand = lcg(21);
    const usual = (i: number) => 500 + 100 * Math.sin((2 * Math.PI * (i % day)) / day);
    const vs = Array.from({ length: 9 * day }, (_, i) => usual(i) * (0.95 + 0.1 * rand()));
    const first = 6 * day + 212;
    const second = first + day;
    for (const start of [first, second]) for (let i = start; i < start + 15; i++) vs[i] = vs[i]! * 0.25;
    const { def, params } = build("ensemble", { granularity_ms: 5 * MIN });
    const v = runBatch(def, params, pts(vs, 5 * MIN));
    // from two hours after the return to the next outage, the expectation is the usual level, not a quarter of it
    for (let i = first + 40; i < second; i += 12) expect(Math.abs(v[i]!.expected! / usual(i) - 1)).toBeLessThan(0.2);
    // each outage alerts at its start, against the usual level of that time of day; nothing else does
    expect(flagsOf(v).filter((i) => i >= first)).toEqual([first, second]);
    expect(v[second]!.reason).toMatch(/below the expected value for 17:40/);
  });
  it("a count whose hours are too noisy for a daily profile: four hours at 0 in the afternoon alert as one collapse, a pause that recurs every day does not keep alerting", () => {
    // orders per hour, 08:00-19:00 only (the nights have no rows and are left out), about 7 an hour, 15 at lunch, fewer at both ends
    const rand = lcg(7);
    const poisson = (lambda: number) => {
      let k = 0;
      for (let p = Math.exp(-lambda), u = rand(); u > p; p += (Math.exp(-lambda) * lambda ** (k + 1)) / factorial(k + 1), k++);
      return k;
    };
    const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));
    const rate = (h: number) => (h === 8 || h === 19 ? 1 : h === 9 || h === 18 ? 4 : h === 12 ? 15 : 7);
    const run = (zero: (d: number, h: number) => boolean) => {
      const points: Point[] = [];
      for (let d = 0; d < 60; d++)
        for (let h = 8; h < 20; h++) points.push({ t: T0 + d * 86_400_000 + h * HOUR, v: zero(d, h) ? 0 : poisson(rate(h)) });
      const { def, params } = build("ensemble", { granularity_ms: HOUR });
      return { points, v: runBatch(def, params, points) };
    };
    const gap = run((d, h) => d === 45 && h >= 13 && h < 17);
    const first = gap.points.findIndex((p) => p.t === T0 + 45 * 86_400_000 + 13 * HOUR);
    const flags = flagsOf(gap.v).filter((i) => i >= first - 1);
    expect(flags.length).toBeGreaterThan(0);
    expect(flags[0]).toBeGreaterThanOrEqual(first);
    expect(flags[0]).toBeLessThan(first + 4);
    expect(gap.v[flags[0]!]!.reason).toMatch(/^\d points in a row: 0 in all against \d+ expected \(down 100%\)$/);
    // a pause from 13:00 to 17:00 every day from day 30 on is the series' routine after its first occurrences
    const daily = run((d, h) => d >= 30 && h >= 13 && h < 17);
    expect(flagsOf(daily.v).filter((i) => daily.points[i]!.t >= T0 + 30 * 86_400_000).length).toBeLessThanOrEqual(2);
  });
  it("a spike that recurs (a nightly job) alerts at most twice, then is a pattern", () => {
    const vs = wave(3000, 6).map((x, i) => (i % 300 === 150 ? x + 400 : x));
    const flags = flagsOf(runBatch(def, params, pts(vs)));
    expect(flags.length).toBeLessThanOrEqual(3);
  });
  it("one outlier while warming up does not set the bar: the same outlier after the warm-up alerts", () => {
    const vs = wave(600, 3).map((x, i) => (i % 97 === 50 ? x - 80 : x)); // the wave's own spikes, turned into drops
    vs[40] = 400;
    vs[300] = 400;
    expect(flagsOf(runBatch(def, params, pts(vs)))).toContain(300);
  });
  it("a constant series never alerts, even after a long history", () => {
    expect(flagsOf(runBatch(def, params, pts(Array.from({ length: 5000 }, () => 42))))).toEqual([]);
  });
  it("flags a run of empty buckets", () => {
    const vs: Array<number | null> = wave(600, 2);
    for (let i = 500; i < 600; i++) vs[i] = null;
    const v = runBatch(def, params, pts(vs));
    expect(flagsOf(v).filter((i) => i >= 500)[0]).toBe(560);
    expect(v[560]!.reason).toBe("no data for 1h1m");
  });
});
