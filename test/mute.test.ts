import { describe, expect, it } from "vitest";
import { activeMute, cronMatchesMinute } from "../src/notify/mute.js";

const at = (iso: string) => Date.parse(iso);

describe("mute windows", () => {
  const nightly = [{ cron: "0 2 * * *", durationMs: 3_600_000 }];

  it("mutes from the cron fire time for its duration, in the config's timezone", () => {
    expect(activeMute(nightly, at("2026-03-10T01:59:00Z"), "UTC")).toBeUndefined();
    expect(activeMute(nightly, at("2026-03-10T02:00:00Z"), "UTC")).toBeDefined();
    expect(activeMute(nightly, at("2026-03-10T02:59:59Z"), "UTC")).toBeDefined();
    expect(activeMute(nightly, at("2026-03-10T03:00:00Z"), "UTC")).toBeUndefined();
    // 02:00 in Berlin (UTC+1 in March before DST) is 01:00 UTC
    expect(activeMute(nightly, at("2026-03-10T01:30:00Z"), "Europe/Berlin")).toBeDefined();
    expect(activeMute(nightly, at("2026-03-10T02:30:00Z"), "Europe/Berlin")).toBeUndefined();
  });

  it("matches weekdays, ranges and steps", () => {
    expect(cronMatchesMinute("*/15 9-17 * * 1-5", at("2026-03-10T09:45:00Z"), "UTC")).toBe(true); // Tuesday
    expect(cronMatchesMinute("*/15 9-17 * * 1-5", at("2026-03-14T09:45:00Z"), "UTC")).toBe(false); // Saturday
    expect(cronMatchesMinute("0 0 * * sun", at("2026-03-15T00:00:30Z"), "UTC")).toBe(true);
    expect(cronMatchesMinute("30 23 * * *", at("2026-03-15T23:31:00Z"), "UTC")).toBe(false);
  });

  it("a window spanning midnight mutes into the next day", () => {
    const w = [{ cron: "30 23 * * *", durationMs: 2 * 3_600_000 }];
    expect(activeMute(w, at("2026-03-16T01:00:00Z"), "UTC")).toBeDefined();
    expect(activeMute(w, at("2026-03-16T01:31:00Z"), "UTC")).toBeUndefined();
  });
});
