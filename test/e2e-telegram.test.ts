/**
 * The whole path as an on-call engineer sees it: a spike in a PostgreSQL table, the daemon's tick,
 * a Telegram message with the chart and buttons (real node-telegram-bot-api against the fake Bot API),
 * a button press that acknowledges the alert and edits the message.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../src/clock.js";
import { Daemon } from "../src/daemon.js";
import { silentLogger } from "../src/log.js";
import { ManualScheduler } from "../src/scheduler.js";
import { FAKE_TOKEN, FakeTelegramServer } from "./fakes/telegram-server.js";
import { HOUR } from "./helpers/config.js";
import { openTestDatabase, type TestDatabase } from "./helpers/db.js";
import { createMetricTable, insertRows, noise, type Row } from "./helpers/series.js";

const CHAT = "-1001234567890";
const ALICE = { id: 4242, username: "alice" };
const T0 = Date.UTC(2026, 0, 5);

describe("end to end: table -> tick -> Telegram -> button -> acknowledged", () => {
  let t: TestDatabase;
  let tg: FakeTelegramServer;
  let dir: string;
  beforeAll(async () => {
    t = await openTestDatabase();
    tg = await new FakeTelegramServer().start();
    dir = await mkdtemp(join(tmpdir(), "vigil-e2e-"));
  });
  afterAll(async () => {
    await tg.close();
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("delivers the alert with its chart and acts on the Acknowledge button", async () => {
    await createMetricTable(t.db, "orders");
    const rnd = noise(3);
    const rows: Row[] = [];
    for (let h = 0; h < 9 * 24; h++) rows.push({ ts: T0 + h * HOUR, series: "shop <b>&_*[ 🛒", v: h === 200 ? 20 : 100 + rnd() * 8 });
    await insertRows(t.db, "orders", rows);
    const cfg = join(dir, "vigil.yaml");
    await writeFile(
      cfg,
      `telegram:
  token: "${FAKE_TOKEN}"
  api_url: "${tg.url}"
  allowed_users: [${ALICE.id}]
channels:
  oncall: {type: telegram, chat_id: "${CHAT}"}
defaults: {notify: [oncall]}
metrics:
  - name: orders
    source: {table: orders, time_column: ts, value: sum(v), granularity: 1h, split_by: [series]}
    detectors: [{type: zscore, window: 48, k: 4, min_points: 24}]
    severity: critical
    runbook: https://wiki.example.com/orders?a=1&b=2
`,
    );
    const daemon = await Daemon.create({
      configPath: cfg,
      metricsDb: t.db,
      stateDb: t.db,
      clock: new ManualClock(T0 + 201 * HOUR),
      log: silentLogger(),
      http: false,
      watch: false,
      scheduler: (log) => new ManualScheduler(log),
    });
    await daemon.start();
    await daemon.whenLeading();
    try {
      await daemon.tickOnce();
      await daemon.dispatcher.drain();
      await tg.waitFor(() => tg.sent(CHAT).length > 0, "alert message");
      const msg = tg.sent(CHAT)[0]!;
      expect(msg.kind).toBe("photo");
      expect(msg.photo!.subarray(1, 4).toString()).toBe("PNG");
      expect(msg.plain).toContain("orders");
      expect(msg.plain).toContain("shop <b>&_*[ 🛒");
      expect(msg.plain).toMatch(/#1/);
      expect(
        msg.keyboard
          .flat()
          .map((b) => b.text)
          .join(" "),
      ).toMatch(/Acknowledge/);
      const ack = msg.keyboard.flat().find((b) => /Acknowledge/.test(b.text))!;
      const cb = tg.injectCallback({ chatId: CHAT, messageId: msg.message_id, from: ALICE, data: ack.callback_data! });
      await tg.waitFor(() => tg.answered.has(cb), "callback answered");
      await tg.waitFor(() => (tg.message(CHAT, msg.message_id)?.edits ?? 0) > 0, "message edited", 15_000);
      const alert = (await daemon.store.listAlerts())[0]!;
      expect(alert.state).toBe("acknowledged");
      expect(alert.actedBy).toContain("alice");
      expect(tg.message(CHAT, msg.message_id)!.plain).toMatch(/acknowledged/i);
    } finally {
      await daemon.stop();
    }
  });
});
