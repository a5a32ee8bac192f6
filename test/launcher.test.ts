/**
 * `node bin/vigil.js run` (what `npx vigil run` starts): the daemon runs with the Docker image's
 * memory settings without the user passing them, and stops gracefully on SIGTERM sent to the
 * launcher alone or to both processes at once (a terminal's Ctrl-C, systemd).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { daemonConfig, ROOT, spawnNode, until, waitExit } from "./helpers/cli.js";
import { openSubprocessDatabase, subprocessEnv } from "./helpers/db.js";
import { freePort } from "./helpers/net.js";
import { createMetricTable } from "./helpers/series.js";
import { tempDirFor } from "./helpers/temp-dir.js";

const LAUNCHER = join(ROOT, "bin", "vigil.js");
const built = existsSync(join(ROOT, "dist", "src", "cli", "main.js"));

function childOf(pid: number): number | null {
  try {
    const out = execFileSync("pgrep", ["-P", String(pid)], { encoding: "utf8" }).trim();
    return out ? Number(out.split("\n")[0]) : null;
  } catch {
    return null;
  }
}

// the launcher runs the compiled CLI: `npm ci` builds it (CI), `npm run build` does locally
describe.runIf(built)("the launcher (bin/vigil.js)", () => {
  const dir = tempDirFor("vigil-launcher-");

  it("runs the daemon with the memory settings of the Docker image, and SIGTERM to the launcher or to both stops it gracefully", async () => {
    const t = await openSubprocessDatabase();
    try {
      await createMetricTable(t.db, "launched");
      if (t.dataDir) await t.db.close();
      const env = subprocessEnv(t);
      for (const both of [false, true]) {
        const port = await freePort();
        const cfg = await daemonConfig(
          join(dir(), `launched-${port}.yaml`),
          port,
          "  - name: launched\n    source: {table: launched, time_column: ts, value: count(*), granularity: 1h}\n",
        );
        // NODE_OPTIONS empty: no flags of the user's (a test runner's) to keep
        const launcher = spawnNode([LAUNCHER, "run", "-c", cfg], { NODE_OPTIONS: "", ...env });
        const exited = waitExit(launcher);
        await until(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.ok, "healthz");
        const daemon = (await until(() => childOf(launcher.pid!), "the daemon process"))!;
        // the settings of the Docker image, read from the Dockerfile: one source of truth
        const docker = readFileSync(join(ROOT, "Dockerfile"), "utf8");
        const flags = (JSON.parse(/^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(docker)![1]!) as string[]).filter((a) => a.startsWith("--"));
        const malloc = [...docker.matchAll(/^ENV\s+(MALLOC_\S+)$/gm)].map((m) => m[1]!);
        expect(flags.length).toBeGreaterThan(0);
        expect(malloc.length).toBeGreaterThan(0);
        expect(readFileSync(`/proc/${daemon}/cmdline`, "utf8").split("\0")).toEqual(expect.arrayContaining(flags));
        expect(readFileSync(`/proc/${daemon}/environ`, "utf8").split("\0")).toEqual(expect.arrayContaining(malloc));
        launcher.kill("SIGTERM");
        if (both) process.kill(daemon, "SIGTERM");
        const r = await exited;
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toContain("vigil stopped");
      }
    } finally {
      await t.close();
    }
  });
});
