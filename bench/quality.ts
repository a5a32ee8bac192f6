/**
 * `npm run bench:quality`: the alerts an operator would receive over weeks of real data. Every
 * dataset of the corpus (bench/corpus, labels in bench/corpus/labels.json) is loaded into an
 * embedded PGlite, given the config a newcomer writes (a structured source, no `detectors:`), and
 * replayed with `vigil backtest`'s code; then the NAB profiles (bench/nab.ts) on ../shared/nab.
 *
 *   npm run bench:quality [-- --json] [--hold-out NAME ...] [--held-out] [--dataset NAME ...]
 *                         [--set key=value ...] [--hints] [--no-nab] [--verbose]
 *
 * --hold-out NAME  judged and reported on its own, not in the overall figures (the protocol: tune
 *                  on the rest, then read the held-out figures once)
 * --held-out       every hold-out set of the corpus (`heldOut: true` in corpus.ts) as well: they are
 *                  left out unless named (here, with --hold-out or --dataset), and always judged apart
 * --dataset NAME   only these datasets
 * --set key=value  a metric-level config key for every metric (e.g. `--set fill=zero`), written
 *                  into the YAML, so that keys the schema does not know yet make the config fail
 * --hints          each metric's operator hints as well (calendar: weekdays, holidays: {country: US})
 * --no-nab         skip the NAB profiles
 * --verbose        list every alert outside an incident
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { PgliteDatabase } from "../src/db/pglite.js";
import { DATASETS, type DatasetSpec, datasetByName, readLabels } from "./corpus/corpus.js";
import { type DatasetQuality, evaluateDataset, type MetricQuality, TOLERANCE_BUCKETS } from "./corpus/evaluate.js";
import { type NabResults, runNab } from "./nab.js";

interface Args {
  json: boolean;
  holdOut: string[];
  only: string[];
  extra: string[];
  hints: boolean;
  nab: boolean;
  verbose: boolean;
  heldOutSets: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { json: false, holdOut: [], only: [], extra: [], hints: false, nab: true, verbose: false, heldOutSets: false };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i]!;
    if (x === "--json") a.json = true;
    else if (x === "--hold-out") a.holdOut.push(argv[++i] ?? "");
    else if (x === "--held-out") a.heldOutSets = true;
    else if (x === "--dataset") a.only.push(argv[++i] ?? "");
    else if (x === "--set") {
      const kv = argv[++i] ?? "";
      const eq = kv.indexOf("=");
      if (eq <= 0) throw new Error(`--set expects key=value, got '${kv}'`);
      a.extra.push(`${kv.slice(0, eq)}: ${kv.slice(eq + 1)}`);
    } else if (x === "--hints") a.hints = true;
    else if (x === "--no-nab") a.nab = false;
    else if (x === "--verbose") a.verbose = true;
    else throw new Error(`unknown argument '${x}'`);
  }
  for (const n of [...a.holdOut, ...a.only]) datasetByName(n);
  return a;
}

export interface Totals {
  metrics: number;
  incidents: number;
  caught: number;
  outside: number;
  outsideMissing: number;
  outsideValue: number;
  weeks: number;
  /** Alerts outside incidents per metric-week. */
  perWeek: number;
  /** Metrics with more alerts outside incidents than their budget (4 per 60 days of hourly data, per year of daily). */
  overBudget: number;
}

export function totals(ms: readonly MetricQuality[]): Totals {
  const t: Totals = {
    metrics: ms.length,
    incidents: 0,
    caught: 0,
    outside: 0,
    outsideMissing: 0,
    outsideValue: 0,
    weeks: 0,
    perWeek: 0,
    overBudget: 0,
  };
  for (const m of ms) {
    t.incidents += m.incidents.length;
    t.caught += m.incidents.filter((i) => i.caught).length;
    t.outside += m.outside.total;
    t.outsideMissing += m.outside.missing;
    t.outsideValue += m.outside.value;
    t.weeks += m.weeks;
    if (m.outside.total > m.budget) t.overBudget++;
  }
  t.perWeek = t.weeks > 0 ? t.outside / t.weeks : 0;
  return t;
}

function metricsOf(rs: readonly DatasetQuality[]): MetricQuality[] {
  return rs.flatMap((r) => ("metrics" in r ? r.metrics : []));
}

function printTotals(label: string, t: Totals): void {
  console.log(
    `${label.padEnd(10)} caught ${t.caught}/${t.incidents}  outside incidents ${t.outside} (missing ${t.outsideMissing}, value ${t.outsideValue})` +
      `  ${t.perWeek.toFixed(2)}/metric-week  metrics over budget: ${t.overBudget}/${t.metrics}`,
  );
}

function printDataset(r: DatasetQuality, verbose: boolean): void {
  if ("rejected" in r) {
    console.log(`${r.dataset}: config rejected`);
    for (const p of r.rejected) console.log(`  ${p}`);
    return;
  }
  for (const m of r.metrics) {
    const caught = m.incidents.filter((i) => i.caught).length;
    console.log(
      `${`${m.dataset}/${m.metric}`.padEnd(28)} ${m.from.slice(0, 10)}..${m.to.slice(0, 10)} ${m.weeks.toFixed(1).padStart(5)} wk` +
        `  caught ${caught}/${m.incidents.length}  outside ${String(m.outside.total).padStart(3)}` +
        ` (missing ${String(m.outside.missing).padStart(3)}, value ${String(m.outside.value).padStart(3)})  ${m.outside.perWeek.toFixed(2)}/wk` +
        `  budget ${m.budget}${m.outside.total > m.budget ? " EXCEEDED" : ""}`,
    );
    for (const i of m.incidents) {
      console.log(
        `    ${i.caught ? "caught" : "MISSED"} ${i.kind.padEnd(8)} ${i.start.slice(0, 16)} ${i.name}${i.by ? `  ← ${i.by.at.slice(0, 16)} ${i.by.reason}` : ""}`,
      );
    }
    const show = verbose ? m.falseAlerts : m.falseAlerts.slice(0, 3);
    for (const a of show) console.log(`    outside  ${a.at.slice(0, 16)} ${a.kind.padEnd(7)} ${a.reason}`);
    if (show.length < m.falseAlerts.length) console.log(`    … ${m.falseAlerts.length - show.length} more outside (--verbose)`);
  }
}

export async function benchQuality(
  argv: string[] = [],
): Promise<{ results: DatasetQuality[]; heldOut: DatasetQuality[]; nab: NabResults | null }> {
  const args = parseArgs(argv);
  const labels = readLabels();
  const named = (d: DatasetSpec) => args.only.includes(d.name) || args.holdOut.includes(d.name);
  // the hold-out sets only when named or asked for; the rest as before
  const chosen = DATASETS.filter((d) => named(d) || (d.heldOut ? args.heldOutSets : args.only.length === 0));
  const apart = (d: DatasetSpec) => args.holdOut.includes(d.name) || d.heldOut === true;
  const results: DatasetQuality[] = [];
  const heldOut: DatasetQuality[] = [];
  const started = performance.now();
  for (const ds of chosen) {
    // one fresh database per dataset: nothing of one leaks into another
    const db = await PgliteDatabase.open({ memory: true });
    try {
      const r = await evaluateDataset(db, ds, labels[ds.name] ?? { incidents: [] }, { extra: args.extra, hints: args.hints });
      (apart(ds) ? heldOut : results).push(r);
    } finally {
      await db.close();
    }
  }
  const corpusMs = performance.now() - started;
  const nab = args.nab ? await runNab([]) : null;
  if (args.json) {
    console.log(
      JSON.stringify({
        config: {
          policy: "newcomer: structured source, no detectors",
          extra: args.extra,
          hints: args.hints,
          toleranceBuckets: TOLERANCE_BUCKETS,
        },
        overall: totals(metricsOf(results)),
        datasets: results,
        heldOut: heldOut.length > 0 ? { overall: totals(metricsOf(heldOut)), datasets: heldOut } : null,
        nab: nab && { total: nab.total, perFolder: nab.perFolder },
      }),
    );
    return { results, heldOut, nab };
  }
  console.log(
    `vigil quality corpus — newcomer config (structured source, no detectors:)${args.extra.length ? `, plus ${args.extra.join("; ")}` : ""}` +
      `${args.hints ? ", with operator hints" : ""}; an alert catches an incident when it fires inside its window or up to ${TOLERANCE_BUCKETS} buckets after`,
  );
  for (const r of results) printDataset(r, args.verbose);
  printTotals("overall", totals(metricsOf(results)));
  const rejected = [...results, ...heldOut].filter((r) => "rejected" in r).map((r) => r.dataset);
  if (rejected.length > 0) console.log(`config rejected, not judged: ${rejected.join(", ")}`);
  if (heldOut.length > 0) {
    console.log("held out:");
    for (const r of heldOut) printDataset(r, args.verbose);
    printTotals("held out", totals(metricsOf(heldOut)));
  }
  const notRun = DATASETS.filter((d) => d.heldOut && !chosen.includes(d)).map((d) => d.name);
  if (notRun.length > 0) console.log(`hold-out sets not run (name them, or --held-out): ${notRun.join(", ")}`);
  console.log(`(${(corpusMs / 1000).toFixed(1)} s)`);
  if (nab) {
    console.log(`NAB (../shared/nab, default ensemble): ${nab.files} files, ${nab.rows} points, ${nab.flags} flags`);
    for (const p of nab.total) {
      console.log(
        `  ${p.profile.padEnd(20)} NAB ${p.normalized.toFixed(2).padStart(6)}  windows ${p.windowsDetected}/${p.windows}  fp events ${p.fpEvents}`,
      );
    }
    for (const { folder, results: rs } of nab.perFolder) {
      const std = rs[0];
      console.log(
        `  ${folder.padEnd(22)} ${rs.map((x) => (x.windows > 0 ? x.normalized.toFixed(1) : "n/a").padStart(6)).join(" /")}  windows ${std?.windowsDetected}/${std?.windows}  fp events ${std?.fpEvents}`,
      );
    }
  }
  return { results, heldOut, nab };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await benchQuality(process.argv.slice(2));
}
