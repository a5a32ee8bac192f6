/**
 * How many buckets a pass of a history load or catch-up reads: bounded by the values and by the rows
 * the scan returns, so that narrow long-format rows (an object, a date and key strings per value)
 * are read in shorter chunks than wide ones.
 */
import { describe, expect, it } from "vitest";
import { MetricRuntimes } from "../src/engine/metric-runtime.js";
import { planWindow } from "../src/engine/window-plan.js";
import { silentLogger } from "../src/log.js";
import { metric } from "./helpers/config.js";

const MIN5 = 300_000;
const NOW = Date.UTC(2026, 0, 15) + 60_000;

function chunkOf(values: number, rows: number): number {
  const m = metric({ name: "m", granularityMs: MIN5 });
  const rt = new MetricRuntimes().of(m);
  rt.watermark = NOW - 86_400_000; // a day behind: 288 buckets to catch up
  const plan = planWindow(m, rt, NOW, null, silentLogger(), { values, rows });
  expect(plan.partial).toBe(true);
  return (plan.lastClosed - plan.from) / MIN5 + 1;
}

describe("planWindow chunks", () => {
  it("a wide scan (a hundred metrics sharing ten rows a bucket) reads 72 buckets a pass", () => {
    expect(chunkOf(1000, 10)).toBe(72);
  });
  it("values bound the chunk: 100,000 a pass", () => {
    expect(chunkOf(5000, 10)).toBe(20);
  });
  it("rows bound it too: 30,000 a pass, and never fewer than 4 buckets", () => {
    expect(chunkOf(2000, 2000)).toBe(15);
    expect(chunkOf(10_000, 10_000)).toBe(4);
  });
});
