/** A config problem that names its place, so an operator can jump straight to it. */
export interface ConfigProblem {
  /** The file as the user named it (relative paths stay relative). */
  file: string;
  /** 1-based; 0 when the problem has no place in the file (e.g. the file cannot be read). */
  line: number;
  /** 1-based; 0 when the problem has no place in the file. */
  col: number;
  /** Where in the document, e.g. `metrics[0].detectors[1].sigma`; empty for the document itself. */
  path: string;
  message: string;
}

/** One step into the document: a mapping key or a sequence index. */
export type PathSegment = string | number;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `["metrics", 0, "detectors", 1, "sigma"]` -> `metrics[0].detectors[1].sigma`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (IDENTIFIER.test(seg)) out += out === "" ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** `vigil.yaml:12:7: metrics[0].detectors[1].sigma: expected a number`. */
export function formatProblem(p: ConfigProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.col}` : p.file;
  return p.path ? `${where}: ${p.path}: ${p.message}` : `${where}: ${p.message}`;
}

/** Document order, so the first line printed is the first thing to fix. */
export function sortProblems(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  const unique = problems.filter((p) => {
    const key = formatProblem(p);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return unique.sort((a, b) => a.line - b.line || a.col - b.col);
}

/** Thrown by `loadConfig` so callers that cannot go on without a config get every problem at once. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(`invalid configuration:\n${problems.map(formatProblem).join("\n")}`);
  }

  toJSON(): { name: string; message: string; problems: readonly ConfigProblem[] } {
    return { name: this.name, message: this.message, problems: this.problems };
  }
}
