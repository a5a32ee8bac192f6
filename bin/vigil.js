#!/usr/bin/env node
// Launcher: runs the compiled CLI (built by `npm ci` through the prepare script). `vigil run`
// started without memory settings of its own is started again as a child with the settings the
// Docker image uses, so `npx vigil run` and `node bin/vigil.js run` keep the same memory budget.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const self = fileURLToPath(import.meta.url);
const root = join(dirname(self), "..");
const entry = join(root, "dist", "src", "cli", "main.js");
if (!existsSync(entry)) {
  process.stderr.write("vigil: not built yet; run `npm run build` (npm ci does it for you)\n");
  process.exit(1);
}

/** V8: a small young generation, and an old one that grows to 1.2× its live size (docs/operations.md, "The launcher and memory flags"). */
const NODE_FLAGS = ["--max-semi-space-size=4", "--heap-growing-percent=20"];

function tunedAlready() {
  const own = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)];
  return (
    process.env.VIGIL_TUNED === "1" || own.some((a) => a.startsWith("--max-semi-space-size") || a.startsWith("--heap-growing-percent"))
  );
}

if (process.argv[2] === "run" && !tunedAlready()) {
  const child = spawn(process.execPath, [...process.execArgv, ...NODE_FLAGS, self, ...process.argv.slice(2)], {
    stdio: "inherit",
    // glibc: large short-lived buffers get mappings of their own, returned when freed
    env: { MALLOC_MMAP_THRESHOLD_: "131072", ...process.env, VIGIL_TUNED: "1" },
  });
  for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"]) process.on(sig, () => child.kill(sig));
  child.on("exit", (code, signal) => process.exit(code ?? (signal === "SIGKILL" ? 137 : 143)));
} else {
  const { main } = await import(entry);
  process.exitCode = await main(process.argv);
}
