/**
 * Loading vigil.yaml: YAML (with positions) -> interpolation -> the zod schema -> cross-reference
 * checks -> resolution. Every stage reports all it finds, each problem at FILE:LINE:COL.
 */
import { readFile } from "node:fs/promises";
import { resolve as resolvePath } from "node:path";
import type { z } from "zod";
import { checkChatTokens, checkConfig, type Finding } from "./check-config.js";
import type { Env } from "./interpolate.js";
import { ConfigError, type ConfigProblem, formatPath, type PathSegment, sortProblems } from "./problem.js";
import { resolveConfig } from "./resolve-config.js";
import { configSchema, type RawConfig } from "./schema.js";
import type { VigilConfig } from "./types.js";
import { type ParsedSource, parseYamlSource, pathKey } from "./yaml-source.js";
import { DEFAULT_MESSAGE, isPoisoned, issuesToProblems, valueAt } from "./zod-issues.js";

export type LoadResult =
  | {
      ok: true;
      config: VigilConfig;
      warnings: ConfigProblem[];
      /** A problem found later (e.g. by `validate --db`) placed at `path` in this file, as the loader places its own. */
      problemAt(path: PathSegment[], message: string, at?: "key" | "value"): ConfigProblem;
    }
  | { ok: false; problems: ConfigProblem[] };

export interface LoadOptions {
  /**
   * "optional" for commands that never talk to a chat (alerts, experiments, silence, backtest,
   * validate, ack...): a bot token that is unset or empty is a warning, not an error. Default "required".
   */
  chatSecrets?: "required" | "optional";
}

/** Where the chat secrets are (the values of TELEGRAM_BOT_TOKEN, SLACK_BOT_TOKEN, SLACK_APP_TOKEN). */
const CHAT_SECRET_PATHS = new Set(["telegram.token", "slack.token", "slack.app_token"]);
const isChatSecret = (path: readonly PathSegment[]): boolean => CHAT_SECRET_PATHS.has(path.join("."));
const CHAT_SECRET_NOTE = "; `vigil run` needs it";

/** `$VIGIL_CONFIG`, else `config/vigil.yaml` (relative to the working directory). */
export function defaultConfigPath(env: Env = process.env): string {
  return env.VIGIL_CONFIG && env.VIGIL_CONFIG.trim() !== "" ? env.VIGIL_CONFIG : "config/vigil.yaml";
}

export async function loadConfigFile(path: string, env: Env = process.env, opts: LoadOptions = {}): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    const reason = err instanceof Error && "code" in err && err.code === "ENOENT" ? "no such file" : String(err);
    return { ok: false, problems: [{ file: path, line: 0, col: 0, path: "", message: `cannot read config file: ${reason}` }] };
  }
  return loadConfigText(text, path, env, opts);
}

/** Like loadConfigFile, but throws a ConfigError listing every problem; for callers that cannot go on without a config. */
export async function loadConfig(path: string, env: Env = process.env): Promise<VigilConfig> {
  const res = await loadConfigFile(path, env);
  if (!res.ok) throw new ConfigError(res.problems);
  return res.config;
}

/** `file` is how problems name the file (keep it as the user gave it); the config records its absolute path. */
export function loadConfigText(text: string, file: string, env: Env = process.env, opts: LoadOptions = {}): LoadResult {
  const lenient = opts.chatSecrets === "optional";
  const source = parseYamlSource(text, file, env, lenient ? { optional: isChatSecret } : {});
  if (source.data === undefined) return { ok: false, problems: sortProblems(source.problems) };
  const problems = [...source.problems];
  const toProblem = (f: Finding): ConfigProblem => locateFinding(f, source, file);
  const located = (findings: Finding[]): ConfigProblem[] => findings.filter((f) => !isPoisoned(f.path, source)).map(toProblem);

  const data = topLevel(source.data, problems, file);
  const parsed = parseWithSchema(data, source);
  if (!parsed.success) problems.push(...issuesToProblems(parsed.issues, configSchema, data, source, file));
  problems.push(...located(checkConfig(data)));
  // A token left unset already has its warning at the token: its channels need no second one.
  const unsetBots = new Set(source.waived.filter((w) => w.path.endsWith(".token")).map((w) => w.path.split(".")[0]));
  const tokens = located(checkChatTokens(data).filter((f) => !unsetBots.has(String(valueAt(data, f.path)))));
  if (!lenient) problems.push(...tokens);
  const chatWarnings = [...source.waived, ...tokens].map((p) => ({ ...p, message: `${p.message}${CHAT_SECRET_NOTE}` }));
  if (problems.length > 0 || !parsed.success) return { ok: false, problems: sortProblems(problems) };

  const resolution = resolveConfig(parsed.data, resolvePath(file), env);
  if (resolution.errors.length > 0) return { ok: false, problems: sortProblems(located(resolution.errors)) };
  return {
    ok: true,
    config: resolution.config,
    warnings: sortProblems([...resolution.warnings.map(toProblem), ...(lenient ? chatWarnings : [])]),
    problemAt: (path, message, at = "key") => toProblem({ path, message, at }),
  };
}

function locateFinding(f: Finding, source: ParsedSource, file: string): ConfigProblem {
  const { position, exact } = source.locate(f.path);
  const pos = f.at === "key" && exact?.key ? exact.key : position;
  return { file, line: pos.line, col: pos.col, path: formatPath(f.path), message: source.maskInterpolated(f.path, f.message) };
}

/**
 * Top-level `x-*` keys are free for YAML anchors (as in docker-compose), and a section left empty
 * (`experiments:` with everything below commented out) means absent rather than an error.
 */
function topLevel(data: unknown, problems: ConfigProblem[], file: string): Record<string, unknown> {
  if (data === null || data === undefined) return {};
  if (typeof data !== "object" || Array.isArray(data)) {
    problems.push({
      file,
      line: 1,
      col: 1,
      path: "",
      message: "the config must be a mapping of sections (database, channels, metrics, ...)",
    });
    return {};
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) {
    if (k.startsWith("x-") || v === null) continue;
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

type SchemaParse = { success: true; data: RawConfig } | { success: false; issues: z.core.$ZodIssue[] };

/**
 * A value that was wholly one `${VAR}` was typed (so `port: ${PORT:-9464}` is a number); where the
 * schema wanted a string there (a chat id, a token of digits) it gets its text back and we parse again.
 */
function parseWithSchema(data: Record<string, unknown>, source: ParsedSource): SchemaParse {
  for (let attempt = 0; ; attempt++) {
    const res = configSchema.safeParse(data, { error: () => DEFAULT_MESSAGE, reportInput: true });
    if (res.success) return { success: true, data: res.data };
    const flips = res.error.issues.filter((iss) => {
      if (iss.code !== "invalid_type" || iss.expected !== "string") return false;
      return source.ambiguous.has(pathKey(iss.path.filter((p): p is PathSegment => typeof p !== "symbol")));
    });
    if (flips.length === 0 || attempt > 3) return { success: false, issues: res.error.issues };
    for (const iss of flips) {
      const path = iss.path.filter((p): p is PathSegment => typeof p !== "symbol");
      const entry = source.ambiguous.get(pathKey(path));
      const parent = valueAt(data, path.slice(0, -1));
      const last = path[path.length - 1];
      if (entry && parent !== null && typeof parent === "object" && last !== undefined) {
        (parent as Record<string | number, unknown>)[last] = entry.text;
        source.ambiguous.delete(pathKey(path));
      }
    }
  }
}
