/**
 * The offline detection pipeline behind `vigil detect` and `npm run bench:nab`: stream a CSV in,
 * fold the detector over it point by point (streaming semantics: point i is judged from 0..i),
 * stream `timestamp,value,anomaly_score,is_anomaly` out.
 *
 * Large inputs run as a two-stage pipeline: the main thread reads, parses and writes while the
 * detector thread judges the batch before (the detector is the costlier stage and needs no I/O).
 * The verdicts are the same either way: one state, fed every point in order.
 */
import { once } from "node:events";
import type { Readable, Writable } from "node:stream";
import type { AnyDetector } from "../../../detectors/registry.js";
import { DetectorThread } from "./detector-thread.js";
import { judgeColumns } from "./judge-columns.js";
import { BATCH, type CsvBatch, readSeriesCsv } from "./read-series-csv.js";

export interface DetectSummary {
  rows: number;
  anomalies: number;
}

export interface DetectOptions {
  /** Judge on a separate thread while this one reads and writes (worth it from ~100,000 rows). */
  thread?: boolean;
}

/** Inputs from this size on (about 100,000 rows) are judged on the detector thread: below it, starting the thread costs more than it saves. */
export const THREAD_MIN_BYTES = 4 << 20;

const HEADER = "timestamp,value,anomaly_score,is_anomaly\n";
/** Batches parsed ahead of the detector thread (enough to keep parsing while the thread starts). */
const DEPTH = 16;

// Scores are written with 4 decimals; a lookup table of ",score,flag\n" endings avoids a
// float-to-string and a template per row: index 2 × (score in 1/10,000, clamped) + flag.
const ENDINGS: string[] = [];
for (let i = 0; i <= 10_000; i++) {
  const text = i === 0 ? "0" : i === 10_000 ? "1" : String(i / 10_000);
  ENDINGS.push(`,${text},0\n`, `,${text},1\n`);
}
/** The same endings as bytes, back to back: ending j is `END_BYTES[END_AT[j]..END_AT[j + 1])`. */
const END_BYTES = Buffer.from(ENDINGS.join(""), "latin1");
const END_AT = new Int32Array(ENDINGS.length + 1);
for (let j = 0; j < ENDINGS.length; j++) END_AT[j + 1] = END_AT[j]! + ENDINGS[j]!.length;
const END_VIEW = new DataView(END_BYTES.buffer, END_BYTES.byteOffset, END_BYTES.byteLength);
const LONGEST_ENDING = Math.max(...ENDINGS.map((e) => e.length));

/** Copy `from[k..e)` to `to` at `o` four bytes at a time (a row is a few dozen bytes: a native copy per row costs more in the call). Returns the new `o`. */
function copyBytes(to: DataView, o: number, from: DataView, k: number, e: number): number {
  for (; k + 4 <= e; k += 4, o += 4) to.setUint32(o, from.getUint32(k, true), true);
  for (; k < e; k++, o++) to.setUint8(o, from.getUint8(k));
  return o;
}

function ending(score: number, flag: number): number {
  const i = Math.round(score * 10_000);
  return (i > 0 ? Math.min(i, 10_000) : 0) * 2 + flag;
}

/**
 * The output rows of a judged batch. ASCII input is copied as bytes (the row as read, then its
 * ending); otherwise the rows are echoed as text.
 */
function formatBatch(b: CsvBatch, score: Float64Array, flag: Uint8Array): Buffer | string {
  const n = b.n;
  const src = b.bytes;
  const echo = b.echo;
  if (src === null) {
    let out = "";
    for (let i = 0; i < n; i++) out += echo![i]! + ENDINGS[ending(score[i]!, flag[i]!)];
    return out;
  }
  const ls = b.lineStart;
  const le = b.lineEnd;
  let size = n * LONGEST_ENDING;
  for (let i = 0; i < n; i++) size += echo?.[i]?.length ?? le[i]! - ls[i]!;
  const out = Buffer.allocUnsafe(size);
  const to = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const from = new DataView(src.buffer, src.byteOffset, src.byteLength);
  let o = 0;
  for (let i = 0; i < n; i++) {
    const text = echo === null ? undefined : echo[i];
    if (text !== undefined) o += out.write(text, o, "latin1");
    else o = copyBytes(to, o, from, ls[i]!, le[i]!);
    const j = ending(score[i]!, flag[i]!);
    o = copyBytes(to, o, END_VIEW, END_AT[j]!, END_AT[j + 1]!);
  }
  return out.subarray(0, o);
}

function countFlags(flag: Uint8Array, n: number): number {
  let a = 0;
  for (let i = 0; i < n; i++) a += flag[i]!;
  return a;
}

/** Writes batches in order, the header before the first (a file rejected in its first batch writes nothing). */
class RowWriter {
  rows = 0;
  anomalies = 0;
  private header = true;
  constructor(private readonly output: Writable) {}

  async write(b: CsvBatch, score: Float64Array, flag: Uint8Array): Promise<void> {
    this.startOutput();
    this.rows += b.n;
    this.anomalies += countFlags(flag, b.n);
    if (!this.output.write(formatBatch(b, score, flag))) await once(this.output, "drain");
  }

  async finish(): Promise<DetectSummary> {
    if (this.header && !this.output.write(HEADER)) await once(this.output, "drain");
    this.header = false;
    return { rows: this.rows, anomalies: this.anomalies };
  }

  private startOutput(): void {
    if (!this.header) return;
    this.header = false;
    this.output.write(HEADER);
  }
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
  options: DetectOptions = {},
): Promise<DetectSummary> {
  const writer = new RowWriter(output);
  if (options.thread === true) return pipelined(input, writer, where, detector, params);
  const state = detector.init(params);
  const score = new Float64Array(BATCH);
  const flag = new Uint8Array(BATCH);
  for await (const b of readSeriesCsv(input, where)) {
    judgeColumns(detector, state, params, b.t, b.v, b.n, score, flag);
    await writer.write(b, score, flag);
  }
  return writer.finish();
}

/** The two-stage form: up to `DEPTH` batches with the detector thread while this one parses on. */
async function pipelined(
  input: Readable,
  writer: RowWriter,
  where: string,
  detector: AnyDetector,
  params: unknown,
): Promise<DetectSummary> {
  const thread = new DetectorThread(detector.type, params);
  const inFlight: Array<{ batch: CsvBatch; verdicts: Promise<{ score: Float64Array; flag: Uint8Array }> }> = [];
  try {
    for await (const b of readSeriesCsv(input, where)) {
      // the batch's own columns travel to the thread (each batch is new: nothing else reads them)
      inFlight.push({ batch: b, verdicts: thread.judge(b.t, b.v, b.n) });
      if (inFlight.length >= DEPTH) {
        const head = inFlight.shift()!;
        const r = await head.verdicts;
        await writer.write(head.batch, r.score, r.flag);
      }
    }
    for (const head of inFlight.splice(0)) {
      const r = await head.verdicts;
      await writer.write(head.batch, r.score, r.flag);
    }
    return await writer.finish();
  } finally {
    // a read error leaves verdicts nobody awaits: they reject when the thread closes
    for (const f of inFlight) f.verdicts.catch(() => {});
    await thread.close();
  }
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
