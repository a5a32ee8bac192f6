/**
 * Streaming reader for `timestamp,value` CSV files: lines are cut with `indexOf` and handed out in
 * batches, so a large file is never held in memory and no per-line regex or split runs on the common path.
 */
import { isAscii } from "node:buffer";
import { createReadStream } from "node:fs";
import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { TimestampParser } from "./parse-timestamp.js";

/** A malformed input file; `vigil detect` prints the message and exits 2. */
export class CsvInputError extends Error {
  override name = "CsvInputError";
}

/**
 * Up to `BATCH` rows, all cut from one stretch of input; each batch is new because a consumer may keep
 * it while it reads on. A row's echo (what output writes before the verdict columns) is, for ASCII
 * input, the place of its line in the input's bytes, so that rows in flight hold no string each.
 */
export interface CsvBatch {
  n: number;
  t: Float64Array;
  /** NaN = missing (empty, NaN, null, NA). */
  v: Float64Array;
  /**
   * When the input is ASCII: its bytes, and where each row's line is in them
   * (`bytes[lineStart[i]..lineEnd[i])`, line ending excluded). Null otherwise.
   */
  bytes: Buffer | null;
  lineStart: Int32Array;
  lineEnd: Int32Array;
  /** The echo as text of the rows whose line in `bytes` is not their echo (all rows when `bytes` is null); null when there are none. */
  echo: Array<string | undefined> | null;
}

export const BATCH = 8192;

const MISSING = new Set(["", "nan", "NaN", "NAN", "null", "NULL", "Null", "NA", "N/A", "na", "n/a", "None"]);

function unquote(s: string): string {
  const t = s.trim();
  return t.length >= 2 && t.charCodeAt(0) === 34 && t.charCodeAt(t.length - 1) === 34 ? t.slice(1, -1) : t;
}

interface Columns {
  ts: number;
  value: number;
  count: number;
}

function headerColumns(line: string, where: string): Columns {
  const cols = line.split(",").map((c) => unquote(c).toLowerCase());
  if (cols.length < 2) throw new CsvInputError(`${where}:1: expected a header row with timestamp and value columns`);
  let ts = cols.findIndex((c) => c === "timestamp" || c === "time" || c === "ts" || c === "t");
  let value = cols.indexOf("value");
  if (ts < 0 && value < 0) {
    ts = 0;
    value = 1;
  } else if (ts < 0) ts = value === 0 ? 1 : 0;
  else if (value < 0) value = ts === 0 ? 1 : 0;
  return { ts, value, count: cols.length };
}

function emptyBatch(bytes: Buffer | null): CsvBatch {
  return {
    n: 0,
    t: new Float64Array(BATCH),
    v: new Float64Array(BATCH),
    bytes,
    lineStart: new Int32Array(BATCH),
    lineEnd: new Int32Array(BATCH),
    echo: null,
  };
}

/** Turns lines into rows: the first line is the header, each later one a row added to a batch. */
class LineParser {
  private cols: Columns | null = null;
  /** The columns are just "timestamp,value", the common case cut without a split. */
  private simple = false;
  private lineNo = 0;
  private readonly parser = new TimestampParser();

  constructor(private readonly where: string) {}

  get sawHeader(): boolean {
    return this.cols !== null;
  }

  /** The line text[from..to) (line ending excluded); `ascii`: the batch has the input's bytes, where the line can be echoed from. */
  row(batch: CsvBatch, text: string, from: number, to: number, ascii: boolean): void {
    const where = this.where;
    const lineNo = ++this.lineNo;
    const cols = this.cols;
    if (cols === null) {
      const line = text.slice(from, to);
      // a UTF-8 byte order mark would otherwise become part of the first column name
      this.cols = headerColumns(line.charCodeAt(0) === 0xfeff ? line.slice(1) : line, where);
      this.simple = this.cols.ts === 0 && this.cols.value === 1;
      return;
    }
    if (to === from) return;
    let tsText: string;
    let valText: string;
    // the line is the echo (just "timestamp,value")
    let whole = false;
    if (this.simple) {
      const c1 = text.indexOf(",", from);
      if (c1 < 0 || c1 >= to)
        throw new CsvInputError(`${where}:${lineNo}: expected "timestamp,value", got "${text.slice(from, Math.min(to, from + 80))}"`);
      const c2 = text.indexOf(",", c1 + 1);
      tsText = text.slice(from, c1);
      if (c2 < 0 || c2 >= to) {
        valText = text.slice(c1 + 1, to);
        whole = true;
      } else valText = text.slice(c1 + 1, c2);
    } else {
      const f = text.slice(from, to).split(",");
      if (f.length <= Math.max(cols.ts, cols.value)) {
        throw new CsvInputError(`${where}:${lineNo}: expected ${cols.count} columns, got ${f.length}`);
      }
      tsText = f[cols.ts]!;
      valText = f[cols.value]!;
    }
    const t = this.timestamp(tsText, lineNo);
    const v = parseValue(valText, where, lineNo);
    const i = batch.n++;
    batch.lineStart[i] = from;
    batch.lineEnd[i] = to;
    batch.t[i] = t;
    batch.v[i] = v;
    if (!whole || !ascii) {
      batch.echo ??= new Array<string | undefined>(BATCH);
      batch.echo[i] = whole ? text.slice(from, to) : `${tsText},${valText}`;
    }
  }

  private timestamp(tsText: string, lineNo: number): number {
    const t = this.parser.parse(tsText);
    if (!Number.isNaN(t)) return t;
    const unquoted = this.parser.parse(unquote(tsText));
    if (Number.isNaN(unquoted)) throw new CsvInputError(`${this.where}:${lineNo}: not a timestamp: "${tsText.slice(0, 60)}"`);
    return unquoted;
  }
}

/** A value field as a number; NaN for the spellings of missing. */
function parseValue(valText: string, where: string, lineNo: number): number {
  const v = Number(valText);
  if (!Number.isNaN(v) && !(v === 0 && valText.trim() === "")) return v;
  const uq = unquote(valText);
  if (MISSING.has(uq)) return Number.NaN;
  const unquoted = Number(uq);
  if (Number.isNaN(unquoted) || uq === "") throw new CsvInputError(`${where}:${lineNo}: not a number: "${valText.slice(0, 60)}"`);
  return unquoted;
}

/**
 * Yield the rows of a series CSV in batches. `where` names the input in error messages
 * (`IN.csv:LINE: ...`).
 */
export async function* readSeriesCsv(input: Readable, where: string): AsyncGenerator<CsvBatch> {
  const lines = new LineParser(where);
  let batch = emptyBatch(null);
  const decoder = new StringDecoder("utf8");
  let rest = "";
  // the bytes behind `rest` while the input is ASCII (then string offsets are byte offsets), else null
  let restBytes: Buffer | null = Buffer.alloc(0);

  for await (const chunk of input) {
    let bytes: Buffer | null = null;
    let text: string;
    if (typeof chunk === "string") text = rest + chunk;
    else {
      const buf = chunk as Buffer;
      text = rest + decoder.write(buf);
      if (restBytes !== null && isAscii(buf)) bytes = restBytes.length === 0 ? buf : Buffer.concat([restBytes, buf]);
    }
    // rows cut from this text share its bytes: a batch never spans two texts
    if (batch.n > 0) {
      yield batch;
      batch = emptyBatch(bytes);
    } else batch.bytes = bytes;
    let start = 0;
    for (;;) {
      const nl = text.indexOf("\n", start);
      if (nl < 0) break;
      const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      lines.row(batch, text, start, end, bytes !== null);
      start = nl + 1;
      if (batch.n === BATCH) {
        yield batch;
        batch = emptyBatch(bytes);
      }
    }
    rest = text.slice(start);
    restBytes = bytes === null ? null : bytes.subarray(start);
  }
  const tail = decoder.end();
  if (tail.length > 0) restBytes = null;
  rest += tail;
  if (batch.n > 0 || rest.length > 0) {
    // the last line has no newline: it gets a batch of its own, over the bytes of `rest`
    if (batch.n > 0) yield batch;
    batch = emptyBatch(restBytes);
  }
  if (rest.length > 0) {
    const end = rest.charCodeAt(rest.length - 1) === 13 ? rest.length - 1 : rest.length;
    lines.row(batch, rest, 0, end, restBytes !== null);
  }
  if (!lines.sawHeader) throw new CsvInputError(`${where}: empty file (expected a header row "timestamp,value")`);
  if (batch.n > 0) yield batch;
}

/** Open a file for `readSeriesCsv`, with a large read buffer (fewer, bigger chunks). */
export function openCsv(path: string): Readable {
  return createReadStream(path, { highWaterMark: 1 << 20 });
}
