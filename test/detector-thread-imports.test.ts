import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/** Packages a module loads at run time, following its relative imports (type-only imports are erased). */
function runtimePackages(entry: string): Set<string> {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/^import\s+(type\s+)?[^;]*?from\s+"([^"]+)";/gms)) {
      if (m[1]) continue;
      const spec = m[2]!;
      if (spec.startsWith(".")) visit(resolve(dirname(file), spec.replace(/\.js$/, ".ts")));
      else packages.add(spec);
    }
  };
  visit(entry);
  return packages;
}

describe("the detector thread of vigil detect", () => {
  it("loads the ensemble's step code without the schema library", () => {
    const packages = runtimePackages(join(import.meta.dirname, "..", "detectors", "ensemble-core.ts"));
    expect([...packages].filter((p) => !p.startsWith("node:"))).toEqual([]);
  });

  it("the check sees the schema library where it is loaded", () => {
    expect(runtimePackages(join(import.meta.dirname, "..", "detectors", "ensemble.ts")).has("zod")).toBe(true);
  });
});

describe("the scan thread (VIGIL_SCAN_THREAD=1)", () => {
  it("loads the driver and nothing else of the daemon's packages: each is memory in a second heap", () => {
    const packages = runtimePackages(join(import.meta.dirname, "..", "src", "sources", "scan-worker.ts"));
    expect([...packages].filter((p) => !p.startsWith("node:"))).toEqual(["pg"]);
  });
});

describe("the daemon at start", () => {
  it("does not load the experiments' statistics library, the chat SDKs or the chart renderer until they are used", () => {
    const packages = [...runtimePackages(join(import.meta.dirname, "..", "src", "daemon.ts"))];
    expect(packages.filter((p) => p.startsWith("@stdlib/"))).toEqual([]);
    expect(
      [...runtimePackages(join(import.meta.dirname, "..", "src", "experiments", "evaluate.ts"))].some((p) => p.startsWith("@stdlib/")),
    ).toBe(true);
    // neither the bots nor the chat notifiers (which also render charts) are loaded at start
    const lazy = (p: string) => p.startsWith("@slack/") || p === "node-telegram-bot-api" || p === "@resvg/resvg-js";
    expect(packages.filter(lazy)).toEqual([]);
    // and the check sees them where they are loaded
    expect(runtimePackages(join(import.meta.dirname, "..", "src", "bot", "slack-bot.ts")).has("@slack/web-api")).toBe(true);
    const telegram = runtimePackages(join(import.meta.dirname, "..", "notifiers", "telegram.ts"));
    expect(telegram.has("node-telegram-bot-api") && telegram.has("@resvg/resvg-js")).toBe(true);
  });
});
