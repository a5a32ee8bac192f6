/**
 * The peeking problem, with numbers. Simulates experiments checked at 30 looks as data accrues and
 * compares vigil's always-valid guardrail rule with a naive fixed-horizon t-test checked at the
 * same looks:
 * - A/A (no effect): how often does each raise a (false) guardrail alert at some look?
 * - a true 5% harm, 20,000 units per arm at the last look: how often and how soon is it caught?
 *
 * Per-unit values are drawn one by one (seeded, reproducible) and only their sums are kept, which
 * is exactly what the SQL hands to the statistics. Run: `npx tsx bench/experiments.ts`.
 */

import { rng } from "../src/demo/synthetic.js";
import { analyzeArms, DEFAULT_NSTAR } from "../src/experiments/analysis.js";
import { type MomentSums, meanArm, relativeOneSided } from "../src/experiments/stats.js";

interface Metric {
  name: string;
  /** One per-unit value with mean `mean`. */
  draw: (u: () => number, mean: number) => number;
  mean: number;
}

/** Time spent per user: exponential, coefficient of variation 1. */
const EXPONENTIAL: Metric = { name: "exponential per-unit value (CV 1)", draw: (u, m) => -m * Math.log(1 - u()), mean: 1 };
/** A conversion-style "any" guardrail at 50%: also CV 1. */
const BERNOULLI_50: Metric = { name: "0/1 per unit at 50% (CV 1)", draw: (u, p) => (u() < p ? 1 : 0), mean: 0.5 };
/** A 0/1 per unit at 30% (CV 1.53): noisier, the harder case. */
const BERNOULLI_30: Metric = { name: "0/1 per unit at 30% (CV 1.53)", draw: (u, p) => (u() < p ? 1 : 0), mean: 0.3 };

export interface Scenario {
  metric: Metric;
  runs: number;
  looks: number;
  unitsPerArm: number;
  /** Relative change of the treatment mean; positive = harm (bad_direction: increase). */
  lift: number;
  alpha: number;
  minUnits: number;
  nStar: number;
  seed: number;
}

export interface ScenarioResult {
  vigilAlerts: number;
  naiveAlerts: number;
  naiveFinalOnly: number;
  /** Look index (1-based) of vigil's first alert, per run that alerted. */
  vigilFirstLook: number[];
  naiveFirstLook: number[];
}

export function simulate(s: Scenario): ScenarioResult {
  const u = rng(s.seed);
  const res: ScenarioResult = { vigilAlerts: 0, naiveAlerts: 0, naiveFinalOnly: 0, vigilFirstLook: [], naiveFirstLook: [] };
  const tMean = s.metric.mean * (1 + s.lift);
  for (let r = 0; r < s.runs; r++) {
    const a: MomentSums = { n: 0, sum: 0, sumSq: 0 };
    const b: MomentSums = { n: 0, sum: 0, sumSq: 0 };
    let vigil = 0;
    let naive = 0;
    for (let look = 1; look <= s.looks; look++) {
      const target = Math.round((s.unitsPerArm * look) / s.looks);
      while (a.n < target) {
        const x = s.metric.draw(u, s.metric.mean);
        a.n++;
        a.sum += x;
        a.sumSq += x * x;
        const y = s.metric.draw(u, tMean);
        b.n++;
        b.sum += y;
        b.sumSq += y * y;
      }
      if (target < s.minUnits) continue; // vigil judges nothing before min_units; the naive test gets the same looks
      if (vigil === 0) {
        const g = analyzeArms(
          { variant: "control", sums: { kind: "moments", ...a } },
          { variant: "treatment", sums: { kind: "moments", ...b } },
          { alpha: s.alpha, badDirection: "increase", margin: 0, nStar: s.nStar },
        );
        if (g.status === "harmed") vigil = look;
      }
      const t = relativeOneSided(meanArm(a), meanArm(b), "greater", s.alpha);
      const fires = t.p < s.alpha;
      if (naive === 0 && fires) naive = look;
      if (look === s.looks && fires) res.naiveFinalOnly++;
    }
    if (vigil > 0) {
      res.vigilAlerts++;
      res.vigilFirstLook.push(vigil);
    }
    if (naive > 0) {
      res.naiveAlerts++;
      res.naiveFirstLook.push(naive);
    }
  }
  return res;
}

function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const pct = (k: number, n: number) => `${((100 * k) / n).toFixed(1)}%`;

export async function benchExperiments(opts: { runs?: number } = {}): Promise<void> {
  const runs = opts.runs ?? 2000;
  const base = { runs, looks: 30, unitsPerArm: 20_000, alpha: 0.05, minUnits: 1000, nStar: DEFAULT_NSTAR };
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(`experiments: ${runs} simulated experiments per row, 30 looks, 20,000 units per arm at the last look,`);
  out(`one-sided alpha 0.05, min_units 1000 (looks before it are skipped by both), Nstar ${DEFAULT_NSTAR}`);
  out("");
  out("A/A (no effect): share of experiments with a guardrail alert at ANY look");
  let seed = 1;
  for (const metric of [EXPONENTIAL, BERNOULLI_50, BERNOULLI_30]) {
    const t0 = performance.now();
    const r = simulate({ ...base, metric, lift: 0, seed: seed++ });
    out(
      `  ${metric.name.padEnd(38)} vigil ${pct(r.vigilAlerts, runs).padStart(6)}   naive t-test at every look ${pct(r.naiveAlerts, runs).padStart(6)}   naive, last look only ${pct(r.naiveFinalOnly, runs).padStart(6)}   (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );
  }
  out("");
  out("True 5% harm: detection rate by the last look, and median look of the first alert (among detected runs)");
  for (const metric of [EXPONENTIAL, BERNOULLI_50, BERNOULLI_30]) {
    for (const nStar of [DEFAULT_NSTAR, 40_000]) {
      const r = simulate({ ...base, metric, lift: 0.05, seed: seed++, nStar });
      out(
        `  ${metric.name.padEnd(38)} Nstar ${String(nStar).padStart(6)}: vigil ${pct(r.vigilAlerts, runs).padStart(6)}, median look ${median(r.vigilFirstLook)} of 30 (${Math.round((median(r.vigilFirstLook) * 20_000) / 30)} units/arm)   naive ${pct(r.naiveAlerts, runs).padStart(6)}, median look ${median(r.naiveFirstLook)}`,
      );
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchExperiments();
