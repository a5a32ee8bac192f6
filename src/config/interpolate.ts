/**
 * `${VAR}`, `${VAR:-default}` (unset or empty), `${VAR-default}` (unset only) and `${VAR:?message}`
 * inside scalar strings; `$${` is a literal `${`. Runs on parsed scalars, never on the raw text,
 * so a substituted value cannot change the document's structure and positions stay true.
 */
export type Env = Readonly<Record<string, string | undefined>>;

export type InterpolationResult = { ok: true; value: string } | { ok: false; message: string };

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function interpolate(text: string, env: Env): InterpolationResult {
  if (!text.includes("${")) return { ok: true, value: text };
  let out = "";
  let i = 0;
  while (i < text.length) {
    const start = text.indexOf("$", i);
    if (start < 0) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, start);
    if (text.startsWith("$${", start)) {
      out += "${";
      i = start + 3;
      continue;
    }
    if (!text.startsWith("${", start)) {
      out += "$";
      i = start + 1;
      continue;
    }
    const end = text.indexOf("}", start + 2);
    if (end < 0) return { ok: false, message: `unclosed '\${' in '${text}' (write $\${ for a literal \${)` };
    const expr = text.slice(start + 2, end);
    const resolved = resolveExpression(expr, env);
    if (!resolved.ok) return resolved;
    out += resolved.value;
    i = end + 1;
  }
  return { ok: true, value: out };
}

function resolveExpression(expr: string, env: Env): InterpolationResult {
  const m = /^([^:?-]*)(:-|-|:\?|\?)?([\s\S]*)$/.exec(expr);
  const name = m?.[1] ?? expr;
  if (!NAME.test(name) || (m?.[2] === undefined && (m?.[3] ?? "") !== "")) {
    return { ok: false, message: `invalid variable reference '\${${expr}}' (write $\${ for a literal \${)` };
  }
  const op = m?.[2];
  const arg = m?.[3] ?? "";
  const value = env[name];
  switch (op) {
    case ":-":
      return { ok: true, value: value === undefined || value === "" ? arg : value };
    case "-":
      return { ok: true, value: value ?? arg };
    case ":?":
    case "?":
      if (value === undefined || (op === ":?" && value === "")) {
        return { ok: false, message: `environment variable ${name} is not set${arg ? `: ${arg}` : ""}` };
      }
      return { ok: true, value };
    default:
      if (value === undefined) {
        return {
          ok: false,
          message: `environment variable ${name} is not set (use \${${name}:-default} to give a default)`,
        };
      }
      return { ok: true, value };
  }
}

/** True when the whole scalar is one `${...}` reference, so its result may stand for a number or boolean. */
export function isWholeReference(text: string): boolean {
  return /^\$\{[^}]*\}$/.test(text.trim());
}
