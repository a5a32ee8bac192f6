import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { globMatch, globProblem, MAX_GLOB_LENGTH } from "../src/model/glob.js";
import { type Silence, silencedBy } from "../src/model/silence.js";

/** The obvious regex translation, fine for the short strings of the property below. */
function regexMatch(glob: string, text: string): boolean {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${body}$`, "s").test(text);
}

const alphabet = fc.constantFrom("a", "b", "=", "/", "*", "?", ".", "(", "\\", "é");

describe("silence patterns", () => {
  it("match exactly as the glob semantics say (* any run, ? one character, whole text)", () => {
    fc.assert(
      fc.property(fc.string({ unit: alphabet, maxLength: 8 }), fc.string({ unit: alphabet, maxLength: 10 }), (glob, text) => {
        expect(globMatch(glob, text)).toBe(regexMatch(glob, text));
      }),
      { numRuns: 3000 },
    );
    expect(globMatch("platform=*", "platform=ios")).toBe(true);
    expect(globMatch("m?", "m1")).toBe(true);
    expect(globMatch("m?", "m12")).toBe(false);
    expect(globMatch("", "")).toBe(true);
    expect(globMatch("*", "")).toBe(true);
  });

  it("a hostile pattern against a long series key finishes at once (the regex translation backtracked for ever)", () => {
    const hostile = `${"*".repeat(16)}#`;
    const text = "a".repeat(5000);
    const started = performance.now();
    expect(globMatch(hostile, text)).toBe(false);
    expect(globMatch(`${"*a".repeat(100)}#`, text)).toBe(false);
    expect(globMatch(`${"?*".repeat(100)}`, text)).toBe(true);
    // milliseconds in practice; the bound only has to separate that from exponential time
    expect(performance.now() - started).toBeLessThan(5000);
    const s: Silence = {
      id: 1,
      metricGlob: "m1",
      seriesGlob: hostile,
      reason: "",
      createdBy: "x",
      createdAt: 0,
      endsAt: 1,
      removedAt: null,
    };
    expect(silencedBy([s], "m1", text)).toBeUndefined();
  });

  it("bounds a pattern's length", () => {
    expect(globProblem("a".repeat(MAX_GLOB_LENGTH))).toBeNull();
    expect(globProblem("a".repeat(MAX_GLOB_LENGTH + 1))).toMatch(/at most 256 characters/);
  });
});
