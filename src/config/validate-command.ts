/** `vigil validate [-c FILE]`: exit 0 and a one-line summary, or exit 2 and every problem on its own line. */
import type { Env } from "./interpolate.js";
import { loadConfigFile } from "./load.js";
import { formatProblem } from "./problem.js";
import type { VigilConfig } from "./types.js";

export interface ValidateOutput {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

export const EXIT_INVALID_CONFIG = 2;

export async function validateCommand(
  path: string,
  out: ValidateOutput = { stdout: process.stdout, stderr: process.stderr },
  env: Env = process.env,
): Promise<number> {
  const res = await loadConfigFile(path, env);
  if (!res.ok) {
    // Only the problems, one per line: editors and CI annotators parse FILE:LINE:COL lines.
    for (const p of res.problems) out.stderr.write(`${formatProblem(p)}\n`);
    return EXIT_INVALID_CONFIG;
  }
  for (const w of res.warnings) out.stderr.write(`${formatProblem({ ...w, message: `warning: ${w.message}` })}\n`);
  out.stdout.write(`${path}: OK — ${summarizeConfig(res.config)}\n`);
  return 0;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** `3 metrics, 1 experiment, 2 channels, 1 digest`. */
export function summarizeConfig(config: VigilConfig): string {
  return [
    count(config.metrics.length, "metric"),
    count(config.experiments.length, "experiment"),
    count(Object.keys(config.channels).length, "channel"),
    count(config.digest.length, "digest"),
  ].join(", ");
}
