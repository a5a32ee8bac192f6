/**
 * zod issues -> operator-facing problems: one line per problem, in our words, at the right node
 * (the key for an unknown key, the value for a wrong value, the parent mapping for a missing key).
 */
import type { z } from "zod";
import { suggestion } from "./did-you-mean.js";
import { type ConfigProblem, formatPath, type PathSegment } from "./problem.js";
import type { ParsedSource } from "./yaml-source.js";
import { pathKey } from "./yaml-source.js";

/** Parse-level error map result: marks messages zod made up, so we write our own (schema-level messages win). */
export const DEFAULT_MESSAGE = "\u0000default";

type Issue = z.core.$ZodIssue;
type AnySchema = z.core.$ZodType;

export function issuesToProblems(
  issues: readonly Issue[],
  schema: AnySchema,
  data: unknown,
  source: ParsedSource,
  file: string,
): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const at = (path: readonly PathSegment[], where: "key" | "value", message: string): void => {
    if (isPoisoned(path, source)) return;
    const { position, exact } = source.locate(path);
    const pos = where === "key" && exact?.key ? exact.key : position;
    out.push({ file, line: pos.line, col: pos.col, path: formatPath(path), message: source.maskInterpolated(path, message) });
  };
  for (const issue of issues) {
    const path = issue.path.filter((p): p is PathSegment => typeof p === "string" || typeof p === "number");
    switch (issue.code) {
      case "unrecognized_keys": {
        const known = knownKeysAt(schema, path, data);
        for (const key of issue.keys) {
          at([...path, key], "key", `unknown key '${key}'${suggestion(key, known)}`);
        }
        break;
      }
      case "invalid_union":
        if (issue.discriminator !== undefined && "options" in issue && issue.errors.length === 0) {
          const parentPath = path.slice(0, -1);
          const obj = valueAt(data, parentPath);
          const given = isRecord(obj) ? obj[issue.discriminator] : undefined;
          const options = (issue.options ?? []).map(String);
          const what = describeUnion(parentPath);
          if (given === undefined) {
            at(parentPath, "value", `missing '${issue.discriminator}' (${what.plural}: ${options.join(", ")})`);
          } else {
            at(
              path,
              "value",
              `unknown ${what.singular} ${quote(given)} (known: ${options.join(", ")})${suggestion(String(given), options)}`,
            );
          }
        } else if (isMissing(data, path)) {
          at(path, "value", `missing required key '${String(path[path.length - 1])}'`);
        } else {
          at(path, "value", issue.message === DEFAULT_MESSAGE ? "does not match any allowed form" : issue.message);
        }
        break;
      case "invalid_key": {
        const inner = issue.issues[0];
        const msg = inner && inner.message !== DEFAULT_MESSAGE ? inner.message : "invalid key";
        at(path, "key", msg);
        break;
      }
      default: {
        if (isMissing(data, path)) {
          const last = path[path.length - 1];
          at(path, "value", typeof last === "string" ? `missing required key '${last}'` : "missing value");
        } else {
          let message = issue.message === DEFAULT_MESSAGE ? defaultMessage(issue) : issue.message;
          if (issue.code === "invalid_type" && issue.expected === "number" && wantsInteger(schema, path, data)) {
            message = message.replace("expected a number", "expected an integer");
          }
          if (issue.code === "invalid_type" && typeof issue.input === "string" && path[path.length - 2] === "detectors") {
            message += ` (write {type: ${issue.input}})`;
          }
          at(path, "value", message);
        }
      }
    }
  }
  return out;
}

/** The key is absent from a mapping that exists (a wrong value of `undefined` can only mean that). */
function isMissing(data: unknown, path: readonly PathSegment[]): boolean {
  const last = path[path.length - 1];
  if (typeof last !== "string") return false;
  const parent = valueAt(data, path.slice(0, -1));
  return isRecord(parent) && !Object.hasOwn(parent, last);
}

/** Under a scalar whose interpolation already failed: one message there is enough. */
export function isPoisoned(path: readonly PathSegment[], source: ParsedSource): boolean {
  for (let n = path.length; n >= 0; n--) if (source.poisoned.has(pathKey(path.slice(0, n)))) return true;
  return false;
}

function describeUnion(parentPath: readonly PathSegment[]): { singular: string; plural: string } {
  if (parentPath.includes("detectors")) return { singular: "detector", plural: "detectors" };
  if (parentPath[0] === "channels") return { singular: "channel type", plural: "channel types" };
  return { singular: "type", plural: "types" };
}

function defaultMessage(issue: Issue): string {
  switch (issue.code) {
    case "invalid_type":
      return `expected ${article(issue.expected)}, got ${describeValue(issue.input)}`;
    case "too_small":
      return bound(issue.origin, "min", Number(issue.minimum), issue.inclusive !== false);
    case "too_big":
      return bound(issue.origin, "max", Number(issue.maximum), issue.inclusive !== false);
    case "invalid_value": {
      const values = issue.values.map((v) => String(v));
      const given = issue.input;
      const hint = typeof given === "string" ? suggestion(given, values) : "";
      return `expected one of ${values.join(", ")}, got ${describeValue(given)}${hint}`;
    }
    case "invalid_format":
      return `invalid ${issue.format}: ${describeValue(issue.input)}`;
    case "not_multiple_of":
      return `must be a multiple of ${issue.divisor}`;
    default:
      return "invalid value";
  }
}

function bound(origin: string, kind: "min" | "max", limit: number, inclusive: boolean): string {
  if (origin === "string") {
    if (kind === "min" && limit === 1) return "must not be empty";
    return kind === "min" ? `must be at least ${limit} characters` : `must be at most ${limit} characters`;
  }
  if (origin === "array") {
    const items = `${limit} item${limit === 1 ? "" : "s"}`;
    return kind === "min" ? `must have at least ${items}` : `must have at most ${items}`;
  }
  if (kind === "min") return inclusive ? `must be at least ${limit}` : `must be greater than ${limit}`;
  return inclusive ? `must be at most ${limit}` : `must be less than ${limit}`;
}

function article(expected: string): string {
  switch (expected) {
    case "number":
      return "a number";
    case "int":
      return "an integer";
    case "string":
      return "a string";
    case "boolean":
      return "true or false";
    case "array":
      return "a list";
    case "object":
    case "record":
      return "a mapping";
    case "null":
      return "null";
    default:
      return expected;
  }
}

/** How a value reads in a message: `string 'abc'`, `number 5`, `a list`. */
export function describeValue(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "an empty value";
  if (typeof v === "string") return `string ${quote(v)}`;
  if (typeof v === "number") return `number ${v}`;
  if (typeof v === "boolean") return `boolean ${v}`;
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return typeof v;
}

function quote(v: unknown): string {
  const s = String(v);
  return `'${s.length > 60 ? `${s.slice(0, 57)}...` : s}'`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

export function valueAt(data: unknown, path: readonly PathSegment[]): unknown {
  let cur: unknown = data;
  for (const seg of path) {
    if (typeof seg === "number") {
      if (!Array.isArray(cur)) return undefined;
      cur = cur[seg];
    } else {
      if (!isRecord(cur) || !Object.hasOwn(cur, seg)) return undefined;
      cur = cur[seg];
    }
  }
  return cur;
}

/** The schemas that could apply at `path` (several where a union leaves it open), wrappers peeled. */
export function schemasAt(schema: AnySchema, path: readonly PathSegment[], data: unknown): AnySchema[] {
  let candidates: AnySchema[] = [schema];
  let value: unknown = data;
  for (const seg of path) {
    const next: AnySchema[] = [];
    for (const c of candidates.flatMap((s) => unwrap(s, value))) {
      const def = c._zod.def;
      if (def.type === "object" && typeof seg === "string") {
        const child = (c as z.core.$ZodObject)._zod.def.shape[seg];
        if (child) next.push(child);
      } else if (def.type === "array" && typeof seg === "number") {
        next.push((c as z.core.$ZodArray)._zod.def.element);
      } else if (def.type === "record" && typeof seg === "string") {
        next.push((c as z.core.$ZodRecord)._zod.def.valueType);
      }
    }
    candidates = next;
    value = valueAt(value, [seg]);
  }
  return candidates.flatMap((s) => unwrap(s, value));
}

/** The keys the object schema at `path` accepts, for did-you-mean on an unknown key. */
export function knownKeysAt(schema: AnySchema, path: readonly PathSegment[], data: unknown): string[] {
  const keys = new Set<string>();
  for (const c of schemasAt(schema, path, data)) {
    if (c._zod.def.type === "object") for (const k of Object.keys((c as z.core.$ZodObject)._zod.def.shape)) keys.add(k);
  }
  return [...keys];
}

/** zod reports `z.int()` as expecting a "number"; the operator should hear "integer". */
function wantsInteger(schema: AnySchema, path: readonly PathSegment[], data: unknown): boolean {
  const found = schemasAt(schema, path, data);
  return found.length > 0 && found.every((s) => s._zod.def.type === "number" && (s as z.ZodNumber).isInt === true);
}

/** Peel wrappers; for a union keep the options the value could be meant for (by discriminator when there is one). */
function unwrap(s: AnySchema, value: unknown): AnySchema[] {
  const def = s._zod.def;
  switch (def.type) {
    case "optional":
    case "nullable":
    case "default":
    case "prefault":
    case "nonoptional":
    case "readonly":
    case "catch":
      return unwrap((s as z.core.$ZodOptional)._zod.def.innerType, value);
    case "pipe":
      return unwrap((s as z.core.$ZodPipe)._zod.def.in, value);
    case "union": {
      const union = s as z.core.$ZodDiscriminatedUnion;
      const disc = union._zod.def.discriminator;
      const options = union._zod.def.options.flatMap((o) => unwrap(o, value));
      if (disc && isRecord(value)) {
        const matching = options.filter((o) => {
          if (o._zod.def.type !== "object") return false;
          const d = (o as z.core.$ZodObject)._zod.def.shape[disc];
          return (
            d !== undefined && d._zod.def.type === "literal" && (d as z.core.$ZodLiteral)._zod.def.values.includes(value[disc] as never)
          );
        });
        if (matching.length > 0) return matching;
      }
      return options;
    }
    default:
      return [s];
  }
}
