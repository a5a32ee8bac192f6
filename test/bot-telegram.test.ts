import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NO_PACING } from "../notifiers/chat-pacer.js";
import { createTelegramNotifier } from "../notifiers/telegram.js";
import { AlertActions } from "../src/actions.js";
import { type RunningBot, startTelegramBot } from "../src/bot/telegram-bot.js";
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
const ALICE = { id: 111, username: "alice" };
const MALLORY = { id: 666, username: "mallory" };

describe("telegram bot: buttons and commands over long polling", () => {
  const state = useStateSchemas("tb");
  let store: StateStore;
  let tg: FakeTelegramServer;
  let clock: ManualClock;
  let config: VigilConfig;
  let dispatcher: Dispatcher;
  let actions: AlertActions;
  let bot: RunningBot;
  let digests: string[];
  let kicks: number;

  beforeEach(async () => {
    store = await state.freshStore();
    tg = await new FakeTelegramServer().start();
    clock = new ManualClock(T0);
    config = vigilConfig([], {
      telegram: { token: FAKE_TOKEN, api_url: tg.url, allowed_users: [ALICE.id] },
      channels: { oncall: { type: "telegram", chat_id: CHAT, send_resolved: true } },
    });
    const deps = { config, log: silentLogger(), stdout: process.stdout };
    const notifiers = new Map([["oncall", createTelegramNotifier("oncall", config.channels.oncall!, deps, { pacer: NO_PACING })]]);
    dispatcher = new Dispatcher({
      store,
      notifiers: () => notifiers,
      clock,
      log: silentLogger(),
      metrics: new VigilMetrics({ defaultMetrics: false }),
    });
    actions = new AlertActions(store, clock, () => config);
    digests = [];
    kicks = 0;
    bot = await startTelegramBot({
      config: () => config,
      actions,
      store,
      clock,
      log: silentLogger(),
      pollTimeoutSec: 1,
      pacer: NO_PACING,
      digest: async (ch) => {
        digests.push(ch);
      },
      kick: () => {
        kicks++;
      },
    });
  });
  afterEach(async () => {
    await bot.stop();
    await tg.close();
  });

  async function auditRows(): Promise<Array<{ actor: string; action: string; target: string; allowed: boolean }>> {
    const { rows } = await state.db().query(`SELECT actor, action, target, allowed FROM ${store.s}.audit_log ORDER BY id`);
    return rows.map((r) => ({ actor: String(r.actor), action: String(r.action), target: String(r.target), allowed: r.allowed === true }));
  }

  /** A user writes a command; resolves with the bot's reply to it. */
  async function command(text: string, from = ALICE, chatId = CHAT): Promise<string> {
    const id = tg.injectMessage({ chatId, from, text });
    await tg.waitFor(() => tg.sent(chatId).some((m) => m.replyTo === id), `a reply to ${text}`);
    return tg.sent(chatId).find((m) => m.replyTo === id)!.plain;
  }

  it("registers its commands and polls for messages and button presses", async () => {
    await tg.waitFor(() => tg.lastAllowedUpdates !== null, "a getUpdates call");
    expect(tg.lastAllowedUpdates).toEqual(["message", "callback_query"]);
    expect(tg.commands.map((c) => c.command)).toEqual([
      "status",
      "ack",
      "unack",
      "snooze",
      "resolve",
      "silence",
      "unsilence",
      "silences",
      "digest",
      "help",
    ]);
  });

  it("a button pressed by an allowed user acknowledges; the dispatcher edits the original", async () => {
    const a = await fireAlert(store, makeAlert(), ["oncall"], sampleChart());
    await dispatcher.drain();
    const original = tg.sent(CHAT)[0]!;
    const cb = tg.injectCallback({ chatId: CHAT, messageId: original.message_id, from: ALICE, data: `a:${a.id}` });
    await tg.waitFor(() => tg.answered.has(cb), "the callback answer");
    expect(tg.answered.get(cb)!.text).toBe(`✅ #${a.id} acknowledged`);
    expect((await store.getAlert(a.id))!.state).toBe("acknowledged");
    expect((await store.getAlert(a.id))!.actedBy).toBe("telegram:@alice");
    expect(kicks).toBe(1);
    await dispatcher.drain();
    const edited = tg.message(CHAT, original.message_id)!;
    expect(edited.edits).toBe(1);
    expect(edited.plain).toContain("Acknowledged by @alice");
    expect(edited.keyboard[0]![0]!.callback_data).toBe(`u:${a.id}`);
    const snooze = tg.injectCallback({ chatId: CHAT, messageId: original.message_id, from: ALICE, data: `s:${a.id}:4h` });
    await tg.waitFor(() => tg.answered.has(snooze), "the snooze answer");
    expect((await store.getAlert(a.id))!.snoozedUntil).toBe(T0 + 4 * 3_600_000);
    expect(await auditRows()).toEqual([
      { actor: "telegram:@alice", action: "button:ack", target: `#${a.id}`, allowed: true },
      { actor: "telegram:@alice", action: "button:snooze", target: `#${a.id}`, allowed: true },
    ]);
  });

  it("a stranger is refused, nothing changes, and the attempt is audited", async () => {
    const a = await fireAlert(store, makeAlert(), ["oncall"]);
    await dispatcher.drain();
    const cb = tg.injectCallback({ chatId: CHAT, messageId: tg.sent(CHAT)[0]!.message_id, from: MALLORY, data: `r:${a.id}` });
    await tg.waitFor(() => tg.answered.has(cb), "the callback answer");
    expect(tg.answered.get(cb)).toEqual({ text: expect.stringContaining("⛔ Not allowed"), show_alert: true });
    expect(await command(`/ack ${a.id}`, MALLORY)).toContain("⛔ Not allowed");
    expect((await store.getAlert(a.id))!.state).toBe("firing");
    expect(await store.queueDepth()).toBe(0);
    expect(await auditRows()).toEqual([
      { actor: "telegram:@mallory", action: "button:resolve", target: `#${a.id}`, allowed: false },
      { actor: "telegram:@mallory", action: "ack", target: `${a.id}`, allowed: false },
    ]);
  });

  it("updates from chats that are not configured channels are ignored", async () => {
    const a = await fireAlert(store, makeAlert(), ["oncall"]);
    tg.injectMessage({ chatId: "999", from: ALICE, text: `/ack ${a.id}` });
    const cb = tg.injectCallback({ chatId: "999", messageId: 1, from: ALICE, data: `a:${a.id}` });
    await tg.waitFor(() => tg.answered.has(cb), "the callback answer");
    // Polled past both updates: the message was handled (ignored) before the callback.
    expect(tg.answered.get(cb)!.text).toMatch(/not a vigil channel/);
    expect(tg.sent("999")).toEqual([]);
    expect((await store.getAlert(a.id))!.state).toBe("firing");
  });

  it("commands: status, ack, snooze, resolve, silence, unsilence, silences, digest, help", async () => {
    const crit = await fireAlert(store, makeAlert({ metric: "dau", series: "<b>ios</b>" }), ["oncall"]);
    const warn = await fireAlert(
      store,
      makeAlert({
        fingerprint: "w",
        metric: "signups & co",
        series: "",
        severity: "warning",
        startedAt: T0 - 7_200_000,
        firedAt: T0 - 7_200_000,
      }),
      ["oncall"],
    );
    clock.advance(30 * 60_000);
    const status = await command("/status");
    expect(status).toContain("2 open alerts");
    expect(status.indexOf("🔴 critical (1)")).toBeLessThan(status.indexOf("🟠 warning (1)"));
    expect(status).toContain(`#${crit.id} dau {<b>ios</b>} · firing · 30m`);
    expect(status).toContain(`#${warn.id} signups & co · firing · 2h30m`);
    expect(await command(`/ack@vigil_test_bot #${crit.id}`)).toBe(`✅ #${crit.id} acknowledged by @alice`);
    expect(await command(`/snooze ${warn.id} 2h`)).toBe(`✅ #${warn.id} snoozed for 2h by @alice`);
    expect(await command(`/snooze ${warn.id} soon`)).toMatch(/between 1m and 30d/);
    expect(await command(`/resolve ${crit.id}`)).toBe(`✅ #${crit.id} resolved by hand by @alice`);
    expect(await command(`/resolve ${crit.id}`)).toMatch(/is resolved; it cannot be resolved/);
    expect(await command("/ack 99999")).toBe("⚠️ no alert #99999");
    const silence = await command("/silence dau/platform=* 3h deploy <in progress>");
    expect(silence).toMatch(
      /^🔇 Silence #(\d+): dau \{platform=\*\} for 3h \(until 2026-01-19 15:30 UTC\) — deploy <in progress>, by @alice$/,
    );
    const sid = /#(\d+)/.exec(silence)![1];
    expect(await command("/silences")).toContain(`#${sid} dau/platform=* until 2026-01-19 15:30 UTC by @alice — deploy <in progress>`);
    expect(await command(`/unsilence ${sid}`)).toBe(`🔔 Silence #${sid} removed by @alice`);
    expect(await command(`/unsilence ${sid}`)).toBe(`⚠️ No active silence #${sid}.`);
    expect(await command("/digest")).toBe("📬 Digest queued for this channel.");
    expect(digests).toEqual(["oncall"]);
    const help = await command("/help");
    expect(help).toContain("/silence METRIC[/SERIES] DURATION [reason]");
    expect(await command("/frobnicate")).toBe('Unknown command "frobnicate". Try /help.');
    expect(await command("/ack")).toBe("Usage: /ack ID");
    expect((await store.getAlert(warn.id))!.state).toBe("snoozed");
    expect(tg.calls.filter((c) => c.status !== 200)).toEqual([]);
  });

  it("a 5,000-character hostile silence target is refused with the limit; a long one within it is answered within Telegram's limits", async () => {
    const huge = "<b>&_*[😀".repeat(600);
    expect(await command(`/silence ${huge} 1h <i>why</i>`)).toBe("⚠️ a pattern is at most 256 characters (got 4800).");
    const target = "<b>&_*[😀".repeat(25);
    const reply = await command(`/silence ${target} 1h <i>why</i>`);
    expect(reply.length).toBeLessThanOrEqual(4096);
    expect(reply).toMatch(/^🔇 Silence #\d+: <b>&_\*\[😀/);
    expect(tg.calls.filter((c) => c.status !== 200)).toEqual([]);
    expect((await actions.silences()).map((x) => x.metricGlob)).toEqual([target]);
  });

  it("a command for another bot in the group is not answered", async () => {
    tg.injectMessage({ chatId: CHAT, from: ALICE, text: "/status@other_bot" });
    expect(await command("/help")).toContain("vigil commands");
    expect(tg.sent(CHAT)).toHaveLength(1);
  });
});
