/**
 * `vigil validate [-c FILE] [--db]`: exit 0 and a one-line summary, or exit 2 and every problem on
 * its own line. With --db, each metric's and experiment's query also runs once against the database.
 */

import type { Env } from "../config/interpolate.js";
import { loadConfigFile } from "../config/load.js";
import { type ConfigProblem, formatProblem, sortProblems } from "../config/problem.js";
import type { VigilConfig } from "../config/types.js";
import type { Database } from "../db/database.js";
import { openDatabase } from "../db/open.js";
import { errorText } from "../log.js";
import { checkDatabase } from "./check-database.js";

export interface ValidateOutput {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

export const EXIT_INVALID_CONFIG = 2;

/** `validate --db` must answer, not hang on a host that drops packets. */
export const VALIDATE_CONNECT_TIMEOUT_MS = 5_000;
/** Nor on one runaway query: the daemon would time it out too (a shorter check is still a check). */
export const VALIDATE_STATEMENT_TIMEOUT_MS = 60_000;

export interface ValidateOptions {
  /** Also run every query once against the metrics database. */
  db?: boolean;
  /** Opens the metrics database (tests); default: `database.url`, `$DATABASE_URL`, else PGlite under `.vigil/`, as `vigil run`. */
  openDb?: (config: VigilConfig, env: Env) => Promise<Database>;
  connectTimeoutMs?: number;
  now?: number;
}

export async function validateCommand(
  path: string,
  out: ValidateOutput = { stdout: process.stdout, stderr: process.stderr },
  env: Env = process.env,
  opts: ValidateOptions = {},
): Promise<number> {
  // Chat tokens are deployment secrets: a CI check without them warns that `vigil run` needs them.
  const res = await loadConfigFile(path, env, { chatSecrets: "optional" });
  if (!res.ok) {
    // Only the problems, one per line: editors and CI annotators parse FILE:LINE:COL lines.
    for (const p of res.problems) out.stderr.write(`${formatProblem(p)}\n`);
    return EXIT_INVALID_CONFIG;
  }
  const warnings = [...res.warnings];
  const errors: ConfigProblem[] = [];
  let summary = summarizeConfig(res.config);
  if (opts.db) {
    const checked = await queryDatabase(res.config, env, opts);
    if (!checked.ok) {
      // One line, at database.url when the config sets it: the rest cannot be checked without it.
      const p = res.config.database.url
        ? res.problemAt(["database", "url"], checked.message, "value")
        : { file: path, line: 0, col: 0, path: "database", message: checked.message };
      out.stderr.write(`${formatProblem(p)}\n`);
      return EXIT_INVALID_CONFIG;
    }
    for (const f of checked.check.findings) (f.severity === "error" ? errors : warnings).push(res.problemAt(f.path, f.message, f.at));
    summary += `; database: ${count(checked.check.metrics, "metric")} and ${count(checked.check.experiments, "experiment")} queried`;
  }
  // Errors and warnings in document order; a warning says so, an error is a bare FILE:LINE:COL line.
  const tagged = [...errors, ...warnings.map((w) => ({ ...w, message: `warning: ${w.message}` }))];
  for (const p of sortProblems(tagged)) out.stderr.write(`${formatProblem(p)}\n`);
  if (errors.length > 0) return EXIT_INVALID_CONFIG;
  out.stdout.write(`${path}: OK — ${summary}\n`);
  return 0;
}

async function queryDatabase(
  config: VigilConfig,
  env: Env,
  opts: ValidateOptions,
): Promise<{ ok: true; check: Awaited<ReturnType<typeof checkDatabase>> } | { ok: false; message: string }> {
  let db: Database | null = null;
  try {
    db = await (opts.openDb ?? openMetricsDatabase)(config, env);
    return { ok: true, check: await checkDatabase(db, config, opts.now ?? Date.now()) };
  } catch (err) {
    // Connection failures (and a malformed URL) as one line; the message never holds the password.
    return { ok: false, message: errorText(err) };
  } finally {
    await db?.close().catch(() => {});
  }

  function openMetricsDatabase(c: VigilConfig, e: Env): Promise<Database> {
    return openDatabase({
      url: c.database.url || e.DATABASE_URL || undefined,
      dataDir: e.VIGIL_DATA_DIR || undefined,
      connectTimeoutMs: opts.connectTimeoutMs ?? VALIDATE_CONNECT_TIMEOUT_MS,
      statementTimeoutMs: VALIDATE_STATEMENT_TIMEOUT_MS,
      max: 1,
      // an idle connection dropping is no finding of ours; the next query reports it
      onError: () => {},
    });
  }
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
