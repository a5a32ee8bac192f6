/**
 * The offline detection pipeline behind `vigil detect` and `npm run bench:nab`: stream a CSV in,
 * fold the detector over it point by point (streaming semantics: point i is judged from 0..i),
 * stream `timestamp,value,anomaly_score,is_anomaly` out.
 */
import { once } from "node:events";
import type { Readable, Writable } from "node:stream";
import { type EnsembleParams, type EnsembleState, ensemble, ensembleColumns } from "../../detectors/ensemble.js";
import type { AnyDetector } from "../../detectors/registry.js";
import type { Point } from "../../detectors/types.js";
import { BATCH, readSeriesCsv } from "./read-series-csv.js";

export interface DetectSummary {
  rows: number;
  anomalies: number;
}

// Scores are written with 4 decimals; a lookup table of ",score,flag\n" endings avoids a
// float-to-string and a template per row: index 2 × (score in 1/10,000, clamped) + flag.
const ENDINGS: string[] = [];
for (let i = 0; i <= 10_000; i++) {
  const text = i === 0 ? "0" : i === 10_000 ? "1" : String(i / 10_000);
  ENDINGS.push(`,${text},0\n`, `,${text},1\n`);
}

function scoreIndex(score: number): number {
  const i = Math.round(score * 10_000);
  return i > 0 ? Math.min(i, 10_000) : 0;
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
  // the default ensemble has a column form (same verdicts, no object per point); others go point by point
  const columns = detector === (ensemble as unknown as AnyDetector);
  // one mutable point: detectors must not keep references to it (their state is cloneable data)
  const point: Point = { t: 0, v: null };
  const score = new Float64Array(BATCH);
  const flag = new Uint8Array(BATCH);
  let rows = 0;
  let anomalies = 0;
  // the header goes out with the first batch, so a file rejected in its first batch writes nothing
  let header = "timestamp,value,anomaly_score,is_anomaly\n";
  for await (const b of readSeriesCsv(input, where)) {
    const n = b.n;
    if (columns) ensembleColumns(state as EnsembleState, params as EnsembleParams, b.t, b.v, n, score, flag);
    else {
      for (let i = 0; i < n; i++) {
        point.t = b.t[i]!;
        const v = b.v[i]!;
        point.v = Number.isNaN(v) ? null : v;
        const verdict = detector.step(state, point, params);
        score[i] = verdict.score;
        flag[i] = verdict.anomaly ? 1 : 0;
      }
    }
    const ts = b.timestampText;
    const vs = b.valueText;
    const rs = b.rowText;
    let out = header;
    header = "";
    for (let i = 0; i < n; i++) {
      const f = flag[i]!;
      anomalies += f;
      // echo the row as read when it is just "timestamp,value" (one concatenation instead of three)
      const row = rs[i];
      out += (row ?? ts[i] + "," + vs[i]) + ENDINGS[scoreIndex(score[i]!) * 2 + f];
    }
    rows += n;
    if (!output.write(out)) await once(output, "drain");
  }
  if (header.length > 0 && !output.write(header)) await once(output, "drain");
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
