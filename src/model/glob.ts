/**
 * Silence patterns: `*` matches any run of characters, `?` exactly one, everything else itself; the
 * whole text must match. Matched without regular expressions, in O(pattern × text) steps at worst,
 * so that no pattern a chat user types can make the daemon backtrack for ever.
 */

/** Longest pattern accepted from chat or the CLI. */
export const MAX_GLOB_LENGTH = 256;

/** Why `glob` cannot be a silence pattern, or null when it can. */
export function globProblem(glob: string): string | null {
  const length = [...glob].length;
  if (length > MAX_GLOB_LENGTH) return `a pattern is at most ${MAX_GLOB_LENGTH} characters (got ${length})`;
  return null;
}

export function globMatch(glob: string, text: string): boolean {
  let p = 0;
  let t = 0;
  // Position after the last `*` seen, and the text position that star currently absorbs up to.
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    const c = glob[p];
    if (c === "*") {
      star = ++p;
      mark = t;
    } else if (c !== undefined && (c === "?" || c === text[t])) {
      p++;
      t++;
    } else if (star >= 0) {
      p = star;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (glob[p] === "*") p++;
  return p === glob.length;
}
