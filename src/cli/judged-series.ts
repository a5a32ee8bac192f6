/**
 * What `vigil run --once` says about every series it judged, healthy ones included, so a first
 * run is never silent: one line per series (metric, series, bucket, value, expected, verdict),
 * and past a screenful only the anomalous ones and a count of the rest.
 */
import type { Verdict } from "../../detectors/types.js";
import type { MetricConfig } from "../config/types.js";
import { buildDetectors } from "../engine/build-detectors.js";
import type { MetricReport } from "../engine/reports.js";
import { fmtNum } from "../model/format.js";
import type { Point } from "../model/point.js";
import { isoSeconds } from "./alert-detail.js";
import { textTable } from "./text-table.js";

/** One series' verdict over the buckets this run judged. */
export interface JudgedSeries {
  metric: string;
  series: string;
  buckets: number;
  anomalousBuckets: number;
  /** The bucket shown: the latest anomalous one, else the latest. */
  t: number;
  value: number | null;
  expected: number | null;
  /** Indexes (in the metric's detector list) of the detectors that found the shown bucket anomalous. */
  anomalousBy: number[];
}

/** Collects the engine's `onJudged` calls into one JudgedSeries per (metric, series). */
export class JudgedCollector {
  private readonly series = new Map<string, JudgedSeries>();

  readonly onJudged = (metric: string, series: string, p: Point, verdicts: readonly Verdict[], anomalous: readonly boolean[]): void => {
    const key = `${metric}\u001f${series}`;
    const by = anomalous.flatMap((a, i) => (a ? [i] : []));
    const shown = verdicts[by[0] ?? verdicts.findIndex((v) => v.expected !== null)];
    const prev = this.series.get(key);
    const entry: JudgedSeries = prev ?? {
      metric,
      series,
      buckets: 0,
      anomalousBuckets: 0,
      t: p.t,
      value: null,
      expected: null,
      anomalousBy: [],
    };
    entry.buckets++;
    if (by.length > 0) entry.anomalousBuckets++;
    // a later healthy bucket does not hide an earlier anomalous one
    if (by.length > 0 || entry.anomalousBuckets === 0)
      Object.assign(entry, { t: p.t, value: p.v, expected: shown?.expected ?? null, anomalousBy: by });
    this.series.set(key, entry);
  };

  list(): JudgedSeries[] {
    return [...this.series.values()].sort((a, b) => a.metric.localeCompare(b.metric) || a.series.localeCompare(b.series));
  }
}

export interface JudgedReportOptions {
  /** Detector names of a metric, by index (fingerprint families). */
  detectorsOf: (metric: string) => readonly string[];
  /** More rows than this: list only the anomalous series (at most this many) and count the others. */
  screenful?: number;
}

/** A metric's detector names (fingerprint families) by index, as the engine numbers its verdicts. */
export function detectorNames(metrics: readonly MetricConfig[]): (metric: string) => readonly string[] {
  const known = new Map<string, string[]>();
  return (name) => {
    let names = known.get(name);
    if (!names) {
      const m = metrics.find((x) => x.name === name);
      names = m ? buildDetectors(m).map((d) => d.family) : [];
      known.set(name, names);
    }
    return names;
  };
}

function verdict(s: JudgedSeries, names: readonly string[]): string {
  const of = s.buckets > 1 ? ` (${s.anomalousBuckets > 0 ? `${s.anomalousBuckets} of ` : ""}${s.buckets} buckets)` : "";
  if (s.anomalousBuckets === 0) return `ok${of}`;
  return `ANOMALOUS: ${s.anomalousBy.map((i) => names[i] ?? `detector ${i + 1}`).join(", ")}${of}`;
}

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`;

/** The lines to print: a table, then one summary line. */
export function judgedReport(judged: readonly JudgedSeries[], metrics: readonly MetricReport[], opts: JudgedReportOptions): string {
  const screenful = opts.screenful ?? 40;
  const seen = new Set(judged.map((s) => s.metric));
  // metrics whose query worked but brought no bucket to judge
  const idle = metrics.filter((m) => m.ok && !seen.has(m.metric));
  const anomalous = judged.filter((s) => s.anomalousBuckets > 0);
  const row = (s: JudgedSeries) => [
    s.metric,
    s.series || "-",
    isoSeconds(s.t),
    fmtNum(s.value),
    fmtNum(s.expected),
    verdict(s, opts.detectorsOf(s.metric)),
  ];
  const idleRow = (m: MetricReport) => [
    m.metric,
    "-",
    "-",
    "-",
    "-",
    "nothing judged: no bucket closed since the last run, or it had no rows",
  ];
  const all = judged.length + idle.length <= screenful;
  const shown = all ? [...judged.map(row), ...idle.map(idleRow)] : anomalous.slice(0, screenful).map(row);
  const lines: string[] = [];
  if (shown.length > 0) lines.push(textTable(["METRIC", "SERIES", "BUCKET", "VALUE", "EXPECTED", "VERDICT"], shown));
  const ok = judged.length - anomalous.length;
  const summary = all
    ? [`${judged.length} series judged: ${anomalous.length} anomalous, ${ok} ok`]
    : [
        `${judged.length} series judged: ${anomalous.length} anomalous${anomalous.length > screenful ? ` (the first ${screenful} listed)` : ""}, ${ok} ok (not listed: more than ${screenful} lines)`,
      ];
  if (idle.length > 0) summary.push(`${plural(idle.length, "metric")} with nothing to judge`);
  lines.push(summary.join("; "));
  return lines.join("\n");
}
