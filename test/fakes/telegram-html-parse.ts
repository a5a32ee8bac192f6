/**
 * Telegram's HTML parse mode as the Bot API enforces it: only its tags, entities `&lt; &gt; &amp;
 * &quot;` and numeric ones, tags properly nested. Returns the visible text (what the length limits
 * count) or the error description Telegram would answer.
 */
const TAGS = new Set([
  "b",
  "strong",
  "i",
  "em",
  "u",
  "ins",
  "s",
  "strike",
  "del",
  "a",
  "code",
  "pre",
  "span",
  "tg-spoiler",
  "tg-emoji",
  "blockquote",
]);
const NAMED: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"' };

export function parseTelegramHtml(html: string): { text: string } | { error: string } {
  const at = (i: number) => Buffer.byteLength(html.slice(0, i), "utf8");
  const stack: string[] = [];
  let text = "";
  let i = 0;
  while (i < html.length) {
    const c = html[i]!;
    if (c === "<") {
      const m = /^<(\/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:\s*=\s*(?:"[^"<>]*"|'[^'<>]*'|[^\s"'<>]+))?)*)\s*>/.exec(html.slice(i));
      if (!m) return { error: `Can't parse entities: Unclosed start tag at byte offset ${at(i)}` };
      const name = m[2]!.toLowerCase();
      if (m[1]) {
        const open = stack.pop();
        if (open !== name) {
          return {
            error: `Can't parse entities: Unmatched end tag at byte offset ${at(i)}, expected "</${open ?? ""}>", found "</${name}>"`,
          };
        }
      } else {
        if (!TAGS.has(name)) return { error: `Can't parse entities: Unsupported start tag "${name}" at byte offset ${at(i)}` };
        const attrs = m[3] ?? "";
        if (/&(?!(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)/.test(attrs)) {
          return { error: `Can't parse entities: Character entity expected at byte offset ${at(i)}` };
        }
        stack.push(name);
      }
      i += m[0].length;
      continue;
    }
    if (c === ">") return { error: `Can't parse entities: Unexpected end tag at byte offset ${at(i)}` };
    if (c === "&") {
      const m = /^&(lt|gt|amp|quot|#(\d+)|#x([0-9a-fA-F]+));/.exec(html.slice(i));
      if (!m) return { error: `Can't parse entities: Character entity expected at byte offset ${at(i)}` };
      text += m[2] ? String.fromCodePoint(Number(m[2])) : m[3] ? String.fromCodePoint(Number.parseInt(m[3], 16)) : NAMED[m[1]!]!;
      i += m[0].length;
      continue;
    }
    text += c;
    i++;
  }
  if (stack.length > 0)
    return { error: `Can't parse entities: Can't find end tag corresponding to start tag "${stack[stack.length - 1]}"` };
  return { text };
}
