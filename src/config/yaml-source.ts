/**
 * YAML text -> plain data, keeping where every key and value came from (interpolating scalars after
 * parsing) so that a problem found later by zod or the cross-reference checks can still name FILE:LINE:COL.
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
  const builder = new SourceBuilder(doc, lineCounter, file, env, opts);
  if (doc.errors.length > 0) {
    for (const err of doc.errors) {
      const { pos, message } = describeSyntaxError(doc, err, (offset) => builder.toPos(offset));
      builder.problem(pos, [], message);
    }
    return builder.result(undefined);
  }
  return builder.result(builder.buildRoot());
}

/** Walks the YAML tree into plain data, recording every node's position and every problem on the way. */
class SourceBuilder {
  private readonly locations = new Map<string, NodeLocation>();
  private readonly ambiguous = new Map<string, { path: PathSegment[]; text: string }>();
  private readonly poisoned = new Set<string>();
  private readonly interpolated = new Map<string, { written: string; value: string }>();
  private readonly problems: ConfigProblem[] = [];
  private readonly waived: ConfigProblem[] = [];
  /** Collections being built, to catch an alias to its own ancestor. */
  private readonly building = new Set<Node>();

  constructor(
    private readonly doc: Document,
    private readonly lineCounter: LineCounter,
    private readonly file: string,
    private readonly env: Env,
    private readonly opts: ParseOptions,
  ) {}

  result(data: unknown): ParsedSource {
    const { problems, ambiguous, poisoned, waived } = this;
    return {
      data,
      problems,
      locate: (path) => this.locate(path),
      ambiguous,
      poisoned,
      maskInterpolated: (path, message) => this.maskInterpolated(path, message),
      waived,
    };
  }

  toPos(offset: number): Position {
    const lp = this.lineCounter.linePos(offset);
    return { line: lp.line, col: lp.col };
  }

  problem(pos: Position, path: readonly PathSegment[], message: string, into = this.problems): void {
    into.push({ file: this.file, line: pos.line, col: pos.col, path: formatPath(path), message });
  }

  buildRoot(): unknown {
    const rootPos = this.nodePos(this.doc.contents as Node | null, { line: 1, col: 1 });
    this.locations.set(pathKey([]), { value: rootPos });
    return this.build(this.doc.contents, [], rootPos);
  }

  private locate(path: readonly PathSegment[]): { position: Position; exact: NodeLocation | undefined } {
    const exact = this.locations.get(pathKey(path));
    if (exact) return { position: exact.value, exact };
    for (let n = path.length - 1; n >= 0; n--) {
      const loc = this.locations.get(pathKey(path.slice(0, n)));
      if (loc) return { position: loc.value, exact: undefined };
    }
    return { position: { line: 1, col: 1 }, exact: undefined };
  }

  private maskInterpolated(path: readonly PathSegment[], message: string): string {
    const hit = this.interpolated.get(pathKey(path));
    if (!hit || hit.value === "" || !message.includes(hit.value)) return message;
    return `${message.split(hit.value).join(hit.written)} (the value from the environment is not shown)`;
  }

  private nodePos(node: Node | null | undefined, fallback: Position): Position {
    return node?.range ? this.toPos(node.range[0]) : fallback;
  }

  private build(node: unknown, path: PathSegment[], fallback: Position): unknown {
    if (node === null || node === undefined) return null;
    if (isAlias(node)) {
      const target = node.resolve(this.doc);
      if (!target) {
        this.problem(this.nodePos(node, fallback), path, `unknown alias *${node.source}`);
        return null;
      }
      return this.build(target, path, fallback);
    }
    if (isScalar(node)) return this.buildScalar(node, path, fallback);
    if (isMap(node) || isSeq(node)) {
      if (this.building.has(node)) {
        this.problem(this.nodePos(node, fallback), path, "an alias refers to its own ancestor (recursive structure)");
        return null;
      }
      this.building.add(node);
      try {
        return isMap(node) ? this.buildMap(node.items, path, fallback) : this.buildSeq(node.items, path, fallback);
      } finally {
        this.building.delete(node);
      }
    }
    this.problem(fallback, path, "unsupported YAML node");
    return null;
  }

  private buildScalar(node: Scalar, path: PathSegment[], fallback: Position): unknown {
    const value: unknown = node.value;
    if (typeof value !== "string") return value;
    const res = interpolate(value, this.env);
    if (!res.ok && this.opts.optional?.(path)) {
      this.problem(this.nodePos(node, fallback), path, res.message, this.waived);
      return "";
    }
    if (!res.ok) {
      this.problem(this.nodePos(node, fallback), path, res.message);
      this.poisoned.add(pathKey(path));
      return value;
    }
    if (res.value !== value) this.interpolated.set(pathKey(path), { written: value, value: res.value });
    if (res.value !== value && isWholeReference(value)) {
      const typed = typedScalar(res.value);
      if (typed !== undefined) {
        this.ambiguous.set(pathKey(path), { path: [...path], text: res.value });
        return typed;
      }
    }
    return res.value;
  }

  private buildMap(items: readonly unknown[], path: PathSegment[], fallback: Position): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const merged: Array<Record<string, unknown>> = [];
    for (const item of items) {
      const pair = item as { key: unknown; value: unknown };
      const keyNode = pair.key;
      const keyPos = isScalar(keyNode) || isMap(keyNode) || isSeq(keyNode) ? this.nodePos(keyNode, fallback) : fallback;
      if (isScalar(keyNode) && (typeof keyNode.value === "symbol" || keyNode.source === "<<")) {
        this.collectMerge(pair.value, path, keyPos, merged);
        continue;
      }
      if (!isScalar(keyNode) || (keyNode.value !== null && typeof keyNode.value === "object")) {
        this.problem(keyPos, path, "mapping keys must be plain strings");
        continue;
      }
      const key = String(keyNode.value);
      const childPath = [...path, key];
      const valueNode = pair.value as Node | null;
      // `key:` with nothing after it: point at the key, the empty value has no useful column.
      const emptyValue = valueNode === null || (isScalar(valueNode) && valueNode.value === null && !valueNode.source);
      this.locations.set(pathKey(childPath), { key: keyPos, value: emptyValue ? keyPos : this.nodePos(valueNode, keyPos) });
      setOwn(out, key, this.build(valueNode, childPath, keyPos));
    }
    // Explicit keys win over merged ones, as in YAML 1.1 merge semantics.
    for (const source of merged) for (const [k, v] of Object.entries(source)) if (!Object.hasOwn(out, k)) setOwn(out, k, v);
    return out;
  }

  private collectMerge(valueNode: unknown, path: PathSegment[], pos: Position, into: Array<Record<string, unknown>>): void {
    const sources = isSeq(valueNode) ? valueNode.items : [valueNode];
    for (const s of sources) {
      const built = this.build(s, path, pos);
      if (built !== null && typeof built === "object" && !Array.isArray(built)) into.push(built as Record<string, unknown>);
      else this.problem(pos, path, "'<<' must refer to a mapping (or a list of mappings)");
    }
  }

  private buildSeq(items: readonly unknown[], path: PathSegment[], fallback: Position): unknown[] {
    return items.map((item, i) => {
      const childPath = [...path, i];
      const itemNode = item as Node | null;
      this.locations.set(pathKey(childPath), { value: this.nodePos(itemNode, fallback) });
      return this.build(itemNode, childPath, fallback);
    });
  }
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
