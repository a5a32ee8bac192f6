/**
 * Series keys: "platform=ios,country=BR". They name a series in alerts, fingerprints and chat
 * commands (`silence dau/platform=ios`), so they must be stable (label order = split_by order) and
 * unambiguous: a backslash escapes `\`, `,` and `=` inside names and values.
 */

/** The key a series gets when its split value is NULL. */
export const NULL_LABEL = "(null)";
/** The key a series gets when its split value is the text "(null)": quoted, so it stays apart from NULL. */
export const NULL_TEXT_LABEL = '"(null)"';

function escapePart(s: string): string {
  return s.replace(/[\\,=]/g, (c) => `\\${c}`);
}

/** "" for no labels; otherwise `name=value` pairs joined by ",", in the given order. */
export function formatSeriesKey(labels: readonly (readonly [string, string])[]): string {
  return labels.map(([name, value]) => `${escapePart(name)}=${escapePart(value)}`).join(",");
}

/** The inverse of formatSeriesKey; null when `key` is not a well-formed series key. */
export function parseSeriesKey(key: string): [string, string][] | null {
  if (key === "") return [];
  const pairs: [string, string][] = [];
  let name: string | null = null;
  let cur = "";
  for (let i = 0; i < key.length; i++) {
    const c = key[i]!;
    if (c === "\\") {
      const next = key[i + 1];
      if (next === undefined) return null;
      cur += next;
      i++;
    } else if (c === "=" && name === null) {
      name = cur;
      cur = "";
    } else if (c === ",") {
      if (name === null) return null;
      pairs.push([name, cur]);
      name = null;
      cur = "";
    } else if (c === "=") {
      return null;
    } else {
      cur += c;
    }
  }
  if (name === null) return null;
  pairs.push([name, cur]);
  return pairs;
}

/** A label value as text: NULL -> (null), the text "(null)" -> "(null)" quoted, Date -> ISO-8601, anything else -> String(). */
export function labelText(value: unknown): string {
  if (value === null || value === undefined) return NULL_LABEL;
  if (value === NULL_LABEL) return NULL_TEXT_LABEL;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? String(value) : value.toISOString();
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}
