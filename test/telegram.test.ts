import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { alertMessage } from "../notifiers/chat-message.js";
import { NO_PACING } from "../notifiers/chat-pacer.js";
import type { Notifier } from "../notifiers/notifier.js";
import { createTelegramNotifier, type TelegramRef } from "../notifiers/telegram.js";
import { messageHtml } from "../notifiers/telegram-html.js";
import { AlertActions } from "../src/actions.js";
import { ManualClock } from "../src/clock.js";
import type { VigilConfig } from "../src/config/types.js";
import { silentLogger } from "../src/log.js";
import { Dispatcher } from "../src/notify/dispatcher.js";
import type { StateStore } from "../src/store/state-store.js";
import { VigilMetrics } from "../src/telemetry/metrics.js";
import { fireAlert, makeAlert, T0 } from "./fakes/alerts.js";
import { sampleChart } from "./fakes/sample-chart.js";
import { FAKE_TOKEN, FakeTelegramServer } from "./fakes/telegram-server.js";
import { vigilConfig } from "./helpers/config.js";
import { useStateSchemas } from "./helpers/state.js";

const CHAT = "-100200300";

describe("telegram notifier through the outbox, against a fake Bot API", () => {
  const state = useStateSchemas("tg");
  let store: StateStore;
  let tg: FakeTelegramServer;
  let clock: ManualClock;
  let config: VigilConfig;
  let notifier: Notifier;
  let dispatcher: Dispatcher;
  let actions: AlertActions;

  beforeEach(async () => {
    store = await state.freshStore();
    tg = await new FakeTelegramServer().start();
    clock = new ManualClock(T0);
    config = vigilConfig([], {
      telegram: { token: FAKE_TOKEN, api_url: tg.url, allowed_users: [111] },
      channels: { oncall: { type: "telegram", chat_id: CHAT, send_resolved: true } },
    });
    notifier = createTelegramNotifier(
      "oncall",
      config.channels.oncall!,
      { config, log: silentLogger(), stdout: process.stdout },
      { pacer: NO_PACING, timeoutMs: 1000 },
    );
    const notifiers = new Map([["oncall", notifier]]);
    dispatcher = new Dispatcher({
      store,
      notifiers: () => notifiers,
      clock,
      log: silentLogger(),
      metrics: new VigilMetrics({ defaultMetrics: false }),
      random: () => 1,
    });
    actions = new AlertActions(store, clock, () => config);
  });
  afterEach(async () => {
    await tg.close();
  });

  /** Drain, moving the manual clock past every retry, until the queue is empty. */
  async function deliverAll(maxRounds = 50): Promise<void> {
    for (let i = 0; i < maxRounds; i++) {
      await dispatcher.drain();
      if ((await store.queueDepth()) === 0) return;
      const next = await dispatcher.nextDue();
      clock.set(Math.max(clock.now() + 1, next ?? clock.now()));
    }
    throw new Error(`queue not empty after ${maxRounds} rounds: ${JSON.stringify(await store.deliveries({ status: "pending" }))}`);
  }

  it("an alert with its chart arrives as a photo with an escaped HTML caption and buttons", async () => {
    const a = await fireAlert(store, makeAlert(), ["oncall"], sampleChart());
    await deliverAll();
    const [msg, ...rest] = tg.sent(CHAT);
    expect(rest).toHaveLength(0);
    expect(msg!.kind).toBe("photo");
    expect(msg!.photo!.length).toBeGreaterThan(10_000);
    expect(msg!.plain).toContain(`#${a.id} · critical · dau {platform=ios}`);
    expect(msg!.plain).toMatch(/511 vs expected 1,136/);
    expect(msg!.plain).toMatch(/−55\.0%, −9\.8σ/);
    expect(msg!.plain).toContain("seasonal — 9.8σ below");
    expect(msg!.plain).toMatch(/window: 2026-01-19 11:00 UTC \+ 1h · since 2026-01-19 08:00 UTC/);
    expect(msg!.body).toContain('<a href="https://wiki.example.com/runbooks/dau?a=1&amp;b=2">runbook</a>');
    expect(msg!.keyboard.flat().map((b) => [b.text, b.callback_data])).toEqual([
      ["👀 Acknowledge", `a:${a.id}`],
      ["✅ Resolve", `r:${a.id}`],
      ["💤 1h", `s:${a.id}:1h`],
      ["💤 4h", `s:${a.id}:4h`],
      ["💤 24h", `s:${a.id}:24h`],
    ]);
    const ref = (await store.messageRef(a.id, "oncall")) as TelegramRef;
    expect(ref).toEqual({ chat_id: CHAT, message_id: msg!.message_id, kind: "photo" });
  });

  it("acknowledge, snooze and resolve edit the original message; resolve also replies", async () => {
    const a = await fireAlert(store, makeAlert(), ["oncall"], sampleChart());
    await deliverAll();
    const original = tg.sent(CHAT)[0]!;
    expect((await actions.acknowledge(a.id, "telegram:@alice")).ok).toBe(true);
    await deliverAll();
    let msg = tg.message(CHAT, original.message_id)!;
    expect(msg.edits).toBe(1);
    expect(msg.plain).toMatch(/^👀 ACKNOWLEDGED #/);
    expect(msg.plain).toContain("👀 Acknowledged by @alice at 2026-01-19 12:00 UTC");
    expect(msg.keyboard[0]!.map((b) => b.callback_data)).toEqual([`u:${a.id}`, `r:${a.id}`]);

    clock.advance(60_000);
    expect((await actions.snooze(a.id, 4 * 3_600_000, "telegram:@bob")).ok).toBe(true);
    await deliverAll();
    msg = tg.message(CHAT, original.message_id)!;
    expect(msg.plain).toContain("💤 Snoozed until 2026-01-19 16:01 UTC by @bob");
    expect(msg.keyboard[0]![0]!.callback_data).toBe(`a:${a.id}`);

    expect((await actions.resolve(a.id, "telegram:@carol")).ok).toBe(true);
    await deliverAll();
    msg = tg.message(CHAT, original.message_id)!;
    expect(msg.edits).toBe(3);
    expect(msg.plain).toMatch(/^✅ RESOLVED/);
    expect(msg.plain).toContain("✅ Resolved by @carol");
    expect(msg.keyboard).toEqual([]);
    const replies = tg.sent(CHAT).filter((m) => m.replyTo === original.message_id);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.plain).toContain("Resolved by @carol");
    expect(tg.calls.every((c) => c.status === 200)).toBe(true);
  });

  it("'message is not modified' counts as delivered; a deleted original gets a new message", async () => {
    const a = await fireAlert(store, makeAlert(), ["oncall"]);
    await deliverAll();
    const original = tg.sent(CHAT)[0]!;
    expect(original.kind).toBe("text");
    await actions.acknowledge(a.id, "telegram:@alice");
    await deliverAll();
    // The same change delivered again (a retry after a lost answer) edits nothing.
    const ref = await store.messageRef(a.id, "oncall");
    const alert = (await store.getAlert(a.id))! as typeof a;
    await notifier.send(
      { type: "alert", event: "update", alert, previousState: "firing", actor: "telegram:@alice", note: "acknowledged", at: T0 },
      { previousRef: ref, key: "x" },
    );
    expect(tg.calls.at(-1)!.description).toMatch(/message is not modified/);
    tg.messages.delete(`${CHAT}:${original.message_id}`);
    await actions.unacknowledge(a.id, "telegram:@alice");
    await deliverAll();
    expect(tg.calls.some((c) => /message to edit not found/.test(c.description ?? ""))).toBe(true);
    const last = tg.sent(CHAT).at(-1)!;
    expect(last.message_id).not.toBe(original.message_id);
    expect(last.plain).toContain("Unacknowledged by @alice");
    expect(await store.deliveries({ status: "dead" })).toHaveLength(0);
  });

  it("hostile metric and series names (<b>, &, _*[, emoji, 5,000 characters) go through without a 400", async () => {
    const hostile = makeAlert({
      metric: "<b>rev&nue</b>_*[🚀",
      series: `country=<script>&amp;_*[\`]${"é😀x".repeat(1700)}`,
      reason: '<i>unclosed & "quoted"',
      details: { runbook: 'https://x.example/"><b>', description: "</a><b>" },
    });
    const a = await fireAlert(store, hostile, ["oncall"], sampleChart());
    await deliverAll();
    await actions.acknowledge(a.id, 'telegram:@<b>"x"&');
    await deliverAll();
    expect(tg.calls.filter((c) => c.status !== 200)).toEqual([]);
    const sent = tg.sent(CHAT);
    // Too long for a caption: the photo, then the text under it (which carries the buttons).
    expect(sent.map((m) => m.kind)).toEqual(["photo", "text"]);
    const text = sent[1]!;
    expect(text.replyTo).toBe(sent[0]!.message_id);
    expect(text.plain.length).toBeLessThanOrEqual(4096);
    expect(text.plain).toContain("<b>rev&nue</b>_*[🚀");
    expect(text.plain).toContain("country=<script>&amp;_*[`]é😀x");
    expect(text.edits).toBe(1);
    expect(text.plain).toContain('Acknowledged by @<b>"x"&');
    expect((await store.messageRef(a.id, "oncall")) as TelegramRef).toMatchObject({
      kind: "text",
      message_id: text.message_id,
      photo_message_id: sent[0]!.message_id,
    });
  });

  it("429 storms, 500s, resets and timeouts delay but deliver, in order and once", async () => {
    for (let i = 0; i < 3; i++)
      await fireAlert(store, makeAlert({ series: `s${i}`, fingerprint: `f${i}` }), ["oncall"], i === 0 ? sampleChart(48) : undefined);
    tg.fail({ kind: "429", retryAfter: 30 }, undefined, 3);
    tg.fail({ kind: "status", status: 500 });
    tg.fail({ kind: "status", status: 502 });
    tg.fail({ kind: "reset" });
    tg.fail({ kind: "hang" });
    const started = clock.now();
    await dispatcher.drain();
    // retry_after is honoured: nothing goes out before 30 s passed.
    expect(await dispatcher.nextDue()).toBe(started + 30_000);
    await deliverAll();
    const sent = tg.sent(CHAT);
    expect(sent.map((m) => m.plain.split("\n")[0]!.replace(/^.* · /, ""))).toEqual(["dau {s0}", "dau {s1}", "dau {s2}"]);
    expect(clock.now() - started).toBeGreaterThanOrEqual(90_000);
    expect(await store.deliveries({ status: "dead" })).toHaveLength(0);
  });

  it("a 400 from Telegram (unknown chat) is permanent", async () => {
    await fireAlert(store, makeAlert(), ["oncall"]);
    tg.fail({ kind: "status", status: 400 });
    await dispatcher.drain();
    const dead = await store.deliveries({ status: "dead" });
    expect(dead).toHaveLength(1);
    expect(dead[0]!.lastError).toMatch(/telegram oncall: 400/);
  });

  it("a caption that only just fit still shows the new state after the edit", async () => {
    // Find a description that makes the first caption 1,000-1,024 characters long.
    const base = makeAlert();
    let k = 0;
    for (; k < 600; k++) {
      const visible = messageHtml(
        alertMessage({
          type: "alert",
          event: "firing",
          alert: { ...base, id: 1, details: { ...base.details, description: "d".repeat(k) } },
          previousState: null,
          actor: "engine",
          note: "",
          at: T0,
        }),
        4096,
      ).visible;
      if (visible >= 1000) break;
    }
    const a = await fireAlert(
      store,
      makeAlert({ details: { ...base.details, description: "d".repeat(k), reason: base.reason } }),
      ["oncall"],
      sampleChart(),
    );
    await deliverAll();
    const original = tg.sent(CHAT)[0]!;
    expect(original.kind).toBe("photo");
    await actions.acknowledge(a.id, "telegram:@alice");
    await deliverAll();
    const edited = tg.message(CHAT, original.message_id)!;
    expect(edited.plain.length).toBeLessThanOrEqual(1024);
    expect(edited.plain.split("\n")[1]).toBe("👀 Acknowledged by @alice at 2026-01-19 12:00 UTC");
  });

  it("a group of series goes out as one message with an Ack button each", async () => {
    const alerts = [1, 2, 3].map((id) => ({
      type: "alert" as const,
      event: "firing" as const,
      alert: { ...makeAlert({ series: `<s${id}>&` }), id },
      previousState: null,
      actor: "engine",
      note: "",
      at: T0,
    }));
    await notifier.send({ type: "group", metric: "dau", alerts, at: T0 }, { previousRef: null, key: "g:1" });
    const [msg] = tg.sent(CHAT);
    expect(msg!.plain).toContain("#2 <s2>&: 511 vs 1,136");
    expect(msg!.keyboard.map((r) => r[0]!.callback_data)).toEqual(["a:1", "a:2", "a:3"]);
  });

  it("a digest with panels goes out as one picture with its text", async () => {
    const points = Array.from({ length: 24 }, (_, i): [number, number] => [T0 + i * 3_600_000, 100 + i]);
    const payload = {
      type: "text" as const,
      title: "Daily digest <today>",
      text: "3 alerts & 1 experiment",
      at: T0,
      panels: [
        { title: "dau", points },
        { title: "revenue", points, anomalies: [T0] },
      ],
    };
    await notifier.send(payload, { previousRef: null, key: "digest:1" });
    const [msg] = tg.sent(CHAT);
    expect(msg!.kind).toBe("photo");
    expect(msg!.plain).toBe("Daily digest <today>\n3 alerts & 1 experiment");
  });
});
