import { describe, expect, it } from "vitest";
import { alertMessage, callbackData, clipText, groupMessage, parseCallbackData, parseSlackAction } from "../notifiers/chat-message.js";
import { ChatPacer, TELEGRAM_GROUP_RATE } from "../notifiers/chat-pacer.js";
import { escapeHtml, messageHtml, renderLines } from "../notifiers/telegram-html.js";
import { makeAlert, T0 } from "./fakes/alerts.js";
import { parseTelegramHtml } from "./fakes/telegram-html-parse.js";

describe("telegram HTML", () => {
  it("escapes data and never cuts inside a tag or an entity", () => {
    expect(escapeHtml(`<b>&"x"</b>`)).toBe("&lt;b&gt;&amp;&quot;x&quot;&lt;/b&gt;");
    const lines = [[{ text: "&&&<<<>>>".repeat(40), bold: true }], [{ text: "😀".repeat(300), code: true }]];
    for (let limit = 5; limit < 700; limit += 7) {
      const { html, visible } = renderLines(lines, limit);
      const parsed = parseTelegramHtml(html);
      expect(parsed).toHaveProperty("text");
      const text = (parsed as { text: string }).text;
      expect(text.length).toBe(visible);
      expect(text.length).toBeLessThanOrEqual(limit);
    }
  });

  it("a full alert message with hostile data parses as Telegram HTML", () => {
    const a = { ...makeAlert({ metric: "<b>m&", series: "</code>_*[", reason: "<a href='x'>" }), id: 7 };
    const { html } = messageHtml(
      alertMessage({ type: "alert", event: "firing", alert: a, previousState: null, actor: "engine", note: "", at: T0 }),
      4096,
    );
    expect(parseTelegramHtml(html)).toEqual({ text: expect.stringContaining("#7 · critical · <b>m& {</code>_*[}") });
  });

  it("groups list each series with an Ack button", () => {
    const alerts = [1, 2].map((id) => ({
      type: "alert" as const,
      event: "firing" as const,
      alert: { ...makeAlert({ series: `s${id}` }), id },
      previousState: null,
      actor: "engine",
      note: "",
      at: T0,
    }));
    const m = groupMessage({ type: "group", metric: "dau", alerts, at: T0 });
    expect(m.headline).toBe("🔴 FIRING 2 series of dau · critical");
    expect(m.buttons.map((r) => callbackData(r[0]!))).toEqual(["a:1", "a:2"]);
  });
});

describe("button data", () => {
  it("round-trips and stays under 64 bytes", () => {
    const a = { ...makeAlert(), id: 999_999_999_999_999 };
    const buttons = alertMessage({
      type: "alert",
      event: "firing",
      alert: a,
      previousState: null,
      actor: "engine",
      note: "",
      at: T0,
    }).buttons.flat();
    for (const b of buttons) {
      const data = callbackData(b);
      expect(Buffer.byteLength(data)).toBeLessThan(64);
      expect(parseCallbackData(data)).toEqual({ action: b.action, alertId: a.id, ...(b.arg ? { arg: b.arg } : {}) });
    }
    expect(parseCallbackData("s:1")).toBeNull();
    expect(parseCallbackData("a:1:1h")).toBeNull();
    expect(parseCallbackData("x:1")).toBeNull();
    expect(parseSlackAction("vigil_snooze_4h", "12")).toEqual({ action: "snooze", alertId: 12, arg: "4h" });
    expect(parseSlackAction("vigil_ack", "12; DROP TABLE")).toBeNull();
  });

  it("clipText counts UTF-16 units and keeps surrogate pairs whole", () => {
    const s = clipText("😀".repeat(10), 6);
    expect(s).toBe("😀😀…");
    expect(s.length).toBeLessThanOrEqual(6);
  });
});

describe("chat pacer", () => {
  it("spaces messages per chat and caps a group at 20 per minute", async () => {
    let now = 0;
    const waits: number[] = [];
    const pacer = new ChatPacer(TELEGRAM_GROUP_RATE, {
      now: () => now,
      sleep: async (ms) => {
        waits.push(ms);
        now += ms;
      },
    });
    const sentAt: number[] = [];
    await Promise.all(
      Array.from({ length: 25 }, () =>
        pacer.acquire().then(() => {
          sentAt.push(now);
        }),
      ),
    );
    expect(sentAt.slice(0, 3)).toEqual([0, 1000, 2000]);
    for (let i = 1; i < sentAt.length; i++) expect(sentAt[i]! - sentAt[i - 1]!).toBeGreaterThanOrEqual(1000);
    // The 21st message waits for the minute window of the first.
    expect(sentAt[20]).toBe(60_000);
    for (let i = 20; i < sentAt.length; i++) expect(sentAt[i]! - sentAt[i - 20]!).toBeGreaterThanOrEqual(60_000);
  });
});
