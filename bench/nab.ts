/**
 * `npm run bench:nab`: run the `vigil detect` pipeline (in-process, same code path) over every NAB
 * series in ../shared/nab/data with ONE configuration, write the results under bench/out/nab/, and
 * score vigil's own flags (is_anomaly) with the shared NAB scorer: overall and per folder.
 *
 * Honesty rules: the detector sees only the points, one at a time; no file names, no labels (the
 * labels are read here only to hand a per-folder subset to the scorer, after detection is done).
 *
 *   npm run bench:nab [-- --detector NAME --set key=value ... --json]
 */
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { createWriteStream, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { detectCsv } from "../src/cli/detect/detect-csv.js";
import { resolveDetector } from "../src/cli/detect/detector-params.js";
import { openCsv } from "../src/cli/detect/read-series-csv.js";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** VIGIL_NAB_DIR: a folder with data/, labels/combined_windows.json and score.mjs; the project workspace's copy otherwise. */
const nab = process.env.VIGIL_NAB_DIR ? resolve(process.env.VIGIL_NAB_DIR) : resolve(repo, "..", "shared", "nab");
const dataDir = join(nab, "data");
const labelsFile = join(nab, "labels", "combined_windows.json");
const outDir = join(repo, "bench", "out", "nab");

export interface ProfileResult {
  profile: string;
  normalized: number;
  windows: number;
  windowsDetected: number;
  fpEvents: number;
}

export function listCsv(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...listCsv(p));
    else if (e.name.endsWith(".csv")) out.push(p);
  }
  return out.sort();
}

function score(labels: string): ProfileResult[] {
  const text = execFileSync(process.execPath, [join(nab, "score.mjs"), "score", "--results", outDir, "--labels", labels, "--json"], {
    encoding: "utf8",
  });
  return JSON.parse(text) as ProfileResult[];
}

function parseArgs(argv: string[]): { detector?: string; sets: string[]; json: boolean } {
  const sets: string[] = [];
  let detector: string | undefined;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--set") sets.push(argv[++i] ?? "");
    else if (a === "--detector") detector = argv[++i];
    else if (a === "--json") json = true;
  }
  return detector === undefined ? { sets, json } : { detector, sets, json };
}

export interface NabResults {
  files: number;
  rows: number;
  flags: number;
  ms: number;
  total: ProfileResult[];
  perFolder: Array<{ folder: string; results: ProfileResult[] }>;
}

/** Detect and score without printing (bench:quality reports the same figures). */
export async function runNab(argv: string[] = []): Promise<NabResults> {
  const args = parseArgs(argv);
  const { detector, params } = resolveDetector(args.detector, args.sets);
  const files = listCsv(dataDir);
  const started = performance.now();
  let rows = 0;
  let flags = 0;
  for (const file of files) {
    const rel = relative(dataDir, file);
    const target = join(outDir, rel);
    mkdirSync(dirname(target), { recursive: true });
    const out = createWriteStream(target);
    const s = await detectCsv(openCsv(file), out, rel, detector, params);
    out.end();
    await once(out, "finish");
    rows += s.rows;
    flags += s.anomalies;
  }
  const ms = performance.now() - started;
  const total = score(labelsFile);
  // per-folder figures: the scorer on the subset of label keys under each folder
  const labels = JSON.parse(readFileSync(labelsFile, "utf8")) as Record<string, unknown>;
  const folders = [...new Set(Object.keys(labels).map((k) => k.split("/")[0]!))].sort();
  const perFolder: Array<{ folder: string; results: ProfileResult[] }> = [];
  for (const folder of folders) {
    const subset = Object.fromEntries(Object.entries(labels).filter(([k]) => k.startsWith(`${folder}/`)));
    const f = join(repo, "bench", "out", `nab-labels-${folder}.json`);
    writeFileSync(f, JSON.stringify(subset));
    perFolder.push({ folder, results: score(f) });
  }
  return { files: files.length, rows, flags, ms, total, perFolder };
}

export async function benchNab(argv: string[] = []): Promise<ProfileResult[]> {
  const args = parseArgs(argv);
  const { files, rows, flags, ms, total, perFolder } = await runNab(argv);
  if (args.json) {
    console.log(JSON.stringify({ total, perFolder }));
    return total;
  }
  console.log(`vigil detect --detector ${args.detector ?? "(default ensemble)"} ${args.sets.map((s) => `--set ${s}`).join(" ")}`);
  console.log(`${files} files, ${rows} points, ${flags} flags, ${ms.toFixed(0)} ms`);
  for (const r of total) {
    console.log(
      `${r.profile.padEnd(20)} NAB ${r.normalized.toFixed(2).padStart(6)}  windows ${r.windowsDetected}/${r.windows}  fp events ${r.fpEvents}`,
    );
  }
  console.log("per folder (standard / low FP / low FN; windows; fp events):");
  for (const { folder, results } of perFolder) {
    const std = results[0];
    console.log(
      `  ${folder.padEnd(22)} ${results.map((r) => (r.windows > 0 ? r.normalized.toFixed(1) : "n/a").padStart(6)).join(" /")}` +
        `  windows ${std?.windowsDetected}/${std?.windows}  fp events ${std?.fpEvents}`,
    );
  }
  return total;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await benchNab(process.argv.slice(2));
}
