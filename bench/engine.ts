/**
 * vigil's own work in a steady tick, without a database: the scale bench's 10,000 series (1,000
 * metrics × 10 split values, 5-minute buckets, 100 metrics per scan) judged from grids made in
 * memory, with a store that stores nothing. What is left is the engine (planning, grouping,
 * judging, the alert policy) and the detector: the part of a tick that does not depend on how fast
 * the database and the driver are, and so is steadier than the tick-vs-SQL ratio from run to run.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { ManualClock } from "../src/clock.js";
import type { DetectorConfig, MetricConfig } from "../src/config/types.js";
import { Engine } from "../src/engine/engine.js";
import type { GroupGrid } from "../src/engine/fetcher.js";
import { silentLogger } from "../src/log.js";
import type { StateStore } from "../src/store/state-store.js";
import { VigilMetrics } from "../src/telemetry/metrics.js";
import { CHEAP_DETECTOR, DAY, FLOOR_DETECTOR, MIN5, REGIONS, scaleConfig, scaleMetrics } from "./scale-shape.js";

/** A store for a tick that changes no alert: reads find nothing, writes keep nothing. */
const nullStore = {
  watermarks: async () => new Map(),
  activeSilences: async () => [],
  openAlerts: async () => [],
  advanceWatermarks: async () => {},
  write: async () => [],
  opensSince: async () => new Map(),
  flapNoticesSince: async () => new Set(),
  channelLoad: async () => new Map(),
} as unknown as StateStore;

const series = Array.from({ length: REGIONS }, (_, r) => ({ key: `region=r${r}`, labels: { region: `r${r}` } }));

/** The scale bench's data shape: a daily sine per measure plus noise, on the bucket grid. */
async function grid(metrics: readonly MetricConfig[], w: { from: number; to: number }): Promise<GroupGrid> {
  const buckets = Math.ceil((w.to - w.from) / MIN5);
  // one array for every metric's values, as the grid decoder allocates them (bucket-grid.ts)
  const all = new Float64Array(metrics.length * REGIONS * buckets);
  const values = metrics.map((m, mi) => {
    const i = Number(m.name.slice(1)); // m00042: measure 42's shape, as in the scale bench's tables
    const a = all.subarray(mi * REGIONS * buckets, (mi + 1) * REGIONS * buckets);
    for (let r = 0; r < REGIONS; r++) {
      for (let b = 0; b < buckets; b++)
        a[r * buckets + b] = 100 + ((i % 7) + 1) * Math.sin((w.from / MIN5 + b) / 45.8 + i) + Math.random() * 3;
    }
    return a;
  });
  return { from: w.from, stepMs: MIN5, buckets, series, values, issues: metrics.map(() => []) };
}

/** Median tick (ms) of `ticks` steady ticks over `series` series after a one-day history load. */
async function engineTick(series: number, detectors: DetectorConfig[], ticks: number): Promise<number> {
  const config = scaleConfig(scaleMetrics(series, detectors, DAY, []), null);
  const clock = new ManualClock(Date.UTC(2026, 0, 10));
  const engine = new Engine(config, {
    store: nullStore,
    fetch: async () => ({ series: [], issues: [] }),
    fetchGroup: grid,
    clock,
    log: silentLogger(),
    metrics: new VigilMetrics({ defaultMetrics: false }),
  });
  await engine.evaluate();
  const times: number[] = [];
  for (let k = 0; k < ticks; k++) {
    clock.advance(MIN5);
    const t0 = performance.now();
    await engine.evaluate();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1]!;
}

const RUNS: Record<string, { label: string; detectors: DetectorConfig[] }> = {
  threshold: { label: "threshold (next to no detector cost)", detectors: FLOOR_DETECTOR },
  cheap: { label: "cheap detector (moving_average median_mad)", detectors: CHEAP_DETECTOR },
  ensemble: { label: "default ensemble", detectors: [] },
};

/** Each configuration in a process of its own (compiled when built, as the daemon runs), so that one's heap does not slow the next. */
export async function benchEngine(): Promise<void> {
  console.log("engine alone (no database: grids made in memory, a store that keeps nothing), 10,000 series, median of 200 steady ticks:");
  const here = fileURLToPath(import.meta.url);
  const compiled = join(dirname(here), "..", "dist", "bench", "engine.js");
  const entry = here.endsWith(".ts") && existsSync(compiled) ? [compiled] : here.endsWith(".ts") ? ["--import", "tsx", here] : [here];
  for (const [kind, run] of Object.entries(RUNS)) {
    const r = spawnSync(process.execPath, [...entry, "--child", kind], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`engine bench (${kind}) failed: ${r.stderr}`);
    const ms = Number(r.stdout.trim().split("\n").pop());
    console.log(`  ${run.label.padEnd(44)} ${ms.toFixed(1).padStart(6)} ms  (${((ms / 10_000) * 1000).toFixed(2)} µs per series)`);
  }
}

if (process.argv[2] === "--child") console.log(await engineTick(10_000, RUNS[process.argv[3]!]!.detectors, 200));
else if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await benchEngine();
