import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NO_PACING } from "../notifiers/chat-pacer.js";
import type { Notifier } from "../notifiers/notifier.js";
import { createSlackNotifier, type SlackRef } from "../notifiers/slack.js";
import { AlertActions } from "../src/actions.js";
import { ManualClock } from "../src/clock.js";
import type { VigilConfig } from "../src/config/types.js";
import { silentLogger } from "../src/log.js";
import { Dispatcher } from "../src/notify/dispatcher.js";
import type { StateStore } from "../src/store/state-store.js";
import { VigilMetrics } from "../src/telemetry/metrics.js";
import { fireAlert, makeAlert, T0 } from "./fakes/alerts.js";
import { sampleChart } from "./fakes/sample-chart.js";
import { FakeSlackServer, SLACK_APP_TOKEN, SLACK_BOT_TOKEN } from "./fakes/slack-server.js";
import { vigilConfig } from "./helpers/config.js";
import { useStateSchemas } from "./helpers/state.js";

const CH = "C0TEAM";

type Block = Record<string, unknown> & { type: string };
const texts = (blocks: Array<Record<string, unknown>>): string => JSON.stringify(blocks);
const buttons = (blocks: Array<Record<string, unknown>>) =>
  (blocks as Block[])
    .filter((b) => b.type === "actions")
    .flatMap((b) => (b.elements as Array<{ action_id: string; value: string }>).map((e) => `${e.action_id}=${e.value}`));

describe("slack notifier through the outbox, against a fake Slack", () => {
  const state = useStateSchemas("sl");
  let store: StateStore;
  let slack: FakeSlackServer;
  let clock: ManualClock;
  let config: VigilConfig;
  let notifier: Notifier;
  let dispatcher: Dispatcher;
  let actions: AlertActions;

  beforeEach(async () => {
    store = await state.freshStore();
    slack = await new FakeSlackServer().start();
    clock = new ManualClock(T0);
    config = vigilConfig([], {
      slack: { token: SLACK_BOT_TOKEN, app_token: SLACK_APP_TOKEN, api_url: slack.apiUrl, allowed_users: ["UALICE"] },
      channels: { team: { type: "slack", channel: CH, send_resolved: true } },
    });
    notifier = createSlackNotifier(
      "team",
      config.channels.team!,
      { config, log: silentLogger(), stdout: process.stdout },
      { pacer: NO_PACING, timeoutMs: 1000 },
    );
    const notifiers = new Map([["team", notifier]]);
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
    await slack.close();
  });

  async function deliverAll(maxRounds = 50): Promise<void> {
    for (let i = 0; i < maxRounds; i++) {
      await dispatcher.drain();
      if ((await store.queueDepth()) === 0) return;
      const next = await dispatcher.nextDue();
      clock.set(Math.max(clock.now() + 1, next ?? clock.now()));
    }
    throw new Error(`queue not empty: ${JSON.stringify(await store.deliveries({ status: "pending" }))}`);
  }

  it("an alert arrives as Block Kit with the uploaded chart and buttons", async () => {
    const a = await fireAlert(store, makeAlert(), ["team"], sampleChart());
    await deliverAll();
    const [root, ...rest] = slack.roots(CH);
    expect(rest).toHaveLength(0);
    const blocks = root!.blocks as Block[];
    expect(blocks[0]).toMatchObject({
      type: "header",
      text: { type: "plain_text", text: `🔴 FIRING #${a.id} · critical · dau {platform=ios}` },
    });
    const image = blocks.find((b) => b.type === "image") as unknown as { slack_file: { id: string } };
    const file = slack.files.get(image.slack_file.id)!;
    expect(file.completed).toBe(true);
    expect(file.bytes!.subarray(1, 4).toString()).toBe("PNG");
    const all = texts(blocks);
    expect(all).toContain("511 vs expected 1,136");
    expect(all).toContain("−55.0%, −9.8σ");
    expect(all).toContain("<https://wiki.example.com/runbooks/dau?a=1&amp;b=2|runbook>");
    expect(buttons(blocks)).toEqual([
      `vigil_ack=${a.id}`,
      `vigil_resolve=${a.id}`,
      `vigil_snooze_1h=${a.id}`,
      `vigil_snooze_4h=${a.id}`,
      `vigil_snooze_24h=${a.id}`,
    ]);
    expect(root!.text).toContain(`#${a.id}`);
    expect(await store.messageRef(a.id, "team")).toEqual({ channel: CH, ts: root!.ts, file_id: file.id } satisfies SlackRef);
    expect(slack.markupLeaks).toEqual([]);
  });

  it("state changes edit the root (chat.update) and reply in its thread", async () => {
    const a = await fireAlert(store, makeAlert(), ["team"], sampleChart());
    await deliverAll();
    const root = slack.roots(CH)[0]!;
    await actions.acknowledge(a.id, "slack:UALICE");
    await deliverAll();
    expect(root.edits).toBe(1);
    expect((root.blocks[0] as { text: { text: string } }).text.text).toMatch(/^👀 ACKNOWLEDGED/);
    expect(texts(root.blocks)).toContain("Acknowledged by <@UALICE>");
    expect(buttons(root.blocks)[0]).toBe(`vigil_unack=${a.id}`);
    expect(root.blocks.some((b) => b.type === "image")).toBe(true);
    await actions.resolve(a.id, "slack:UALICE");
    await deliverAll();
    expect(root.edits).toBe(2);
    expect(buttons(root.blocks)).toEqual([]);
    const thread = slack.thread(CH, root.ts);
    expect(thread.map((m) => texts(m.blocks))).toEqual([
      expect.stringContaining("Acknowledged by <@UALICE>"),
      expect.stringContaining("Resolved by <@UALICE>"),
    ]);
    expect(thread.map((m) => m.reply_broadcast ?? false)).toEqual([false, true]);
  });

  it("hostile names (<b>, &, _*[, emoji, <!channel>, 5,000 characters) pass Slack's validation, escaped", async () => {
    const a = await fireAlert(
      store,
      makeAlert({
        metric: "<b>rev&nue</b>_*[🚀 <!channel>",
        series: `country=<@U123>&${"é😀x".repeat(1700)}`,
        reason: "<https://evil|click>",
        details: { description: "x".repeat(5000), runbook: "https://x|y" },
      }),
      ["team"],
      sampleChart(),
    );
    await deliverAll();
    await actions.snooze(a.id, 3_600_000, "telegram:@<b>bob&");
    await deliverAll();
    expect(slack.calls.filter((c) => !c.ok).map((c) => `${c.method}: ${c.error}`)).toEqual([]);
    expect(slack.markupLeaks).toEqual([]);
    const root = slack.roots(CH)[0]!;
    expect(texts(root.blocks)).toContain("&lt;b&gt;rev&amp;nue&lt;/b&gt;_*[🚀 &lt;!channel&gt;");
    expect(texts(root.blocks)).toContain("Snoozed until 2026-01-19 13:00 UTC by @&lt;b&gt;bob&amp;");
  });

  it("429 with Retry-After, 500s, platform errors and timeouts delay but deliver", async () => {
    for (let i = 0; i < 3; i++)
      await fireAlert(store, makeAlert({ series: `s${i}`, fingerprint: `f${i}` }), ["team"], i === 1 ? sampleChart(48) : undefined);
    slack.fail({ kind: "429", retryAfter: 20 }, "chat.postMessage", 2);
    slack.fail({ kind: "status", status: 503 });
    slack.fail({ kind: "platform", error: "internal_error" });
    slack.fail({ kind: "hang" }, "chat.postMessage");
    const started = clock.now();
    await dispatcher.drain();
    expect(await dispatcher.nextDue()).toBe(started + 20_000);
    await deliverAll();
    expect(slack.roots(CH).map((m) => (m.blocks[1] as { text: { text: string } }).text.text)).toEqual([
      "*dau*  {s0}",
      "*dau*  {s1}",
      "*dau*  {s2}",
    ]);
    expect(clock.now() - started).toBeGreaterThanOrEqual(40_000);
    expect(await store.deliveries({ status: "dead" })).toHaveLength(0);
  });

  it("an unknown channel is a permanent failure; a deleted root gets a new message", async () => {
    const a = await fireAlert(store, makeAlert(), ["team"]);
    await deliverAll();
    slack.messages.splice(0);
    await actions.acknowledge(a.id, "slack:UALICE");
    await deliverAll();
    expect(slack.calls.some((c) => c.error === "message_not_found")).toBe(true);
    expect(slack.roots(CH)).toHaveLength(1);
    slack.channels.delete(CH);
    await fireAlert(store, makeAlert({ fingerprint: "other" }), ["team"]);
    await dispatcher.drain();
    expect((await store.deliveries({ status: "dead" }))[0]!.lastError).toMatch(/channel_not_found/);
  });

  it("a digest with panels is one message with one image, within the limits", async () => {
    const points = Array.from({ length: 24 }, (_, i): [number, number] => [T0 + i * 3_600_000, i]);
    const text = Array.from({ length: 400 }, (_, i) => `line ${i} <${"y".repeat(40)}>`).join("\n");
    await notifier.send({ type: "text", title: "Daily digest", text, at: T0, panels: [{ title: "dau", points }] } as never, {
      previousRef: null,
      key: "digest:1",
    });
    expect(slack.calls.filter((c) => !c.ok).map((c) => `${c.method}: ${c.error}`)).toEqual([]);
    const [msg] = slack.roots(CH);
    expect(msg!.blocks.filter((b) => b.type === "image")).toHaveLength(1);
    expect(msg!.blocks.length).toBeLessThanOrEqual(50);
  });
});
