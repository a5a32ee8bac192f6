import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DeliveryError } from "../notifiers/notifier.js";
import { createNotifiers } from "../notifiers/registry.js";
import { silentLogger } from "../src/log.js";
import { FAKE_TOKEN, FakeTelegramServer } from "./fakes/telegram-server.js";
import { vigilConfig } from "./helpers/config.js";

const deps = (config: ReturnType<typeof vigilConfig>) => ({ config, log: silentLogger(), stdout: process.stdout, httpTimeoutMs: 1000 });

describe("chat channels built by the registry (their SDK loads on the first send)", () => {
  let tg: FakeTelegramServer;
  beforeEach(async () => {
    tg = await new FakeTelegramServer().start();
  });
  afterEach(async () => {
    await tg.close();
  });

  it("a channel without its bot token still fails at boot", () => {
    const tgOnly = vigilConfig([], { channels: { oncall: { type: "telegram", chat_id: "42", send_resolved: true } } });
    expect(() => createNotifiers(deps(tgOnly))).toThrow("channel 'oncall': telegram channels need telegram.token in the config");
    const slackOnly = vigilConfig([], { channels: { team: { type: "slack", channel: "C1", send_resolved: true } } });
    expect(() => createNotifiers(deps(slackOnly))).toThrow("channel 'team': slack channels need slack.token in the config");
  });

  it("the first send delivers, and the channel's errors reach the outbox as they are (429 with its retry_after)", async () => {
    const config = vigilConfig([], {
      telegram: { token: FAKE_TOKEN, api_url: tg.url, allowed_users: [] },
      channels: { oncall: { type: "telegram", chat_id: "42", send_resolved: true } },
    });
    const oncall = createNotifiers(deps(config)).get("oncall")!;
    expect(oncall.type).toBe("telegram");
    await oncall.send({ type: "text", title: "Daily digest", text: "all quiet", at: 0 }, { previousRef: null, key: "t:1" });
    expect(tg.sent("42").map((m) => m.plain)).toEqual(["Daily digest\nall quiet"]);
    tg.fail({ kind: "429", retryAfter: 7 }, "sendMessage");
    const err = await oncall
      .send({ type: "text", title: "again", text: "", at: 0 }, { previousRef: null, key: "t:2" })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryError);
    expect((err as DeliveryError).retryAfterMs).toBe(7000);
    await oncall.close?.();
  });
});
