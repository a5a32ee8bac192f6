import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NO_PACING } from "../notifiers/chat-pacer.js";
import { createSlackNotifier } from "../notifiers/slack.js";
import { AlertActions } from "../src/actions.js";
import { startSlackBot } from "../src/bot/slack-bot.js";
import type { RunningBot } from "../src/bot/telegram-bot.js";
import { ManualClock } from "../src/clock.js";
import type { VigilConfig } from "../src/config/types.js";
import { silentLogger } from "../src/log.js";
import { Dispatcher } from "../src/notify/dispatcher.js";
import type { StateStore } from "../src/store/state-store.js";
import { VigilMetrics } from "../src/telemetry/metrics.js";
import { fireAlert, makeAlert, T0 } from "./fakes/alerts.js";
import { FakeSlackServer, SLACK_APP_TOKEN, SLACK_BOT_TOKEN } from "./fakes/slack-server.js";
import { vigilConfig } from "./helpers/config.js";
import { useStateSchemas } from "./helpers/state.js";

const CH = "C0TEAM";

describe("slack bot: /vigil commands and buttons over Socket Mode", () => {
  const state = useStateSchemas("sb");
  let store: StateStore;
  let slack: FakeSlackServer;
  let clock: ManualClock;
  let config: VigilConfig;
  let dispatcher: Dispatcher;
  let actions: AlertActions;
  let bot: RunningBot;
  let releaseDigest: () => void;
  let digestCalls: string[];
  /** Resolves when a chat action queued a change (the bot calls `kick` after the action and its audit row). */
  let kicked: Promise<void>;

  beforeEach(async () => {
    store = await state.freshStore();
    slack = await new FakeSlackServer(new Set([CH, "COTHER"])).start();
    clock = new ManualClock(T0);
    config = vigilConfig([], {
      slack: { token: SLACK_BOT_TOKEN, app_token: SLACK_APP_TOKEN, api_url: slack.apiUrl, allowed_users: ["UALICE"] },
      channels: { team: { type: "slack", channel: CH, send_resolved: true } },
    });
    const notifiers = new Map([
      [
        "team",
        createSlackNotifier("team", config.channels.team!, { config, log: silentLogger(), stdout: process.stdout }, { pacer: NO_PACING }),
      ],
    ]);
    dispatcher = new Dispatcher({
      store,
      notifiers: () => notifiers,
      clock,
      log: silentLogger(),
      metrics: new VigilMetrics({ defaultMetrics: false }),
    });
    actions = new AlertActions(store, clock, () => config);
    digestCalls = [];
    let gate = Promise.resolve();
    let onKick: () => void = () => undefined;
    kicked = new Promise<void>((r) => {
      onKick = r;
    });
    releaseDigest = () => undefined;
    bot = await startSlackBot({
      config: () => config,
      actions,
      store,
      clock,
      log: silentLogger(),
      ackBudgetMs: 1000,
      kick: () => onKick(),
      digest: async (ch) => {
        digestCalls.push(ch);
        await gate;
      },
    });
    gate = new Promise<void>((r) => {
      releaseDigest = r;
    });
  });
  afterEach(async () => {
    releaseDigest();
    await bot.stop();
    await slack.close();
  });

  async function auditRows(): Promise<string[]> {
    const { rows } = await state.db().query(`SELECT actor, action, target, allowed FROM ${store.s}.audit_log ORDER BY id`);
    return rows.map((r) => `${String(r.actor)} ${String(r.action)} ${String(r.target)} ${r.allowed === true ? "allowed" : "refused"}`);
  }

  async function vigil(text: string, user = "UALICE", channel = CH): Promise<{ text: string; response_type?: string; ms: number }> {
    const ack = await slack.slashCommand({ user, channel, text });
    expect(ack.ms).toBeLessThan(3000);
    return {
      text: String(ack.payload?.text ?? ""),
      ms: ack.ms,
      ...(ack.payload?.response_type ? { response_type: String(ack.payload.response_type) } : {}),
    };
  }

  it("connects over Socket Mode", () => {
    expect(slack.connected).toBe(1);
    expect(slack.calls.map((c) => c.method)).toContain("apps.connections.open");
  });

  it("a button pressed by an allowed user acknowledges, within 3 s; the root is edited", async () => {
    const a = await fireAlert(store, makeAlert(), ["team"]);
    await dispatcher.drain();
    const root = slack.roots(CH)[0]!;
    const ack = await slack.blockAction({ user: "UALICE", channel: CH, ts: root.ts, actionId: "vigil_ack", value: String(a.id) });
    expect(ack.ms).toBeLessThan(3000);
    await kicked;
    expect((await store.getAlert(a.id))!.state).toBe("acknowledged");
    await dispatcher.drain();
    expect(root.edits).toBe(1);
    expect(JSON.stringify(root.blocks)).toContain("Acknowledged by <@UALICE>");
    expect(slack.thread(CH, root.ts)).toHaveLength(1);
    expect(await auditRows()).toEqual([`slack:UALICE button:ack #${a.id} allowed`]);
  });

  it("a stranger's button press is refused ephemerally, nothing changes, the attempt is audited", async () => {
    const a = await fireAlert(store, makeAlert(), ["team"]);
    await dispatcher.drain();
    await slack.blockAction({ user: "UMALLORY", channel: CH, ts: slack.roots(CH)[0]!.ts, actionId: "vigil_resolve", value: String(a.id) });
    await slack.waitFor(() => slack.ephemeral.length === 1, "the refusal");
    expect(slack.ephemeral[0]).toMatchObject({ channel: CH, user: "UMALLORY", text: expect.stringContaining("⛔ Not allowed") });
    expect((await store.getAlert(a.id))!.state).toBe("firing");
    expect(await store.queueDepth()).toBe(0);
    expect(await auditRows()).toEqual([`slack:UMALLORY button:resolve #${a.id} refused`]);
    const r = await vigil(`snooze ${a.id} 1h`, "UMALLORY");
    expect(r).toMatchObject({ response_type: "ephemeral", text: expect.stringContaining("⛔ Not allowed") });
    expect((await store.getAlert(a.id))!.state).toBe("firing");
  });

  it("/vigil commands answer in the ack", async () => {
    const a = await fireAlert(store, makeAlert({ series: "<!channel> & co" }), ["team"]);
    clock.advance(90 * 60_000);
    const status = await vigil("status");
    expect(status.response_type).toBe("ephemeral");
    expect(status.text).toContain(`*#${a.id}* dau {&lt;!channel&gt; &amp; co} · firing · 1h30m`);
    expect(await vigil(`ack ${a.id}`)).toEqual({
      response_type: "in_channel",
      text: `✅ #${a.id} acknowledged by <@UALICE>`,
      ms: expect.any(Number),
    });
    expect((await vigil(`snooze ${a.id} 2h`)).text).toBe(`✅ #${a.id} snoozed for 2h by <@UALICE>`);
    expect((await vigil(`resolve ${a.id}`)).text).toBe(`✅ #${a.id} resolved by hand by <@UALICE>`);
    const silence = (await vigil("silence signups 1d release")).text;
    expect(silence).toMatch(/^🔇 Silence #\d+: signups for 1d \(until 2026-01-20 13:30 UTC\) — release, by <@UALICE>$/);
    const sid = /#(\d+)/.exec(silence)![1];
    expect((await vigil(`unsilence ${sid}`)).text).toBe(`🔔 Silence #${sid} removed by <@UALICE>`);
    expect((await vigil("help")).text).toContain("`/vigil snooze ID DURATION`");
    expect((await vigil("")).text).toContain("vigil commands");
    expect((await vigil("bogus")).text).toBe('Unknown command "bogus". Try /vigil help.');
  });

  it("a slow command is acked in time and answered afterwards", async () => {
    const r = await vigil("digest");
    expect(r.text).toBe("⏳ Working on it…");
    expect(digestCalls).toEqual(["team"]);
    releaseDigest();
    await slack.waitFor(() => slack.messages.some((m) => m.text.includes("Digest queued")), "the late answer");
  });

  it("commands and buttons from channels that are not configured are ignored", async () => {
    const a = await fireAlert(store, makeAlert(), ["team"]);
    const r = await vigil(`ack ${a.id}`, "UALICE", "COTHER");
    expect(r.text).toBe("");
    await slack.blockAction({ user: "UALICE", channel: "COTHER", ts: "1.1", actionId: "vigil_ack", value: String(a.id) });
    expect((await store.getAlert(a.id))!.state).toBe("firing");
    expect(await auditRows()).toEqual([]);
  });
});
