/**
 * Hostile chat input, generated: every command with arbitrary arguments (long, unicode, globs,
 * markup, numbers out of range) is answered, never throws, stays short, and leaves silences
 * whose patterns match in bounded time.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AlertActions } from "../src/actions.js";
import { COMMANDS, runCommand } from "../src/bot/commands.js";
import { ManualClock } from "../src/clock.js";
import { silentLogger } from "../src/log.js";
import { globMatch, MAX_GLOB_LENGTH } from "../src/model/glob.js";
import { vigilConfig } from "./helpers/config.js";
import { useStateSchemas } from "./helpers/state.js";

const hostile = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: fc.constantFrom("*", "?", "/", "a", "#", "\\", "(", "<b>", "&", "😀", " "), maxLength: 600 }),
  fc.integer().map(String),
  fc.constantFrom("99999999999999999999", "-1", "0x10", "1e400", "NaN", "#1", "1h", "90d", "91d", "0s"),
);

describe("chat commands under hostile input", () => {
  const state = useStateSchemas("fuzz");

  it("every command answers any arguments, briefly, and silences stay matchable", async () => {
    const store = await state.freshStore();
    const clock = new ManualClock(Date.UTC(2026, 0, 5));
    const config = vigilConfig([]);
    const deps = { actions: new AlertActions(store, clock, () => config), store, clock, log: silentLogger() };
    const who = { actor: "telegram:@mallory", allowed: true, channel: "out", platform: "telegram" as const, detail: {} };
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...COMMANDS.map((c) => c.name), "frobnicate", "ACK"),
        fc.array(hostile, { maxLength: 4 }),
        async (name, args) => {
          const reply = await runCommand(deps, who, name, args.join(" "), "/");
          const text = reply.lines.map((l) => JSON.stringify(l)).join("\n");
          expect(text.length).toBeLessThan(20_000);
        },
      ),
      { numRuns: 150 },
    );
    const long = "a".repeat(5000);
    for (const s of await deps.actions.silences(true)) {
      expect([...s.metricGlob].length).toBeLessThanOrEqual(MAX_GLOB_LENGTH);
      const started = performance.now();
      globMatch(s.metricGlob, long);
      globMatch(s.seriesGlob, long);
      expect(performance.now() - started).toBeLessThan(1000);
    }
  });
});
