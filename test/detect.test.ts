import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { ensemble } from "../detectors/ensemble.js";
import { runBatch } from "../detectors/types.js";
import { registerDetectCommands, runDetect } from "../src/cli/detect-commands.js";
import { detectCsv } from "../src/detect/detect-csv.js";
import { DetectParamError, resolveDetector } from "../src/detect/detector-params.js";
import { parseTimestamp } from "../src/detect/parse-timestamp.js";
import { CsvInputError, readSeriesCsv } from "../src/detect/read-series-csv.js";

const fixture = join(import.meta.dirname, "fixtures", "detectors", "hourly.csv");

async function detectText(csv: string, type?: string, sets: string[] = []): Promise<string> {
  const { detector, params } = resolveDetector(type, sets);
  const out = new PassThrough();
  const chunks: string[] = [];
  out.on("data", (c: Buffer) => chunks.push(c.toString()));
  await detectCsv(Readable.from([csv]), out, "in.csv", detector, params);
  return chunks.join("");
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
    expect(text).toBe(
      "timestamp,value,anomaly_score,is_anomaly\n2024-01-01T00:00:00Z,1.50,0,0\n2024-01-01T01:00:00Z,,0,0\n",
    );
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
    await expect(
      program.parseAsync(["node", "vigil", "detect", "--input", join(dir, "nope.csv")]),
    ).rejects.toMatchObject({ exitCode: 2 });
    process.exitCode = 0;
    const out = join(dir, "via-commander.csv");
    await program.parseAsync(["node", "vigil", "detect", "--input", fixture, "--output", out, "--detector", "zscore", "--set", "k=4"]);
    expect(readFileSync(out, "utf8").split("\n")[0]).toBe("timestamp,value,anomaly_score,is_anomaly");
  });
});
