/**
 * The offline detection pipeline behind `vigil detect` and `npm run bench:nab`: stream a CSV in,
 * fold the detector over it point by point (streaming semantics: point i is judged from 0..i),
 * stream `timestamp,value,anomaly_score,is_anomaly` out.
 */
import { once } from "node:events";
import type { Readable, Writable } from "node:stream";
import type { AnyDetector } from "../../detectors/registry.js";
import type { Point } from "../../detectors/types.js";
import { readSeriesCsv } from "./read-series-csv.js";

export interface DetectSummary {
  rows: number;
  anomalies: number;
}

// Scores are written with 4 decimals; a lookup table avoids a float-to-string per row.
const SCORE_TEXT: string[] = Array.from({ length: 10_001 }, (_, i) => String(i / 10_000));

function scoreText(score: number): string {
  const i = Math.round(score * 10_000);
  return i > 0 ? (i < 10_000 ? SCORE_TEXT[i]! : "1") : "0";
}

/**
 * Run `detector` with parsed `params` over the CSV on `input`, writing the result CSV to `output`.
 * `where` names the input in error messages.
 */
export async function detectCsv(
  input: Readable,
  output: Writable,
  where: string,
  detector: AnyDetector,
  params: unknown,
): Promise<DetectSummary> {
  const state = detector.init(params);
  // one mutable point: detectors must not keep references to it (their state is cloneable data)
  const point: Point = { t: 0, v: null };
  let rows = 0;
  let anomalies = 0;
  let out = "timestamp,value,anomaly_score,is_anomaly\n";
  for await (const b of readSeriesCsv(input, where)) {
    for (let i = 0; i < b.n; i++) {
      point.t = b.t[i]!;
      const v = b.v[i]!;
      point.v = Number.isNaN(v) ? null : v;
      const verdict = detector.step(state, point, params);
      const flag = verdict.anomaly;
      if (flag) anomalies++;
      out += `${b.timestampText[i]},${b.valueText[i]},${scoreText(verdict.score)},${flag ? "1" : "0"}\n`;
    }
    rows += b.n;
    if (!output.write(out)) await once(output, "drain");
    out = "";
  }
  if (out.length > 0 && !output.write(out)) await once(output, "drain");
  return { rows, anomalies };
}

/** Read and parse only (the baseline `vigil detect` is measured against). */
export async function parseCsvOnly(input: Readable, where: string): Promise<number> {
  let rows = 0;
  let sink = 0;
  for await (const b of readSeriesCsv(input, where)) {
    for (let i = 0; i < b.n; i++) sink += b.t[i]! + (Number.isNaN(b.v[i]!) ? 0 : 1);
    rows += b.n;
  }
  return sink === Number.NEGATIVE_INFINITY ? -1 : rows;
}
