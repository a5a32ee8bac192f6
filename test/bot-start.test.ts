import { beforeEach, describe, expect, it } from "vitest";
import { AlertActions } from "../src/actions.js";
import { startChatBots } from "../src/bot/start-chat-bots.js";
import { ManualClock } from "../src/clock.js";
import { silentLogger } from "../src/log.js";
import { migrate } from "../src/store/migrations.js";
import { StateStore } from "../src/store/state-store.js";
import { T0 } from "./fakes/alerts.js";
import { FakeSlackServer, SLACK_APP_TOKEN, SLACK_BOT_TOKEN } from "./fakes/slack-server.js";
import { FAKE_TOKEN, FakeTelegramServer } from "./fakes/telegram-server.js";
import { vigilConfig } from "./helpers/config.js";
import { openTestDatabase, type TestDatabase } from "./helpers/db.js";

describe("startChatBots", () => {
  let t: TestDatabase;
  let tg: FakeTelegramServer;
  let slack: FakeSlackServer;
  beforeEach(async () => {
    t = await openTestDatabase();
    await migrate(t.db, "cb");
    tg = await new FakeTelegramServer().start();
    slack = await new FakeSlackServer().start();
    return async () => {
      await tg.close();
      await slack.close();
      await t.close();
    };
  });

  it("starts the bots the config asks for and stops them", async () => {
    const config = vigilConfig([], {
      telegram: { token: FAKE_TOKEN, api_url: tg.url, allowed_users: [1] },
      slack: { token: SLACK_BOT_TOKEN, app_token: SLACK_APP_TOKEN, api_url: slack.apiUrl, allowed_users: [] },
      channels: {
        tg: { type: "telegram", chat_id: "-1", send_resolved: true },
        sl: { type: "slack", channel: "C0TEAM", send_resolved: true },
      },
    });
    const store = new StateStore(t.db, "cb");
    const clock = new ManualClock(T0);
    const bots = await startChatBots({
      config: () => config,
      actions: new AlertActions(store, clock, () => config),
      store,
      clock,
      log: silentLogger(),
    });
    await tg.waitFor(() => tg.lastAllowedUpdates !== null, "polling");
    expect(slack.connected).toBe(1);
    expect(tg.commands.length).toBeGreaterThan(0);
    await bots.stop();
    await slack.waitFor(() => slack.connected === 0, "the socket to close");
  });

  it("starts nothing without chat channels", async () => {
    const config = vigilConfig([], { telegram: { token: FAKE_TOKEN, api_url: tg.url, allowed_users: [] } });
    const store = new StateStore(t.db, "cb");
    const clock = new ManualClock(T0);
    const bots = await startChatBots({
      config: () => config,
      actions: new AlertActions(store, clock, () => config),
      store,
      clock,
      log: silentLogger(),
    });
    await bots.stop();
    expect(tg.calls).toEqual([]);
  });
});
