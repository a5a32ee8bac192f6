/** `vigil detect` (offline CSV). Owned by the detectors work; registered by src/cli/main.ts. */
import { once } from "node:events";
import { createWriteStream, existsSync, statSync } from "node:fs";
import type { Writable } from "node:stream";
import type { Command } from "commander";
import { DetectParamError, resolveDetector } from "./detect/detector-params.js";

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

interface DetectOptions {
  input: string;
  output?: string;
  detector?: string;
  set: string[];
}

/** Run `vigil detect`; returns the exit code (0 ok, 2 bad input or parameters). */
export async function runDetect(opts: DetectOptions, stderr: (line: string) => void): Promise<number> {
  return (await detectOutcome(opts, stderr)).code;
}

/**
 * What `vigil detect` did: its exit code, and whether the command line was at fault (a detector or
 * parameter it does not know: worth the usage text) rather than the data (a missing or malformed file).
 */
async function detectOutcome(opts: DetectOptions, stderr: (line: string) => void): Promise<{ code: number; usage: boolean }> {
  let resolved: ReturnType<typeof resolveDetector>;
  try {
    resolved = resolveDetector(opts.detector, opts.set);
  } catch (e) {
    if (e instanceof DetectParamError) {
      stderr(`vigil detect: ${e.message}`);
      return { code: 2, usage: true };
    }
    throw e;
  }
  return { code: await detectFile(opts, resolved, stderr), usage: false };
}

async function detectFile(
  opts: DetectOptions,
  resolved: ReturnType<typeof resolveDetector>,
  stderr: (line: string) => void,
): Promise<number> {
  if (!existsSync(opts.input) || !statSync(opts.input).isFile()) {
    stderr(`vigil detect: ${opts.input}: no such file`);
    return 2;
  }
  // loaded here, not at start-up: `vigil run` has no use for the offline pipeline
  const { detectCsv, THREAD_MIN_BYTES } = await import("./detect/detect-csv.js");
  const { CsvInputError, openCsv } = await import("./detect/read-series-csv.js");
  const input = openCsv(opts.input);
  const toFile = opts.output !== undefined && opts.output !== "-";
  const output: Writable = toFile ? createWriteStream(opts.output!) : process.stdout;
  try {
    await detectCsv(input, output, opts.input, resolved.detector, resolved.params, {
      thread: statSync(opts.input).size >= THREAD_MIN_BYTES,
    });
  } catch (e) {
    input.destroy();
    if (toFile) output.destroy();
    if (e instanceof CsvInputError) {
      stderr(`vigil detect: ${e.message}`);
      return 2;
    }
    if (e instanceof Error && "code" in e && typeof e.code === "string" && /^E(ACCES|ISDIR|NOENT)$/.test(e.code)) {
      stderr(`vigil detect: ${e.message}`);
      return 2;
    }
    throw e;
  }
  if (toFile) {
    output.end();
    await once(output, "finish");
  }
  return 0;
}

export function registerDetectCommands(program: Command): void {
  program
    .command("detect")
    .description(
      "Offline detection over a CSV series (timestamp,value). Writes timestamp,value,anomaly_score,is_anomaly; point i is judged from points 0..i only.",
    )
    .requiredOption("--input <file>", "input CSV with a header row: timestamp,value")
    .option("--output <file>", "output CSV (default: stdout)")
    .option("--detector <name>", "detector type (default: the default ensemble)")
    .option("--set <key=value>", "override a detector parameter (repeatable)", collect, [])
    .action(async (opts: DetectOptions, cmd: Command) => {
      const problems: string[] = [];
      const { code, usage } = await detectOutcome(opts, (line) => problems.push(line));
      if (code === 0) return;
      process.exitCode = code;
      // a usage error: commander prints it with the usage text and exits (or throws a CommanderError
      // under exitOverride) with this code; a data error is the message alone, as from any tool
      if (usage) cmd.error(problems.join("\n"), { exitCode: code, code: "vigil.detect.usage" });
      process.stderr.write(`${problems.join("\n")}\n`);
    });
}
