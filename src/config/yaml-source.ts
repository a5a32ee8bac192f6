/**
 * YAML text -> plain data, keeping where every key and value came from so that a problem found
 * later (by zod or by the cross-reference checks) can still name FILE:LINE:COL.
 * Interpolation happens here, on scalar nodes after parsing, so positions stay true.
 */
import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  type Scalar,
  visit,
  type YAMLError,
} from "yaml";
import { type Env, interpolate, isWholeReference } from "./interpolate.js";
import type { ConfigProblem, PathSegment } from "./problem.js";
import { formatPath } from "./problem.js";

export interface Position {
  line: number;
  col: number;
}

export interface NodeLocation {
  /** Where the mapping key is (absent for sequence items and the document). */
  key?: Position;
  value: Position;
}

export interface ParsedSource {
  /** Plain data (objects, arrays, strings, numbers, booleans, null) after interpolation. */
  data: unknown;
  /** Syntax and interpolation problems; when any is a syntax problem `data` is undefined. */
  problems: ConfigProblem[];
  /** Looks up where a path is; walks up to the nearest existing ancestor for paths that are absent. */
  locate(path: readonly PathSegment[]): { position: Position; exact: NodeLocation | undefined };
  /**
   * Values that were wholly one `${VAR}` and looked like a number or boolean, so were typed; the
   * original text is kept so a string field can take it back (a chat id, a numeric token).
   */
  ambiguous: Map<string, { path: PathSegment[]; text: string }>;
  /** Paths whose scalar failed interpolation: later checks stay quiet there to avoid a second, confusing message. */
  poisoned: Set<string>;
  /**
   * A message about a value that came from the environment shows the `${VAR}` it was written as,
   * not the value: problems end up in logs and meta-alerts, and the value may be a secret.
   */
  maskInterpolated(path: readonly PathSegment[], message: string): string;
  /** Interpolation failures at paths the caller marked optional: those values are empty strings. */
  waived: ConfigProblem[];
}

export interface ParseOptions {
  /** Paths whose failed interpolation leaves an empty string and goes to `waived` instead of `problems`. */
  optional?: (path: readonly PathSegment[]) => boolean;
}

/** Stable key for a path, for maps. */
export function pathKey(path: readonly PathSegment[]): string {
  return JSON.stringify(path);
}

const NUMBER_LIKE = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;

export function parseYamlSource(text: string, file: string, env: Env, opts: ParseOptions = {}): ParsedSource {
  const lineCounter = new LineCounter();
  // merge: true lets operators share blocks with `<<: *anchor`.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true, uniqueKeys: true });
  const toPos = (offset: number): Position => {
    const lp = lineCounter.linePos(offset);
    return { line: lp.line, col: lp.col };
  };
  const locations = new Map<string, NodeLocation>();
  const ambiguous = new Map<string, { path: PathSegment[]; text: string }>();
  const poisoned = new Set<string>();
  const interpolated = new Map<string, { written: string; value: string }>();
  const maskInterpolated = (path: readonly PathSegment[], message: string): string => {
    const hit = interpolated.get(pathKey(path));
    if (!hit || hit.value === "" || !message.includes(hit.value)) return message;
    return `${message.split(hit.value).join(hit.written)} (the value from the environment is not shown)`;
  };
  const problems: ConfigProblem[] = [];
  const waived: ConfigProblem[] = [];
  const problem = (pos: Position, path: readonly PathSegment[], message: string, into = problems): void => {
    into.push({ file, line: pos.line, col: pos.col, path: formatPath(path), message });
  };
  const locate = (path: readonly PathSegment[]): { position: Position; exact: NodeLocation | undefined } => {
    const exact = locations.get(pathKey(path));
    if (exact) return { position: exact.value, exact };
    for (let n = path.length - 1; n >= 0; n--) {
      const loc = locations.get(pathKey(path.slice(0, n)));
      if (loc) return { position: loc.value, exact: undefined };
    }
    return { position: { line: 1, col: 1 }, exact: undefined };
  };

  if (doc.errors.length > 0) {
    for (const err of doc.errors) {
      const { pos, message } = describeSyntaxError(doc, err, toPos);
      problem(pos, [], message);
    }
    return { data: undefined, problems, locate, ambiguous, poisoned, maskInterpolated, waived };
  }

  const nodePos = (node: Node | null | undefined, fallback: Position): Position => (node?.range ? toPos(node.range[0]) : fallback);
  const building = new Set<Node>();

  const build = (node: unknown, path: PathSegment[], fallback: Position): unknown => {
    if (node === null || node === undefined) return null;
    if (isAlias(node)) {
      const target = node.resolve(doc);
      if (!target) {
        problem(nodePos(node, fallback), path, `unknown alias *${node.source}`);
        return null;
      }
      return build(target, path, fallback);
    }
    if (isScalar(node)) return buildScalar(node, path, fallback);
    if (isMap(node) || isSeq(node)) {
      if (building.has(node)) {
        problem(nodePos(node, fallback), path, "an alias refers to its own ancestor (recursive structure)");
        return null;
      }
      building.add(node);
      try {
        return isMap(node) ? buildMap(node.items, path, fallback) : buildSeq(node.items, path, fallback);
      } finally {
        building.delete(node);
      }
    }
    problem(fallback, path, "unsupported YAML node");
    return null;
  };

  const buildScalar = (node: Scalar, path: PathSegment[], fallback: Position): unknown => {
    const value: unknown = node.value;
    if (typeof value !== "string") return value;
    const res = interpolate(value, env);
    if (!res.ok && opts.optional?.(path)) {
      problem(nodePos(node, fallback), path, res.message, waived);
      return "";
    }
    if (!res.ok) {
      problem(nodePos(node, fallback), path, res.message);
      poisoned.add(pathKey(path));
      return value;
    }
    if (res.value !== value) interpolated.set(pathKey(path), { written: value, value: res.value });
    if (res.value !== value && isWholeReference(value)) {
      const typed = typedScalar(res.value);
      if (typed !== undefined) {
        ambiguous.set(pathKey(path), { path: [...path], text: res.value });
        return typed;
      }
    }
    return res.value;
  };

  const buildMap = (items: readonly unknown[], path: PathSegment[], fallback: Position): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    const merged: Array<Record<string, unknown>> = [];
    for (const item of items) {
      const pair = item as { key: unknown; value: unknown };
      const keyNode = pair.key;
      const keyPos = isScalar(keyNode) || isMap(keyNode) || isSeq(keyNode) ? nodePos(keyNode, fallback) : fallback;
      if (isScalar(keyNode) && (typeof keyNode.value === "symbol" || keyNode.source === "<<")) {
        collectMerge(pair.value, path, keyPos, merged);
        continue;
      }
      if (!isScalar(keyNode) || (keyNode.value !== null && typeof keyNode.value === "object")) {
        problem(keyPos, path, "mapping keys must be plain strings");
        continue;
      }
      const key = String(keyNode.value);
      const childPath = [...path, key];
      const valueNode = pair.value as Node | null;
      // `key:` with nothing after it: point at the key, the empty value has no useful column.
      const emptyValue = valueNode === null || (isScalar(valueNode) && valueNode.value === null && !valueNode.source);
      locations.set(pathKey(childPath), { key: keyPos, value: emptyValue ? keyPos : nodePos(valueNode, keyPos) });
      setOwn(out, key, build(valueNode, childPath, keyPos));
    }
    // Explicit keys win over merged ones, as in YAML 1.1 merge semantics.
    for (const source of merged) for (const [k, v] of Object.entries(source)) if (!Object.hasOwn(out, k)) setOwn(out, k, v);
    return out;
  };

  const collectMerge = (valueNode: unknown, path: PathSegment[], pos: Position, into: Array<Record<string, unknown>>): void => {
    const sources = isSeq(valueNode) ? valueNode.items : [valueNode];
    for (const s of sources) {
      const built = build(s, path, pos);
      if (built !== null && typeof built === "object" && !Array.isArray(built)) into.push(built as Record<string, unknown>);
      else problem(pos, path, "'<<' must refer to a mapping (or a list of mappings)");
    }
  };

  const buildSeq = (items: readonly unknown[], path: PathSegment[], fallback: Position): unknown[] =>
    items.map((item, i) => {
      const childPath = [...path, i];
      const itemNode = item as Node | null;
      locations.set(pathKey(childPath), { value: nodePos(itemNode, fallback) });
      return build(itemNode, childPath, fallback);
    });

  const rootPos = nodePos(doc.contents as Node | null, { line: 1, col: 1 });
  locations.set(pathKey([]), { value: rootPos });
  const data = build(doc.contents, [], rootPos);
  return { data, problems, locate, ambiguous, poisoned, maskInterpolated, waived };
}

/** A number- or boolean-looking string as that type (what it would have been written literally). */
function typedScalar(text: string): number | boolean | undefined {
  const t = text.trim();
  if (NUMBER_LIKE.test(t)) return Number(t);
  if (t === "true") return true;
  if (t === "false") return false;
  return undefined;
}

function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  // defineProperty so a `__proto__` key is data, not a prototype switch.
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * yaml reports an unclosed quote at the end of the input, where it noticed; the operator needs
 * the place where the quote opened.
 */
function describeSyntaxError(doc: Document, err: YAMLError, toPos: (offset: number) => Position): { pos: Position; message: string } {
  const offset = err.pos[0];
  if (err.code === "MISSING_CHAR" && /quote/i.test(err.message)) {
    let opened: number | undefined;
    visit(doc, {
      Scalar(_key, node) {
        const r = node.range;
        if (r && (node.type === "QUOTE_DOUBLE" || node.type === "QUOTE_SINGLE") && r[0] <= offset && r[1] >= offset) {
          opened = r[0];
          return visit.BREAK;
        }
        return undefined;
      },
    });
    if (opened !== undefined) return { pos: toPos(opened), message: "unclosed quote: this string never ends" };
  }
  if (err.code === "MULTIPLE_DOCS") {
    return { pos: toPos(offset), message: "a config file holds one YAML document: remove this --- and what follows, or merge it" };
  }
  return { pos: toPos(offset), message: `YAML syntax error: ${lowerFirst(err.message)}` };
}

function lowerFirst(s: string): string {
  return s.length > 0 ? s[0]!.toLowerCase() + s.slice(1) : s;
}
