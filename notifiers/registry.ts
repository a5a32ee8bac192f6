/** One list of channel types; building the notifiers fails at boot on an unknown type. */
import type { ChannelConfig } from "../src/config/types.js";
import { createConsoleNotifier } from "./console.js";
import type { Notifier, NotifierDeps, NotifierFactory } from "./notifier.js";
import { createSlackNotifier } from "./slack.js";
import { createTelegramNotifier } from "./telegram.js";
import { createWebhookNotifier } from "./webhook.js";

const FACTORIES: Partial<Record<ChannelConfig["type"], NotifierFactory>> = {
  console: createConsoleNotifier,
  webhook: createWebhookNotifier,
  telegram: (channel, config, deps) => createTelegramNotifier(channel, config, deps),
  slack: (channel, config, deps) => createSlackNotifier(channel, config, deps),
};

/** Register a factory (telegram, slack and test doubles plug in here); duplicates are a bug. */
export function registerNotifier(type: ChannelConfig["type"], factory: NotifierFactory, replace = false): void {
  if (FACTORIES[type] && !replace) throw new Error(`notifier type '${type}' registered twice`);
  FACTORIES[type] = factory;
}

export function createNotifiers(deps: NotifierDeps): Map<string, Notifier> {
  const out = new Map<string, Notifier>();
  for (const [name, cfg] of Object.entries(deps.config.channels)) {
    const factory = FACTORIES[cfg.type];
    if (!factory) throw new Error(`channel '${name}': channel type '${cfg.type}' is not available in this build`);
    out.set(name, factory(name, cfg, deps));
  }
  return out;
}
