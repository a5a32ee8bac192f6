/** What a reload changed, by name, so the daemon can reschedule only what moved and log it plainly. */
import { isDeepStrictEqual } from "node:util";
import type { VigilConfig } from "./types.js";

export interface NamedDiff {
  added: string[];
  removed: string[];
  changed: string[];
}

export interface ConfigDiff {
  metrics: NamedDiff;
  experiments: NamedDiff;
  channels: NamedDiff;
  /** Other top-level sections that differ: database, timezone, http, telegram, slack, defaults, digest, mute. */
  settings: string[];
}

function diffNamed<T>(a: ReadonlyMap<string, T>, b: ReadonlyMap<string, T>): NamedDiff {
  const out: NamedDiff = { added: [], removed: [], changed: [] };
  for (const [name, value] of b) {
    if (!a.has(name)) out.added.push(name);
    else if (!isDeepStrictEqual(a.get(name), value)) out.changed.push(name);
  }
  for (const name of a.keys()) if (!b.has(name)) out.removed.push(name);
  return out;
}

const byName = <T extends { name: string }>(list: readonly T[]): Map<string, T> => new Map(list.map((x) => [x.name, x]));

const SETTINGS = ["file", "database", "timezone", "http", "telegram", "slack", "defaults", "digest", "mute"] as const;

/** `oldConfig` undefined = nothing was loaded before: everything counts as added. */
export function diffConfigs(oldConfig: VigilConfig | undefined, newConfig: VigilConfig): ConfigDiff {
  return {
    metrics: diffNamed(byName(oldConfig?.metrics ?? []), byName(newConfig.metrics)),
    experiments: diffNamed(byName(oldConfig?.experiments ?? []), byName(newConfig.experiments)),
    channels: diffNamed(new Map(Object.entries(oldConfig?.channels ?? {})), new Map(Object.entries(newConfig.channels))),
    settings: SETTINGS.filter((k) => !oldConfig || !isDeepStrictEqual(oldConfig[k], newConfig[k])),
  };
}

export function isEmptyDiff(d: ConfigDiff): boolean {
  const none = (n: NamedDiff) => n.added.length + n.removed.length + n.changed.length === 0;
  return none(d.metrics) && none(d.experiments) && none(d.channels) && d.settings.length === 0;
}
