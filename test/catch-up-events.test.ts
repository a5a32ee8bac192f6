/**
 * A tick that judges several buckets at once (1-minute data on a 3-minute schedule, catch-up after
 * an outage): a one-bucket spike fires and resolves within the tick. Every channel must get FIRING
 * with the spike's own numbers, then RESOLVED, through the real outbox, dispatcher and notifiers
 * (node-telegram-bot-api and @slack/web-api pointed at the local fakes).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NO_PACING } from "../notifiers/chat-pacer.js";
import { createConsoleNotifier } from "../notifiers/console.js";
import type { Notifier, NotifierDeps } from "../notifiers/notifier.js";
import { createSlackNotifier } from "../notifiers/slack.js";
import { createTelegramNotifier } from "../notifiers/telegram.js";
import { createWebhookNotifier } from "../notifiers/webhook.js";
import { ManualClock } from "../src/clock.js";
import { Engine } from "../src/engine/engine.js";
import { silentLogger } from "../src/log.js";
import { Dispatcher } from "../src/notify/dispatcher.js";
import { makeFetcher } from "../src/source-fetcher.js";
import { migrate } from "../src/store/migrations.js";
import { StateStore } from "../src/store/state-store.js";
import { VigilMetrics } from "../src/telemetry/metrics.js";
import { FakeSlackServer, SLACK_APP_TOKEN, SLACK_BOT_TOKEN } from "./fakes/slack-server.js";
import { parseTelegramHtml } from "./fakes/telegram-html-parse.js";
import { FAKE_TOKEN, FakeTelegramServer } from "./fakes/telegram-server.js";
import { metric, vigilConfig } from "./helpers/config.js";
import { openTestDatabase, type TestDatabase } from "./helpers/db.js";
import { createMetricTable, insertRows, noise, type Row } from "./helpers/series.js";
import { WebhookReceiver } from "./helpers/webhook-receiver.js";

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 2, 2, 12);
const SPIKE = T0 + MINUTE;
const AFTER = T0 + 2 * MINUTE;
const CHAT = "-100777";
const SLACK_CHANNEL = "C0TEAM";

/** Three hours of minute values around 40, the spike of 2000 at SPIKE and exactly 40 in the bucket after it. */
function rows(): Row[] {
  const rnd = noise(11);
  const out: Row[] = [];
  for (let t = T0 - 3 * 60 * MINUTE; t < T0 + 10 * MINUTE; t += MINUTE) {
    out.push({ ts: t + 1000, v: t === SPIKE ? 2000 : t === AFTER ? 40 : 40 + rnd() * 4 });
  }
  return out;
}

const plainOf = (html: string | undefined): string => {
  const parsed = parseTelegramHtml(html ?? "");
  return "text" in parsed ? parsed.text : `unparsable: ${parsed.error}`;
};
const headerOf = (blocks: string | undefined): string => {
  const list = JSON.parse(blocks ?? "[]") as Array<{ type: string; text?: { text: string } }>;
  return list.find((b) => b.type === "header")?.text?.text ?? list.map((b) => b.text?.text ?? "").join(" ");
};

describe("a tick that judges several buckets sends each event as it happened", () => {
  let t: TestDatabase;
  let tg: FakeTelegramServer;
  let slack: FakeSlackServer;
  let hook: WebhookReceiver;
  beforeAll(async () => {
    t = await openTestDatabase();
    tg = await new FakeTelegramServer().start();
    slack = await new FakeSlackServer().start();
    hook = await new WebhookReceiver().start();
  });
  afterAll(async () => {
    await Promise.all([tg.close(), slack.close(), hook.close()]);
    await t.close();
  });

  it("webhook, console, Telegram and Slack get FIRING with the spike's value, then RESOLVED", async () => {
    await migrate(t.db, "vigil");
    await createMetricTable(t.db, "m1");
    await insertRows(t.db, "m1", rows());
    const m = metric({
      name: "signups",
      source: { table: "m1", time_column: "ts", value: "sum(v)", split_by: [], dimensions: [] },
      granularityMs: MINUTE,
      lookbackMs: 2 * 3_600_000,
      detectors: [{ type: "zscore", window: 30, k: 4, min_points: 10 }],
      schedule: "*/3 * * * *",
      resolveAfter: 1,
      severity: "critical",
      notify: ["hook", "out", "oncall", "team"],
    });
    const config = vigilConfig([m], {
      telegram: { token: FAKE_TOKEN, api_url: tg.url, allowed_users: [] },
      slack: { token: SLACK_BOT_TOKEN, app_token: SLACK_APP_TOKEN, api_url: slack.apiUrl, allowed_users: [] },
      channels: {
        hook: { type: "webhook", url: hook.url, headers: {}, send_resolved: true },
        out: { type: "console", send_resolved: true },
        oncall: { type: "telegram", chat_id: CHAT, send_resolved: true },
        team: { type: "slack", channel: SLACK_CHANNEL, send_resolved: true },
      },
    });
    let console = "";
    const stdout = {
      write: (s: string) => {
        console += s;
        return true;
      },
    } as unknown as NodeJS.WritableStream;
    const deps: NotifierDeps = { config, log: silentLogger(), stdout };
    const notifiers = new Map<string, Notifier>([
      ["hook", createWebhookNotifier("hook", config.channels.hook!, deps)],
      ["out", createConsoleNotifier("out", config.channels.out!, deps)],
      ["oncall", createTelegramNotifier("oncall", config.channels.oncall!, deps, { pacer: NO_PACING, timeoutMs: 5000 })],
      ["team", createSlackNotifier("team", config.channels.team!, deps, { pacer: NO_PACING, timeoutMs: 5000 })],
    ]);
    const clock = new ManualClock(T0 + 5000);
    const store = new StateStore(t.db);
    const metrics = new VigilMetrics({ defaultMetrics: false });
    const engine = new Engine(config, { store, fetch: makeFetcher(t.db, silentLogger()), clock, log: silentLogger(), metrics });
    const dispatcher = new Dispatcher({ store, notifiers: () => notifiers, clock, log: silentLogger(), metrics, random: () => 1 });

    // first sight: the history warms the detector up and only the bucket before T0 is judged
    expect((await engine.evaluate()).metrics[0]!.events).toEqual([]);
    // the next tick judges T0, the spike and the bucket after it
    clock.set(T0 + 3 * MINUTE + 5000);
    const report = await engine.evaluate();
    expect(report.failed).toEqual([]);
    expect(report.metrics[0]!.events.map((e) => [e.event.notify, e.alert.state, e.alert.value])).toEqual([
      ["firing", "firing", 2000],
      ["resolved", "resolved", 40],
    ]);
    const drained = await dispatcher.drain();
    expect(drained).toEqual({ sent: 8, retried: 0, dead: 0 });

    // webhook: one object per change, each a snapshot of its own bucket
    const bodies = hook.received.map((r) => r.body);
    expect(bodies.map((b) => [b.event, b.state, b.previous_state, b.value, b.bucket])).toEqual([
      ["firing", "firing", null, 2000, new Date(SPIKE).toISOString()],
      ["resolved", "resolved", "firing", 40, new Date(AFTER).toISOString()],
    ]);
    const [firing, resolved] = bodies as Array<{ expected: number; lower: number; upper: number; sigmas: number }>;
    expect(firing!.upper).toBeLessThan(2000);
    expect(firing!.sigmas).toBeGreaterThan(4);
    expect(resolved!.lower).toBeLessThanOrEqual(40);
    expect(resolved!.upper).toBeGreaterThanOrEqual(40);

    // console: FIRING with the spike first, then RESOLVED
    const fired = console.indexOf("🔴 FIRING #1");
    const back = console.indexOf("✅ RESOLVED #1");
    expect(fired).toBeGreaterThanOrEqual(0);
    expect(back).toBeGreaterThan(fired);
    expect(console.slice(fired, back)).toContain("2,000 vs expected");
    expect(console.slice(back)).toContain("last value 40");

    // Telegram: the alert message with the spike, then that message edited to RESOLVED and a reply
    const tgCalls = tg.calls.filter((c) => c.status === 200 && c.params.chat_id === CHAT);
    expect(tgCalls.map((c) => c.method)).toEqual(["sendPhoto", "editMessageCaption", "sendMessage"]);
    const sentFirst = plainOf(tgCalls[0]!.params.caption);
    expect(sentFirst).toMatch(/^🔴 FIRING #1 · critical · signups/);
    expect(sentFirst).toContain("2,000 vs expected");
    const [original, reply] = tg.sent(CHAT);
    expect(original!.plain).toMatch(/^✅ RESOLVED #1/);
    expect(original!.keyboard).toEqual([]);
    expect(reply!.replyTo).toBe(original!.message_id);
    expect(reply!.plain).toMatch(/Resolved: back to normal/);

    // Slack: the root with the spike, then the root updated to RESOLVED and a broadcast thread reply
    const slCalls = slack.calls.filter((c) => c.ok && c.method.startsWith("chat."));
    expect(slCalls.map((c) => c.method)).toEqual(["chat.postMessage", "chat.update", "chat.postMessage"]);
    expect(headerOf(slCalls[0]!.params.blocks)).toMatch(/^🔴 FIRING #1 · critical · signups/);
    expect(slCalls[0]!.params.blocks).toContain("2,000");
    const [root] = slack.roots(SLACK_CHANNEL);
    expect(headerOf(JSON.stringify(root!.blocks))).toMatch(/^✅ RESOLVED #1/);
    const thread = slack.thread(SLACK_CHANNEL, root!.ts);
    expect(thread.map((x) => x.reply_broadcast)).toEqual([true]);
    expect(JSON.stringify(thread[0]!.blocks)).toContain("Resolved: back to normal");
  });
});
