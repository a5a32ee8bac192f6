#!/usr/bin/env node
/**
 * `npm run lint` step: every relative import in src/, detectors/ and notifiers/ must go to the same
 * layer or a lower one (docs/architecture.md draws them), and no source file may exceed 450 lines.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
const MAX_LINES = 450;

/** Bottom to top; a module is placed by its longest matching prefix (a folder or a file without `.ts`). */
const LAYERS = [
  ["src/model", "src/telemetry", "src/clock", "src/group-by", "src/holidays", "src/log", "src/name-hash", "src/spawn-worker"],
  ["detectors"],
  ["src/config", "src/db"],
  ["src/sources", "src/charts"],
  ["src/store"],
  ["src/notify", "notifiers"],
  ["src/engine", "src/experiments", "src/actions", "src/digest"],
  ["src/bot", "src/http", "src/source-fetcher", "src/leader", "src/scheduler", "src/until-reachable"],
  ["src/daemon"],
  ["src/cli", "src/demo"],
];

function layerOf(file) {
  const path = file.replace(/\.ts$/, "");
  let best = { layer: -1, prefix: "" };
  LAYERS.forEach((prefixes, layer) => {
    for (const p of prefixes) if ((path === p || path.startsWith(`${p}/`)) && p.length > best.prefix.length) best = { layer, prefix: p };
  });
  return best;
}

function sources(dir) {
  const out = [];
  for (const e of readdirSync(join(repo, dir), { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...sources(p));
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out;
}

const problems = [];
const importPattern = /(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)\.js["']/g;
for (const file of ["src", "detectors", "notifiers"].flatMap(sources)) {
  const text = readFileSync(join(repo, file), "utf8");
  const lines = text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
  if (lines > MAX_LINES) problems.push(`${file}: ${lines} lines (at most ${MAX_LINES})`);
  const from = layerOf(file);
  if (from.layer < 0) {
    problems.push(`${file}: in no layer; add its folder to LAYERS in scripts/check-layers.mjs and to docs/architecture.md`);
    continue;
  }
  for (const [, spec] of text.matchAll(importPattern)) {
    let target = relative(repo, normalize(join(repo, dirname(file), `${spec}.ts`)));
    if (!existsSync(join(repo, target)) && existsSync(join(repo, target.replace(/\.ts$/, "/index.ts"))))
      target = target.replace(/\.ts$/, "/index.ts");
    const to = layerOf(target);
    if (to.layer > from.layer) problems.push(`${file}: imports ${target} (layer ${to.prefix}) from the lower layer ${from.prefix}`);
  }
}
if (problems.length > 0) {
  console.error(problems.join("\n"));
  process.exit(1);
}
