import { once } from "node:events";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfigFile } from "../src/config/load.js";
import type { VigilConfig } from "../src/config/types.js";
import { type ConfigInvalidEvent, type ConfigReloadEvent, ConfigWatcher } from "../src/config/watch.js";

const base = (extra = "") => `channels:
  ops: {type: console}
defaults:
  notify: [ops]
metrics:
  - {name: dau, query: "SELECT 1", for: 2}
  - {name: revenue, query: "SELECT 2"}
${extra}`;

let dir: string;
let file: string;
let watcher: ConfigWatcher | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "vigil-watch-"));
  file = join(dir, "vigil.yaml");
  await writeFile(file, base());
});

afterEach(async () => {
  watcher?.close();
  watcher = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function initial(): Promise<VigilConfig> {
  const res = await loadConfigFile(file, {});
  if (!res.ok) throw new Error("fixture invalid");
  return res.config;
}

const nextReload = (w: ConfigWatcher) => once(w, "reload").then(([ev]) => ev as ConfigReloadEvent);
const nextInvalid = (w: ConfigWatcher) => once(w, "invalid").then(([ev]) => ev as ConfigInvalidEvent);

describe("ConfigWatcher", () => {
  it("emits reload with a diff after a valid edit", async () => {
    watcher = new ConfigWatcher(file, { env: {}, debounceMs: 30, initial: await initial() });
    const reload = nextReload(watcher);
    await writeFile(
      file,
      base().replace("for: 2", "for: 3").replace('  - {name: revenue, query: "SELECT 2"}\n', '  - {name: signups, query: "SELECT 3"}\n'),
    );
    const ev = await reload;
    expect(ev.diff.metrics).toEqual({ added: ["signups"], removed: ["revenue"], changed: ["dau"] });
    expect(ev.config.metrics.find((m) => m.name === "dau")?.for).toBe(3);
    expect(watcher.config).toBe(ev.config);
  });

  it("emits invalid for a broken edit, keeps the old config, and reloads after the fix", async () => {
    const first = await initial();
    watcher = new ConfigWatcher(file, { env: {}, debounceMs: 30, initial: first });
    const invalid = nextInvalid(watcher);
    await writeFile(file, base().replace("for: 2", "for: two"));
    const bad = await invalid;
    expect(bad.problems).toMatchObject([
      { file, line: 6, col: 41, path: "metrics[0].for", message: "expected an integer, got string 'two'" },
    ]);
    expect(watcher.config).toBe(first);

    const reload = nextReload(watcher);
    await writeFile(file, base().replace("for: 2", "for: 5"));
    const ev = await reload;
    expect(ev.diff.metrics.changed).toEqual(["dau"]);
    expect(ev.config.metrics[0]!.for).toBe(5);
  });

  it("after an invalid state, restoring the same valid config still reports the recovery", async () => {
    watcher = new ConfigWatcher(file, { env: {}, debounceMs: 30, initial: await initial() });
    const invalid = nextInvalid(watcher);
    await writeFile(file, "metrics: [\n");
    await invalid;
    const reload = nextReload(watcher);
    await writeFile(file, base());
    const ev = await reload;
    expect(ev.diff.metrics).toEqual({ added: [], removed: [], changed: [] });
  });

  it("survives editors that write a new file and rename it over the old one", async () => {
    watcher = new ConfigWatcher(file, { env: {}, debounceMs: 30, initial: await initial() });
    const reload = nextReload(watcher);
    const tmp = join(dir, ".vigil.yaml.swp");
    await writeFile(tmp, base("digest:\n  - {notify: [ops]}\n"));
    await rename(tmp, file);
    const ev = await reload;
    expect(ev.diff.settings).toEqual(["digest"]);
    // The watch is on the directory, so a second replacement is seen too.
    const again = nextReload(watcher);
    await writeFile(tmp, base());
    await rename(tmp, file);
    expect((await again).diff.settings).toEqual(["digest"]);
  });

  it("loads its own baseline when not given one", async () => {
    watcher = new ConfigWatcher(file, { env: {}, debounceMs: 30 });
    await watcher.ready;
    expect(watcher.config?.metrics.map((m) => m.name)).toEqual(["dau", "revenue"]);
    const reload = nextReload(watcher);
    await writeFile(file, base().replace("notify: [ops]", "notify: []"));
    expect((await reload).diff.metrics.changed).toEqual(["dau", "revenue"]);
  });

  it("reload() re-reads on demand (e.g. on SIGHUP) without waiting for a file event", async () => {
    watcher = new ConfigWatcher(file, { env: { OPS: "x" }, debounceMs: 10_000, initial: await initial() });
    const reload = nextReload(watcher);
    await writeFile(file, base().replace("for: 2", "for: 4"));
    await watcher.reload();
    expect((await reload).config.metrics[0]!.for).toBe(4);
  });
});
