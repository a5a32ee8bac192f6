/**
 * `npx tsx bench/bursty.ts`: the default detector (or `--detector`/`--set`, as bench:nab) over the
 * bursty stand-in corpus (bench/corpus/bursty, README there), one configuration for all files:
 *  - the NAB score of vigil's flags against the corpus's labelled windows (shared NAB scorer), for
 *    the tuning part and the held-out group (HELD_OUT) apart;
 *  - false alarms per week: flags outside labelled windows, after the first 15% of each file;
 *  - injected incidents (seeded, deterministic): one clearly large incident per file, placed past
 *    40% of the file and away from labelled windows (a spike to 3× the file's maximum so far, a drop
 *    to zero for 24 buckets, or a tripling of the level for 48 buckets): caught when a flag falls in
 *    it or within 6 buckets after its start.
 * `--data DIR` adds unlabelled files from DIR (false alarms and injections only).
 * Labels are read only here, after detection, never by the detector.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { detectCsv } from "../src/cli/detect/detect-csv.js";
import { resolveDetector } from "../src/cli/detect/detector-params.js";
import { rng } from "../src/demo/synthetic.js";
import { listCsv } from "./nab.js";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const corpus = join(repo, "bench", "corpus", "bursty");
const scorer = resolve(repo, "..", "shared", "nab", "score.mjs");
const outDir = join(repo, "bench", "out", "bursty");
/** The group kept out of tuning. */
export const HELD_OUT = "consumer-purchase-rate";
const WEEK_MS = 7 * 86_400_000;

function parseTs(s: string): number {
  return Date.parse(`${s.slice(0, 19).replace(" ", "T")}Z`);
}

interface Series {
  rel: string;
  t: number[];
  v: number[];
}

function load(file: string, rel: string): Series {
  const lines = readFileSync(file, "utf8").trim().split("\n").slice(1);
  const t: number[] = [];
  const v: number[] = [];
  for (const l of lines) {
    const [a, b] = l.split(",");
    t.push(parseTs(a!));
    v.push(b === undefined || b === "" ? Number.NaN : Number(b));
  }
  return { rel, t, v };
}

function toCsv(s: Series): string {
  const rows = ["timestamp,value"];
  for (let i = 0; i < s.t.length; i++)
    rows.push(`${new Date(s.t[i]!).toISOString().replace("T", " ").slice(0, 19)},${Number.isNaN(s.v[i]!) ? "" : s.v[i]}`);
  return `${rows.join("\n")}\n`;
}

/** Run the detector over one series; the flags, and the result CSV written under `target` when given. */
async function detect(s: Series, detector: Parameters<typeof detectCsv>[3], params: unknown, target?: string): Promise<boolean[]> {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(c: Buffer, _e, cb) {
      chunks.push(c);
      cb();
    },
  });
  await detectCsv(Readable.from([toCsv(s)]), sink, s.rel, detector, params);
  const text = Buffer.concat(chunks).toString("utf8");
  if (target !== undefined) {
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, text);
  }
  return text
    .trim()
    .split("\n")
    .slice(1)
    .map((l) => l.endsWith(",1"));
}

function inWindow(t: number, wins: Array<[number, number]>, pad = 0): boolean {
  return wins.some(([a, b]) => t >= a - pad && t <= b + pad);
}

interface Tally {
  files: number;
  falseAlarms: number;
  weeks: number;
  injected: number;
  caught: number;
  missedFiles: string[];
}

function tally(): Tally {
  return { files: 0, falseAlarms: 0, weeks: 0, injected: 0, caught: 0, missedFiles: [] };
}

function score(
  labels: Record<string, unknown>,
  name: string,
): Array<{ profile: string; normalized: number; windows: number; windowsDetected: number; fpEvents: number }> {
  const f = join(repo, "bench", "out", `bursty-labels-${name}.json`);
  writeFileSync(f, JSON.stringify(labels));
  return JSON.parse(execFileSync(process.execPath, [scorer, "score", "--results", outDir, "--labels", f, "--json"], { encoding: "utf8" }));
}

export async function benchBursty(argv: string[]): Promise<void> {
  const sets: string[] = [];
  let name: string | undefined;
  let extra: string | undefined;
  let verbose = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--set") sets.push(argv[++i] ?? "");
    else if (argv[i] === "--detector") name = argv[++i];
    else if (argv[i] === "--data") extra = argv[++i];
    else if (argv[i] === "--verbose") verbose = true;
  }
  const { detector, params } = resolveDetector(name, sets);
  const labelsText = JSON.parse(readFileSync(join(corpus, "labels.json"), "utf8")) as Record<string, Array<[string, string]>>;
  const dataDir = join(corpus, "data");
  const files = listCsv(dataDir).map((f) => ({ file: f, rel: relative(dataDir, f), labelled: true }));
  if (extra !== undefined) for (const f of listCsv(extra)) files.push({ file: f, rel: `extra/${relative(extra, f)}`, labelled: false });
  const groups = new Map<string, Tally>();
  const started = performance.now();
  for (const { file, rel, labelled } of files) {
    const s = load(file, rel);
    const wins = (labelsText[rel] ?? []).map(([a, b]) => [parseTs(a), parseTs(b)] as [number, number]);
    const flags = await detect(s, detector, params, labelled ? join(outDir, rel) : undefined);
    const g = rel.startsWith(`${HELD_OUT}/`) ? "held-out" : rel.startsWith("extra/") ? "extra" : "tuning";
    const ta = groups.get(g) ?? tally();
    groups.set(g, ta);
    ta.files++;
    const n = s.t.length;
    const prob = Math.floor(0.15 * n);
    const step = (s.t[n - 1]! - s.t[0]!) / (n - 1);
    let quiet = 0;
    let fa = 0;
    for (let i = prob; i < n; i++) {
      if (inWindow(s.t[i]!, wins)) continue;
      quiet++;
      if (flags[i]) fa++;
    }
    ta.falseAlarms += fa;
    if (verbose) console.log(`  ${rel}: ${fa} false alarms, ${flags.filter((x) => x).length} flags, windows ${wins.length}`);
    ta.weeks += (quiet * step) / WEEK_MS;
    // one injected incident, away from labelled windows
    const r = rng(n * 7919 + rel.length);
    const kindPick = Math.floor(r() * 3);
    const vals = s.v.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
    const median = vals[vals.length >> 1] ?? 0;
    const kind = kindPick === 1 && median <= 0 ? 0 : kindPick;
    const len = kind === 0 ? 1 : kind === 1 ? 24 : 48;
    let at = -1;
    for (let tries = 0; tries < 50 && at < 0; tries++) {
      const c = Math.floor(n * (0.4 + 0.5 * r()));
      if (c + len + 6 >= n) continue;
      const pad = 24 * step;
      if (!inWindow(s.t[c]!, wins, pad) && !inWindow(s.t[Math.min(n - 1, c + len)]!, wins, pad)) at = c;
    }
    if (at < 0) continue;
    const v = s.v.slice();
    let prefixMax = 0;
    for (let i = 0; i < at; i++) if (v[i]! > prefixMax) prefixMax = v[i]!;
    for (let i = at; i < at + len; i++) {
      if (kind === 0) v[i] = 3 * prefixMax + 1;
      else if (kind === 1) v[i] = 0;
      else v[i] = 3 * v[i]! + median;
    }
    const f2 = await detect({ rel: s.rel, t: s.t, v }, detector, params);
    ta.injected++;
    let hit = false;
    for (let i = at; i < at + Math.max(len, 7) && !hit; i++) hit = f2[i] === true;
    if (hit) ta.caught++;
    else ta.missedFiles.push(`${rel} (${["spike", "drop to 0", "level ×3"][kind]} at ${at})`);
  }
  const ms = performance.now() - started;
  const heldOut = Object.fromEntries(Object.entries(labelsText).filter(([k]) => k.startsWith(`${HELD_OUT}/`)));
  const tuning = Object.fromEntries(Object.entries(labelsText).filter(([k]) => !k.startsWith(`${HELD_OUT}/`)));
  console.log(
    `bursty corpus: ${files.length} files, ${ms.toFixed(0)} ms; detector ${name ?? "(default ensemble)"} ${sets.map((x) => `--set ${x}`).join(" ")}`,
  );
  for (const [label, sub] of [
    ["tuning", tuning],
    ["held-out", heldOut],
  ] as const) {
    const res = score(sub, label);
    const ta = groups.get(label)!;
    console.log(
      `${label.padEnd(9)} NAB ${res.map((x) => x.normalized.toFixed(1)).join(" / ")}  windows ${res[0]!.windowsDetected}/${res[0]!.windows}  fp events ${res[0]!.fpEvents}` +
        `  false alarms ${(ta.falseAlarms / ta.weeks).toFixed(2)}/week (${ta.falseAlarms} in ${ta.weeks.toFixed(1)} weeks)  injected caught ${ta.caught}/${ta.injected}`,
    );
    for (const m of ta.missedFiles) console.log(`    missed ${m}`);
  }
  const ex = groups.get("extra");
  if (ex !== undefined) {
    console.log(
      `extra     false alarms ${(ex.falseAlarms / ex.weeks).toFixed(2)}/week (${ex.falseAlarms} in ${ex.weeks.toFixed(1)} weeks)  injected caught ${ex.caught}/${ex.injected}`,
    );
    for (const m of ex.missedFiles) console.log(`    missed ${m}`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await benchBursty(process.argv.slice(2));
}
