import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { Command } from "commander";
import { describe, expect, it, vi } from "vitest";
import { ensemble } from "../detectors/ensemble.js";
import { runBatch } from "../detectors/types.js";
import { detectCsv } from "../src/cli/detect/detect-csv.js";
import { DetectParamError, resolveDetector } from "../src/cli/detect/detector-params.js";
import { parseTimestamp } from "../src/cli/detect/parse-timestamp.js";
import { CsvInputError, readSeriesCsv } from "../src/cli/detect/read-series-csv.js";
import { registerDetectCommands, runDetect } from "../src/cli/detect-commands.js";

const fixture = join(import.meta.dirname, "fixtures", "detectors", "hourly.csv");

async function detectText(csv: string | Buffer[], type?: string, sets: string[] = [], thread = false): Promise<string> {
  const { detector, params } = resolveDetector(type, sets);
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on("data", (c: Buffer | string) => chunks.push(Buffer.from(c)));
  await detectCsv(Readable.from(typeof csv === "string" ? [csv] : csv), out, "in.csv", detector, params, { thread });
  return Buffer.concat(chunks).toString("utf8");
}

/** `text` as byte chunks cut at `cuts` (byte offsets), as a file stream delivers it. */
function byteChunks(text: string, cuts: number[]): Buffer[] {
  const bytes = Buffer.from(text, "utf8");
  const at = [0, ...cuts.filter((c) => c > 0 && c < bytes.length), bytes.length];
  return at.slice(1).map((end, i) => bytes.subarray(at[i]!, end));
}

/** A minute series with a daily cycle, noise, spikes and a level shift. */
function minuteSeries(n: number): string {
  const lines = ["timestamp,value"];
  let seed = 7;
  for (let i = 0; i < n; i++) {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    let x = 100 + 20 * Math.sin((2 * Math.PI * i) / 1440) + (seed / 2_147_483_648) * 6;
    if (i % 4999 === 0 && i > 0) x += 80;
    if (i > n / 2) x += 25;
    lines.push(`${new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString().slice(0, 19).replace("T", " ")},${x.toFixed(3)}`);
  }
  return `${lines.join("\n")}\n`;
}

describe("timestamps", () => {
  it("reads ISO-8601 and 'YYYY-MM-DD HH:MM:SS' as UTC, with fractions and offsets", () => {
    const t = Date.UTC(2014, 3, 1, 12, 30, 15);
    expect(parseTimestamp("2014-04-01 12:30:15")).toBe(t);
    expect(parseTimestamp("2014-04-01T12:30:15Z")).toBe(t);
    expect(parseTimestamp("2014-04-01T14:30:15+02:00")).toBe(t);
    expect(parseTimestamp("2014-04-01T12:30:15.250Z")).toBe(t + 250);
    expect(parseTimestamp("2014-04-01 12:30:15.000000")).toBe(t);
    expect(parseTimestamp("2014-04-01")).toBe(Date.UTC(2014, 3, 1));
    expect(parseTimestamp("yesterday")).toBeNaN();
  });
});

describe("vigil detect pipeline", () => {
  it("writes timestamp,value,anomaly_score,is_anomaly, echoing timestamps and values as given", async () => {
    const text = await detectText("timestamp,value\n2024-01-01T00:00:00Z,1.50\n2024-01-01T01:00:00Z,\n", "zscore");
    expect(text).toBe("timestamp,value,anomaly_score,is_anomaly\n2024-01-01T00:00:00Z,1.50,0,0\n2024-01-01T01:00:00Z,,0,0\n");
  });
  it("gives the same verdicts as the detector run in batch (streaming semantics)", async () => {
    const csv = readFileSync(fixture, "utf8");
    const rows = (await detectText(csv)).trim().split("\n").slice(1);
    const input = csv.trim().split("\n").slice(1);
    const points = input.map((l) => {
      const [ts, v] = l.split(",");
      return { t: parseTimestamp(ts!), v: Number(v) };
    });
    const verdicts = runBatch(ensemble, ensemble.params.parse({}), points);
    expect(rows.map((r) => r.split(",")[3])).toEqual(verdicts.map((v) => (v.anomaly ? "1" : "0")));
    expect(rows.map((r) => r.split(",")[0])).toEqual(input.map((l) => l.split(",")[0]));
    const flagged = rows.flatMap((r, i) => (r.endsWith(",1") ? [i] : []));
    expect(flagged).toContain(500);
    for (const r of rows) {
      const score = Number(r.split(",")[2]);
      expect(score).toBeGreaterThanOrEqual(0);
      expect(score).toBeLessThanOrEqual(1);
    }
  });
  it("handles CRLF, quoted headers, a BOM, other column orders and missing values", async () => {
    const text = await detectText('\ufeff"value","timestamp"\r\n1,2024-01-01 00:00:00\r\nNaN,2024-01-01 00:01:00\r\n', "zscore");
    expect(text.split("\n")[1]).toBe("2024-01-01 00:00:00,1,0,0");
    expect(text.split("\n")[2]).toBe("2024-01-01 00:01:00,NaN,0,0");
  });
  it("says where a bad row is", async () => {
    await expect(detectText("timestamp,value\n2024-01-01 00:00:00,1\nnot a time,2\n")).rejects.toThrow(
      new CsvInputError('in.csv:3: not a timestamp: "not a time"'),
    );
    await expect(detectText("timestamp,value\n2024-01-01 00:00:00,abc\n")).rejects.toThrow(/in.csv:2: not a number: "abc"/);
    await expect(detectText("")).rejects.toThrow(/empty file/);
  });
  it("reads big inputs in batches across chunk boundaries", async () => {
    const lines = ["timestamp,value"];
    for (let i = 0; i < 20_000; i++) lines.push(`${new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString()},${i % 7}`);
    const text = lines.join("\n");
    // split mid-line to exercise the carry-over between chunks
    const chunks = [text.slice(0, 12_345), text.slice(12_345, 300_001), text.slice(300_001)];
    let n = 0;
    let last = 0;
    for await (const b of readSeriesCsv(Readable.from(chunks), "big.csv")) {
      for (let i = 0; i < b.n; i++) {
        expect(b.t[i]).toBe(Date.UTC(2024, 0, 1) + n * 60_000);
        last = b.v[i]!;
        n++;
      }
    }
    expect(n).toBe(20_000);
    expect(last).toBe(19_999 % 7);
  });
});

describe("vigil detect output paths", () => {
  const messy = [
    '"timestamp","value",note\r',
    "2024-01-01 00:00:00,1,a\r",
    "2024-01-01 00:01:00,2\r",
    "2024-01-01 00:02:00,,b",
    "",
    "2024-01-01 00:03:00,NaN",
    "2024-01-01 00:04:00,5e2",
    "2024-01-01 00:05:00,7",
  ].join("\n");

  it("copies ASCII rows as bytes exactly as the text path echoes them, across any chunking", async () => {
    const asText = await detectText(messy, "threshold", ["max=100"]);
    expect(asText.split("\n")[1]).toBe("2024-01-01 00:00:00,1,0,0");
    expect(asText.split("\n")[5]).toBe("2024-01-01 00:04:00,5e2,1,1");
    for (const cuts of [[], [1], [17, 18, 40], [60, 61, 62, 63, 100, 120]]) {
      expect(await detectText(byteChunks(messy, cuts), "threshold", ["max=100"])).toBe(asText);
    }
  });

  it("falls back to the text echo when a chunk is not ASCII (and keeps the characters)", async () => {
    const text = `${messy}\n2024-01-01 00:06:00,8,café\n2024-01-01 00:07:00,9\n`;
    const asText = await detectText(text, "threshold", ["max=100"]);
    // the cut splits "é" (two bytes) between chunks
    const at = Buffer.from(text).indexOf("caf") + 4;
    expect(await detectText(byteChunks(text, [30, at]), "threshold", ["max=100"])).toBe(asText);
    expect(asText.trim().split("\n").at(-1)).toBe("2024-01-01 00:07:00,9,0,0");
  });

  it("the detector thread writes byte for byte what one thread writes", async () => {
    const csv = minuteSeries(30_000);
    const chunks = byteChunks(csv, [65_536, 131_072, 400_000, 400_001]);
    const one = await detectText(chunks, undefined, [], false);
    const two = await detectText(chunks, undefined, [], true);
    expect(two).toBe(one);
    const flagged = one.split("\n").filter((r) => r.endsWith(",1"));
    expect(flagged.length).toBeGreaterThan(2);
    // another detector goes point by point on the thread too
    expect(await detectText(chunks, "control_limits", [], true)).toBe(await detectText(chunks, "control_limits", [], false));
  });

  it("a bad row stops the threaded pipeline with the row's line, and the thread is shut", async () => {
    const csv = `${minuteSeries(20_000)}2024-02-01 00:00:00,oops\n`;
    await expect(detectText(byteChunks(csv, [100_000]), undefined, [], true)).rejects.toThrow(/in\.csv:20002: not a number: "oops"/);
  });
});

describe("--detector and --set", () => {
  it("coerces values through the detector's schema", () => {
    const r = resolveDetector("control_limits", ["sigma=2.5", "cusum=true", "rules=nelson"]);
    expect(r.params).toMatchObject({ sigma: 2.5, cusum: true, rules: "nelson" });
    expect(resolveDetector("seasonal", ["period=1d"]).params).toMatchObject({ period: "1d" });
    expect(resolveDetector("threshold", ["change=20%", "compare=last_week"]).params).toMatchObject({ change: "20%" });
    expect(resolveDetector("missing", ["after=2h"]).params).toMatchObject({ after: "2h" });
  });
  it("rejects unknown detectors, unknown keys and bad values clearly", () => {
    expect(() => resolveDetector("nope", [])).toThrow(DetectParamError);
    expect(() => resolveDetector("nope", [])).toThrow(/unknown detector "nope" \(known: ensemble, /);
    expect(() => resolveDetector("zscore", ["kk=3"])).toThrow(/zscore: unknown parameter "kk"/);
    expect(() => resolveDetector("zscore", ["k=-1"])).toThrow(/zscore: --set k=-1: /);
    expect(() => resolveDetector("zscore", ["k"])).toThrow(/--set expects key=value/);
    expect(() => resolveDetector("seasonal", ["period=soon"])).toThrow(/expected "auto", "none" or a duration/);
  });
});

describe("the command", () => {
  const dir = mkdtempSync(join(tmpdir(), "vigil-detect-"));
  it("writes the output file and returns 0", async () => {
    const out = join(dir, "out.csv");
    const code = await runDetect({ input: fixture, output: out, set: [] }, () => {});
    expect(code).toBe(0);
    const rows = readFileSync(out, "utf8").trim().split("\n");
    expect(rows[0]).toBe("timestamp,value,anomaly_score,is_anomaly");
    expect(rows).toHaveLength(601);
  });
  it("exits 2 with a clear message on a bad file or parameter", async () => {
    const errors: string[] = [];
    expect(await runDetect({ input: join(dir, "missing.csv"), set: [] }, (l) => errors.push(l))).toBe(2);
    const bad = join(dir, "bad.csv");
    writeFileSync(bad, "timestamp,value\n2024-01-01 00:00:00,x1\n");
    expect(await runDetect({ input: bad, output: join(dir, "o.csv"), set: [] }, (l) => errors.push(l))).toBe(2);
    expect(await runDetect({ input: fixture, set: ["k=0"], detector: "zscore" }, (l) => errors.push(l))).toBe(2);
    expect(errors[0]).toMatch(/missing\.csv: no such file/);
    expect(errors[1]).toMatch(/bad\.csv:2: not a number: "x1"/);
    expect(errors[2]).toMatch(/zscore: --set k=0/);
  });
  it("registers `detect` with commander and exits 2 through it", async () => {
    const program = new Command().exitOverride();
    program.configureOutput({ writeErr: () => {}, writeOut: () => {} });
    registerDetectCommands(program);
    // a usage error goes through commander (which adds the usage text)
    await expect(
      program.parseAsync(["node", "vigil", "detect", "--input", fixture, "--detector", "zscore", "--set", "k=0"]),
    ).rejects.toMatchObject({ exitCode: 2 });
    process.exitCode = 0;
    // a data error is the message alone, and the exit code
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      await program.parseAsync(["node", "vigil", "detect", "--input", join(dir, "nope.csv")]);
      expect(process.exitCode).toBe(2);
      expect(stderr.mock.calls.map((c) => String(c[0])).join("")).toMatch(/^vigil detect: .*nope\.csv: no such file\n$/);
    } finally {
      stderr.mockRestore();
      process.exitCode = 0;
    }
    const out = join(dir, "via-commander.csv");
    await program.parseAsync(["node", "vigil", "detect", "--input", fixture, "--output", out, "--detector", "zscore", "--set", "k=4"]);
    expect(readFileSync(out, "utf8").split("\n")[0]).toBe("timestamp,value,anomaly_score,is_anomaly");
  });
});
