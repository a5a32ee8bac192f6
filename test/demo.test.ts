import { describe, expect, it } from "vitest";
import { loadConfigFile } from "../src/config/load.js";
import { addChatChannels, runDemo } from "../src/demo/demo.js";
import { TEST_DATABASE_URL } from "./helpers/db.js";

// The demo always runs on PGlite, so CI runs it in its PGlite pass only.
describe.runIf(!TEST_DATABASE_URL)("vigil demo (what `npm start` runs)", () => {
  it("prints a metric alert and the harmed experiment guardrail within 30 seconds", async () => {
    let out = "";
    const started = Date.now();
    let firstAlertAfter: number | null = null;
    const code = await runDemo({
      durationS: 28,
      http: false,
      stdout: {
        write: (s: string) => {
          out += s;
          if (firstAlertAfter === null && s.includes("FIRING")) firstAlertAfter = Date.now() - started;
          return true;
        },
      } as unknown as NodeJS.WritableStream,
    });
    expect(code).toBe(0);
    // one series alerting (🔴 FIRING #1 · warning · signups), or several of one metric in one tick,
    // grouped (🔴 FIRING 2 series of active_users · critical): which one depends on the start hour
    expect(out).toMatch(/🔴 FIRING (#\d+ · \w+ · |\d+ series of )(signups|active_users|revenue)/);
    expect(out).toMatch(/FIRING #\d+ · critical · experiment new_checkout: guardrail checkout_failures harmed in treatment/);
    expect(firstAlertAfter).not.toBeNull();
    expect(firstAlertAfter!).toBeLessThan(30_000);
  });
});

describe("demo chat channels", () => {
  it("adds Telegram and Slack channels when their tokens and destinations are set", async () => {
    const res = await loadConfigFile("config/demo.yaml", {});
    if (!res.ok) throw new Error("demo config invalid");
    expect(addChatChannels(res.config, {})).toEqual([]);
    const added = addChatChannels(res.config, {
      TELEGRAM_BOT_TOKEN: "1:x",
      TELEGRAM_CHAT_ID: "-100",
      TELEGRAM_ALLOWED_USERS: "1, 2",
      SLACK_BOT_TOKEN: "xoxb-1",
      SLACK_CHANNEL: "C1",
    });
    expect(added).toEqual(["telegram", "slack"]);
    expect(res.config.telegram?.allowed_users).toEqual([1, 2]);
    expect(res.config.metrics.every((m) => m.notify.includes("telegram") && m.notify.includes("slack"))).toBe(true);
    expect(res.config.experiments[0]!.notify).toContain("slack");
  });
});
