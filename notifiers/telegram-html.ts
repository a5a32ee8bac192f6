/**
 * Telegram HTML: every piece of data escaped, and messages cut to Telegram's limits (4096
 * characters of text, 1024 of caption, counted after entity parsing) between spans or inside a
 * span's plain text — never inside a tag or an entity.
 */
import type { ButtonSpec, ChatMessage, Line, Span } from "./chat-message.js";
import { callbackData } from "./chat-message.js";

export const TEXT_LIMIT = 4096;
export const CAPTION_LIMIT = 1024;

/** `& < >` in text and `"` in attribute values are all Telegram's HTML mode requires. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : "&quot;"));
}

function wrap(s: Span, text: string): string {
  let h = escapeHtml(text);
  if (s.code) h = `<code>${h}</code>`;
  if (s.bold) h = `<b>${h}</b>`;
  if (s.italic) h = `<i>${h}</i>`;
  if (s.href) h = `<a href="${escapeHtml(s.href)}">${h}</a>`;
  return h;
}

/** Cut `text` to at most `room` UTF-16 units (Telegram's unit), whole code points only. */
function cut(text: string, room: number): string {
  let out = "";
  for (const cp of text) {
    if (out.length + cp.length > room) break;
    out += cp;
  }
  return out;
}

/**
 * Render lines to HTML whose visible text is at most `limit` UTF-16 units. When it does not fit,
 * the text is cut and ends with "…".
 */
export function renderLines(lines: readonly Line[], limit: number): { html: string; visible: number; truncated: boolean } {
  const whole = render(lines, limit, false);
  // Cut with one unit kept back for the ellipsis, so the result never exceeds `limit`.
  return whole.truncated ? render(lines, limit - 1, true) : whole;
}

function render(lines: readonly Line[], budget: number, ellipsis: boolean): { html: string; visible: number; truncated: boolean } {
  let html = "";
  let visible = 0;
  for (let i = 0; i < lines.length; i++) {
    const spans = i === 0 ? lines[i]! : [{ text: "\n" }, ...lines[i]!];
    for (const s of spans) {
      if (visible + s.text.length <= budget) {
        html += s.text === "\n" ? "\n" : wrap(s, s.text);
        visible += s.text.length;
        continue;
      }
      if (!ellipsis) return { html, visible, truncated: true };
      const part = cut(s.text, Math.max(0, budget - visible));
      if (part) html += wrap(s, part);
      return { html: `${html}…`, visible: visible + part.length + 1, truncated: true };
    }
  }
  return { html, visible, truncated: false };
}

/** The message as Telegram HTML: bold headline, then the lines. */
export function messageHtml(m: ChatMessage, limit: number): { html: string; visible: number; truncated: boolean } {
  return renderLines([[{ text: m.headline, bold: true }], ...m.lines], limit);
}

export interface InlineKeyboard {
  inline_keyboard: Array<Array<{ text: string; callback_data: string }>>;
}

export function inlineKeyboard(rows: readonly ButtonSpec[][]): InlineKeyboard | undefined {
  if (rows.length === 0) return undefined;
  return { inline_keyboard: rows.map((r) => r.map((b) => ({ text: b.label, callback_data: callbackData(b) }))) };
}
