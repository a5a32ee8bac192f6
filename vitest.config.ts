import { defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/** Bounds latency (a second for /healthz), so it runs on a machine not also busy with the rest. */
const FAULTS = "test/faults.test.ts";

/** Files that mostly wait on the wall clock (real processes killed and restarted over minutes). */
const LONG_WAITS = ["test/ha.test.ts", "test/shard.test.ts"];

/**
 * The long waits start first, each beside the rest of the suite on the other worker; without this a
 * fresh checkout (no timing cache) may start the two-minute failover test last and wait on it alone.
 */
class LongWaitsFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification) => {
      const i = LONG_WAITS.findIndex((name) => f.moduleId.endsWith(name));
      return i < 0 ? LONG_WAITS.length : i;
    };
    // (sort is stable: the rest keep the base order)
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  test: {
    // Integration tests start PGlite, subprocesses and servers: limits that only catch a hang, since
    // a user's CI is often a busy machine (no test relies on finishing within a wall-clock time).
    testTimeout: 600_000,
    hookTimeout: 600_000,
    pool: "forks",
    // vitest leaves a core free by default (one worker on this 2-core machine); most of the time
    // goes in waiting on subprocesses, databases and servers, so two files run at once
    maxWorkers: 2,
    sequence: { sequencer: LongWaitsFirst },
    projects: [
      { extends: true, test: { name: "suite", include: ["test/**/*.test.ts"], exclude: [FAULTS], sequence: { groupOrder: 0 } } },
      // the fault suite bounds /healthz's answer to a second: it runs after the rest, alone
      { extends: true, test: { name: "faults", include: [FAULTS], sequence: { groupOrder: 1 } } },
    ],
  },
});
