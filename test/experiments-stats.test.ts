/**
 * Every reference value of ../shared/reference/STATS.md, to the precision printed there. The
 * expected numbers come from the reference (GrowthBook, spotify/confidence, scipy), never from our code.
 */
import { describe, expect, it } from "vitest";
import { analyzeArms } from "../src/experiments/analysis.js";
import {
  absoluteDifference,
  benjaminiHochberg,
  csHalfWidth,
  guardrailStatus,
  holm,
  type MomentSums,
  meanArm,
  oneSidedCsLevel,
  oneSidedFromTwoSided,
  proportionArm,
  proportionsZTest,
  ratioArm,
  relativeDifference,
  relativeOneSided,
  sequentialInterval,
  sequentialP,
  srmTest,
} from "../src/experiments/stats.js";

/** Equal to the reference at the precision it is printed with (half a unit of its last digit). */
function printed(actual: number, reference: string): void {
  const decimals = reference.includes(".") ? reference.split(".")[1]!.length : 0;
  const tol = 0.5 * 10 ** -decimals * (1 + 1e-9);
  expect(Math.abs(actual - Number(reference)), `${actual} vs ${reference}`).toBeLessThanOrEqual(tol);
}

describe("sample ratio mismatch (Pearson chi-square)", () => {
  const cases: Array<[number[], number[], string]> = [
    [[1000, 1200], [0.5, 0.5], "0.000020079"],
    [[135, 115], [0.5, 0.5], "0.205903211"],
    [[310, 98], [0.75, 0.25], "0.647434186"],
    [[500, 500, 600], [0.34, 0.33, 0.33], "0.000592638"],
    [[0, 10, 10], [0.34, 0.33, 0.33], "0.005790624"],
    [[1000, 1200, 900], [0.5, 0.5, 0], "0.000020079"],
    [[500, 500], [0.5, 0.5], "1"],
  ];
  it.each(cases)("%j against %j -> p %s", (observed, weights, p) => {
    printed(srmTest(observed, weights).p, p);
  });
  it("[50000, 49200] 50/50: chi2 6.4516, p 0.011085", () => {
    const r = srmTest([50000, 49200], [0.5, 0.5]);
    printed(r.chi2, "6.4516");
    printed(r.p, "0.011085");
    expect(r.df).toBe(1);
  });
  it("an arm with zero units trips it, and the deviation floor sees it", () => {
    const r = srmTest([0, 10, 10], [0.34, 0.33, 0.33]);
    expect(r.worstArm).toBe(0);
    printed(r.maxDeviation, "0.34");
  });
  it("a zero-weight arm is skipped, units and all", () => {
    expect(srmTest([1000, 1200, 900], [0.5, 0.5, 0]).total).toBe(2200);
  });
  it("large N: significant but under 0.1 percentage point", () => {
    const r = srmTest([5_009_000, 4_991_000], [0.5, 0.5]);
    expect(r.p).toBeLessThan(0.001);
    expect(r.maxDeviation).toBeLessThan(0.001);
  });
});

describe("Welch t-test on means from sufficient statistics", () => {
  const A = meanArm({ n: 3407, sum: 1396.87, sumSq: 52377.9767 });
  const B = meanArm({ n: 3461, sum: 2422.7, sumSq: 134698.29 });
  it("absolute difference", () => {
    const r = absoluteDifference(A, B);
    printed(r.estimate, "0.29");
    printed(r.se, "0.12478");
    printed(r.ci.lower, "0.04538");
    printed(r.ci.upper, "0.53462");
    printed(r.p, "0.02016");
  });
  it("relative lift (delta method)", () => {
    const r = relativeDifference(A, B);
    printed(r.estimate, "0.70732");
    printed(r.se, "0.37879");
    printed(r.ci.lower, "-0.03526");
    printed(r.ci.upper, "1.44989");
    printed(r.p, "0.06191");
    printed(r.dof, "5841.74");
  });
  it("relative variance = (sB²/nB)/mA² + (sA²/nA)·mB²/mA⁴", () => {
    const v = B.variance / B.n / A.mean ** 2 + ((A.variance / A.n) * B.mean ** 2) / A.mean ** 4;
    expect(relativeDifference(A, B).se).toBeCloseTo(Math.sqrt(v), 12);
  });
  it("nA = 3000, one-sided 'greater', fixed horizon", () => {
    const A3 = meanArm({ n: 3000, sum: 1396.87, sumSq: 52377.9767 });
    const r = relativeOneSided(A3, B, "greater");
    printed(r.p, "0.06558262868467746");
    printed(r.bound, "-0.045136675850396046");
  });
});

describe("proportions", () => {
  it("14/28 vs 16/30, relative (variance p(1-p), unpooled)", () => {
    const r = relativeDifference(proportionArm(14, 28), proportionArm(16, 30));
    printed(r.estimate, "0.06667");
    printed(r.se, "0.2717");
    printed(r.ci.lower, "-0.47767");
    printed(r.ci.upper, "0.61101");
    printed(r.p, "0.80707");
  });
  it("40/100 vs 50/100: unpooled Wald CI, pooled z-test p", () => {
    const r = proportionsZTest({ x: 40, n: 100 }, { x: 50, n: 100 });
    printed(r.difference, "0.1");
    printed(r.ci.lower, "-0.03719748");
    printed(r.ci.upper, "0.237197");
    printed(r.p, "0.155218");
  });
  it("42/104 vs 500/1009", () => {
    const r = proportionsZTest({ x: 42, n: 104 }, { x: 500, n: 1009 });
    printed(r.difference, "0.091694");
    printed(r.ci.lower, "-0.0075254");
    printed(r.ci.upper, "0.190913");
    printed(r.p, "0.074866");
    printed(r.relative, "0.227052");
    printed(r.relativeCi.lower, "-0.0186344");
    printed(r.relativeCi.upper, "0.47273797");
  });
});

describe("asymptotic confidence sequences", () => {
  it("means, A n = 3000, Nstar = 1000", () => {
    const A = meanArm({ n: 3000, sum: 1396.87, sumSq: 52377.9767 });
    const B = meanArm({ n: 3461, sum: 2422.7, sumSq: 134698.29 });
    const r = relativeDifference(A, B);
    const cs = sequentialInterval(r.estimate, r.se, A.n + B.n, 0.05, 1000);
    printed(r.estimate, "0.50336");
    printed(r.se, "0.33341");
    printed(cs.lower, "-0.55844");
    printed(cs.upper, "1.56516");
    printed(cs.halfWidth, "1.06180");
  });
  it("proportions 1396/3000 vs 2422/3461, Nstar = 5000", () => {
    const A = proportionArm(1396, 3000);
    const B = proportionArm(2422, 3461);
    const r = relativeDifference(A, B);
    const cs = sequentialInterval(r.estimate, r.se, A.n + B.n, 0.05, 5000);
    printed(r.estimate, "0.50386");
    printed(r.se, "0.03386");
    printed(cs.lower, "0.40098");
    printed(cs.upper, "0.60675");
  });
  it("at N = Nstar, alpha 0.05, the multiplier is 3.0352", () => {
    for (const n of [1000, 5000, 123_456]) printed(csHalfWidth(1 / Math.sqrt(n), n, 0.05, n) * Math.sqrt(n), "3.0352");
  });
  it("the always-valid p-value crosses alpha exactly where the interval crosses 0", () => {
    const se = 0.01;
    const n = 20_000;
    const half = csHalfWidth(se, n, 0.05, 5000);
    expect(sequentialP(half, se, n, 0.05, 5000)).toBeCloseTo(0.05, 10);
    expect(sequentialP(half * 1.01, se, n, 0.05, 5000)).toBeLessThan(0.05);
  });
  it("one-sided level: a/(2-a) = alpha, and the one-sided p matches", () => {
    const a = oneSidedCsLevel(0.05);
    expect(a / (2 - a)).toBeCloseTo(0.05, 12);
    expect(oneSidedFromTwoSided(a)).toBeCloseTo(0.05, 12);
  });
});

describe("ratio metric by the delta method", () => {
  it("reference control and treatment", () => {
    const c = ratioArm({ n: 100, sumM: 270, sumSqM: 848.79, sumD: 510, sumSqD: 810, sumMD: -900 });
    const t = ratioArm({ n: 120, sumM: 300, sumSqM: 869, sumD: 500, sumSqD: 800, sumMD: -905 });
    printed(c.mean, "0.529411765");
    printed(t.mean, "0.6");
    const r = relativeDifference(c, t);
    printed(r.estimate, "0.133333333");
    printed(r.p, "0.610663339");
  });
});

describe("multiple-testing corrections", () => {
  it("Holm-Bonferroni", () => {
    const out = holm([0.01, 0.04, 0.03, 0.005, 0.55, 0.6]);
    ["0.05", "0.12", "0.12", "0.03", "1", "1"].forEach((e, i) => {
      printed(out[i]!, e);
    });
  });
  it("Benjamini-Hochberg", () => {
    const out = benjaminiHochberg([0.898, 0.138, 0.007, 0.964, 0.538, 0.006, 0.138]);
    ["0.964", "0.2415", "0.0245", "0.964", "0.7532", "0.0245", "0.2415"].forEach((e, i) => {
      printed(out[i]!, e);
    });
  });
});

describe("guardrail decision", () => {
  it("increase is bad", () => {
    expect(guardrailStatus({ lower: 0.01, upper: 0.05 }, "increase", 0.02)).toBe("harmed");
    expect(guardrailStatus({ lower: -0.01, upper: 0.03 }, "increase", 0.02)).toBe("not_yet_safe");
    expect(guardrailStatus({ lower: -0.01, upper: 0.015 }, "increase", 0.02)).toBe("safe");
  });
  it("decrease is bad", () => {
    expect(guardrailStatus({ lower: -0.05, upper: -0.01 }, "decrease", 0.02)).toBe("harmed");
    expect(guardrailStatus({ lower: -0.03, upper: 0.01 }, "decrease", 0.02)).toBe("not_yet_safe");
    expect(guardrailStatus({ lower: -0.015, upper: 0.01 }, "decrease", 0.02)).toBe("safe");
  });
  it("margin 0: safe only once the interval is entirely on the good side", () => {
    expect(guardrailStatus({ lower: -0.02, upper: 0.001 }, "increase", 0)).toBe("not_yet_safe");
    expect(guardrailStatus({ lower: -0.02, upper: -0.001 }, "increase", 0)).toBe("safe");
  });
});

/**
 * Data built to expose the sign of the relative change and a control mean of 0 (issue 21). Expected
 * values from the formulas of STATS.md in numpy and scipy:
 *   rel = (mB - mA)/|mA|; se = sqrt(vB/nB/mA**2 + vA/nA*mB**2/mA**4); diff se = sqrt(vA/nA + vB/nB)
 *   guardrails: the confidence sequence's half-width at level 2*0.05/1.05, N = nA + nB, Nstar 5000;
 *   one-sided p = p2/(2 - p2) with p2 = min(1, sqrt(N*rho2 + 1)*exp(-(est/se)**2*N*rho2/(2*(N*rho2 + 1))))
 *   fixed horizon: 2*scipy.stats.t.sf(|rel|/se, welch_dof), and for the difference
 *   scipy.stats.ttest_ind_from_stats(mB, sB, nB, mA, sA, nA, equal_var=False)
 */
describe("the sign of the relative change and a control mean of 0", () => {
  /** Sums of n units with mean m and sample standard deviation sd. */
  const moments = (n: number, m: number, sd: number): MomentSums => ({ n, sum: n * m, sumSq: (n - 1) * sd * sd + n * m * m });
  const opts = (badDirection: "increase" | "decrease") => ({ alpha: 0.05, badDirection, margin: 0.02, nStar: 5000 });

  // A: 4000 units, mean -10, sd 10; B: 4000 units, mean -11, sd 10 (B is lower: a decrease).
  const negA = moments(4000, -10, 10);
  const negB = moments(4000, -11, 10);
  const control = (s: MomentSums) => ({ variant: "control", sums: { kind: "moments", ...s } as const });
  const treatment = (s: MomentSums) => ({ variant: "treatment", sums: { kind: "moments", ...s } as const });

  it("relative change (B - A)/|A| of a negative control, fixed horizon", () => {
    const r = relativeDifference(meanArm(negA), meanArm(negB));
    printed(r.estimate, "-0.1"); // b/a - 1 would be +0.1
    printed(r.se, "0.0235053185");
    printed(r.ci.lower, "-0.1460765507");
    printed(r.ci.upper, "-0.0539234493");
    printed(r.p, "0.0000212041");
  });

  it("-10 -> -11 with bad_direction decrease is harmed (it was reported safe)", () => {
    const r = analyzeArms(control(negA), treatment(negB), opts("decrease"));
    expect(r.status).toBe("harmed");
    printed(r.estimate!, "-0.1");
    printed(r.interval!.lower, "-0.165730241");
    printed(r.interval!.upper, "-0.034269759");
    printed(r.p!, "0.000439673");
    expect(r.difference).toBeNull();
    expect(analyzeArms(control(negA), treatment(negB), opts("increase")).status).toBe("safe");
  });

  it("a control mean of 0 is judged on the absolute difference, and says so", () => {
    // A: 1000 units at +1 and 1000 at -1 (mean 0); B: 900 at +1 and 1100 at -1 (mean -0.1).
    const r = analyzeArms(control({ n: 2000, sum: 0, sumSq: 2000 }), treatment({ n: 2000, sum: -200, sumSq: 2000 }), opts("decrease"));
    expect(r.status).toBe("harmed");
    expect(r.estimate).toBeNull();
    expect(r.interval).toBeNull();
    printed(r.difference!.estimate, "-0.1");
    printed(r.difference!.interval.lower, "-0.188032736");
    printed(r.difference!.interval.upper, "-0.011967264");
    printed(r.p!, "0.0188272125");
    printed(r.pFixed!, "0.0015389629"); // scipy: Welch t = -3.16942
    expect(r.note).toBe(
      "the relative change is undefined because the control mean is 0; judged on the absolute difference (treatment − control)",
    );
  });

  it("a control of all zeros against a few ones: harmed when increase is bad, safe (margin 0) when decrease is", () => {
    const a = control({ n: 2000, sum: 0, sumSq: 0 });
    const b = treatment({ n: 2000, sum: 40, sumSq: 40 });
    const r = analyzeArms(a, b, opts("increase"));
    expect(r.status).toBe("harmed");
    printed(r.difference!.estimate, "0.02");
    printed(r.difference!.interval.lower, "0.0112633347");
    printed(r.difference!.interval.upper, "0.0287366653");
    printed(r.p!, "0.0000000472");
    printed(r.pFixed!, "0.00000000021"); // scipy: Welch t = 6.38717
    expect(analyzeArms(a, b, opts("decrease")).status).toBe("safe");
  });
});
