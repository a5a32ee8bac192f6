#!/usr/bin/env node
// Thin launcher: runs the compiled CLI (built by `npm ci` through the prepare script).
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const entry = join(root, "dist", "src", "cli", "main.js");
if (!existsSync(entry)) {
  process.stderr.write("vigil: not built yet; run `npm run build` (npm ci does it for you)\n");
  process.exit(1);
}
const { main } = await import(entry);
process.exitCode = await main(process.argv);
