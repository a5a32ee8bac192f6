/**
 * Streaming reader for `timestamp,value` CSV files. Reads chunks, cuts lines with `indexOf`, and
 * hands out rows in batches so that a million-row file is never held in memory and no per-line
 * regex or split runs on the common path.
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
 * Up to `BATCH` rows, all cut from one stretch of input. Each batch is new (a consumer may keep it
 * while it reads on, as the pipelined `vigil detect` keeps a dozen).
 *
 * The echo of a row (what output writes before the verdict columns: the row when it is just
 * `timestamp,value`, else those two fields as written, joined by a comma) is kept as cheaply as it
 * can be: for ASCII input, as the place of the line in the input's bytes; as text only for the
 * other rows. Holding a string per row for rows in flight made the pipeline's main thread spend a
 * third of its time collecting them.
 */
export interface SeriesBatch {
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

/**
 * Yield the rows of a series CSV in batches. `where` names the input in error messages
 * (`IN.csv:LINE: ...`).
 */
export async function* readSeriesCsv(input: Readable, where: string): AsyncGenerator<SeriesBatch> {
  const fresh = (bytes: Buffer | null): SeriesBatch => ({
    n: 0,
    t: new Float64Array(BATCH),
    v: new Float64Array(BATCH),
    bytes,
    lineStart: new Int32Array(BATCH),
    lineEnd: new Int32Array(BATCH),
    echo: null,
  });
  let batch = fresh(null);
  const decoder = new StringDecoder("utf8");
  const parser = new TimestampParser();
  let rest = "";
  // the bytes behind `rest` while the input is ASCII (then string offsets are byte offsets), else null
  let restBytes: Buffer | null = Buffer.alloc(0);
  let lineNo = 0;
  let cols: Columns | null = null;
  let simple = false;

  /** The line text[from..to) (line ending excluded); `ascii`: the batch has the input's bytes, where the line can be echoed from. */
  const row = (text: string, from: number, to: number, ascii: boolean): void => {
    lineNo++;
    if (cols === null) {
      const line = text.slice(from, to);
      // a UTF-8 byte order mark would otherwise become part of the first column name
      cols = headerColumns(line.charCodeAt(0) === 0xfeff ? line.slice(1) : line, where);
      simple = cols.ts === 0 && cols.value === 1;
      return;
    }
    if (to === from) return;
    let tsText: string;
    let valText: string;
    // the line is the echo (just "timestamp,value")
    let whole = false;
    if (simple) {
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
    let t = parser.parse(tsText);
    if (Number.isNaN(t)) {
      const uq = unquote(tsText);
      t = parser.parse(uq);
      if (Number.isNaN(t)) throw new CsvInputError(`${where}:${lineNo}: not a timestamp: "${tsText.slice(0, 60)}"`);
    }
    let v = Number(valText);
    if (Number.isNaN(v) || (v === 0 && valText.trim() === "")) {
      const uq = unquote(valText);
      if (MISSING.has(uq)) v = Number.NaN;
      else {
        v = Number(uq);
        if (Number.isNaN(v) || uq === "") {
          throw new CsvInputError(`${where}:${lineNo}: not a number: "${valText.slice(0, 60)}"`);
        }
      }
    }
    const i = batch.n++;
    batch.lineStart[i] = from;
    batch.lineEnd[i] = to;
    batch.t[i] = t;
    batch.v[i] = v;
    if (!whole || !ascii) {
      batch.echo ??= new Array<string | undefined>(BATCH);
      batch.echo[i] = whole ? text.slice(from, to) : `${tsText},${valText}`;
    }
  };

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
      batch = fresh(bytes);
    } else batch.bytes = bytes;
    let start = 0;
    for (;;) {
      const nl = text.indexOf("\n", start);
      if (nl < 0) break;
      const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      row(text, start, end, bytes !== null);
      start = nl + 1;
      if (batch.n === BATCH) {
        yield batch;
        batch = fresh(bytes);
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
    batch = fresh(restBytes);
  }
  if (rest.length > 0) {
    const end = rest.charCodeAt(rest.length - 1) === 13 ? rest.length - 1 : rest.length;
    row(rest, 0, end, restBytes !== null);
  }
  if (cols === null) throw new CsvInputError(`${where}: empty file (expected a header row "timestamp,value")`);
  if (batch.n > 0) yield batch;
}

/** Open a file for `readSeriesCsv`, with a large read buffer (fewer, bigger chunks). */
export function openCsv(path: string): Readable {
  return createReadStream(path, { highWaterMark: 1 << 20 });
}
