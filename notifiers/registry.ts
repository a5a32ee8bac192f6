/** One list of channel types; building the notifiers fails at boot on an unknown type. */
import type { ChannelConfig } from "../src/config/types.js";
import { errorText } from "../src/log.js";
import { type ChatType, checkChatChannel } from "./chat-channel.js";
import { createConsoleNotifier } from "./console.js";
import { DeliveryError, type Notifier, type NotifierDeps, type NotifierFactory } from "./notifier.js";
import { createWebhookNotifier } from "./webhook.js";

/**
 * A chat channel whose notifier (its SDK and the chart renderer) is loaded on its first send, so a
 * daemon holds them only once it has something to say; what the channel needs from the config is
 * checked at once, so that a channel that cannot work still fails at boot.
 */
function onFirstSend(type: ChatType, load: () => Promise<NotifierFactory>): NotifierFactory {
  return (channel: string, config: ChannelConfig, deps: NotifierDeps): Notifier => {
    checkChatChannel(type, channel, config, deps);
    let real: Promise<Notifier> | null = null;
    const notifier = async (): Promise<Notifier> => {
      real ??= load().then((create) => create(channel, config, deps));
      try {
        return await real;
      } catch (err) {
        real = null;
        // the outbox keeps the delivery and retries it
        throw new DeliveryError(`${type} ${channel}: cannot load the ${type} client: ${errorText(err)}`);
      }
    };
    return {
      channel,
      type,
      send: async (n, ctx) => (await notifier()).send(n, ctx),
      close: async () => {
        const loaded = await real?.catch(() => null);
        await loaded?.close?.();
      },
    };
  };
}

/** A channel type: how its notifier is built, and whether its messages carry an alert's chart. */
interface ChannelKind {
  create: NotifierFactory;
  drawsCharts: boolean;
}

const KINDS: Partial<Record<ChannelConfig["type"], ChannelKind>> = {
  console: { create: createConsoleNotifier, drawsCharts: false },
  webhook: { create: createWebhookNotifier, drawsCharts: false },
  telegram: { create: onFirstSend("telegram", async () => (await import("./telegram.js")).createTelegramNotifier), drawsCharts: true },
  slack: { create: onFirstSend("slack", async () => (await import("./slack.js")).createSlackNotifier), drawsCharts: true },
};

/** Register a channel type (test doubles plug in here); duplicates are a bug. */
export function registerNotifier(
  type: ChannelConfig["type"],
  create: NotifierFactory,
  opts: { drawsCharts?: boolean; replace?: boolean } = {},
): void {
  if (KINDS[type] && !opts.replace) throw new Error(`notifier type '${type}' registered twice`);
  KINDS[type] = { create, drawsCharts: opts.drawsCharts ?? false };
}

/** Whether messages of this channel type draw the alert's chart; the others would only carry its points. */
export function drawsCharts(type: ChannelConfig["type"] | undefined): boolean {
  return type !== undefined && (KINDS[type]?.drawsCharts ?? false);
}

export function createNotifiers(deps: NotifierDeps): Map<string, Notifier> {
  const out = new Map<string, Notifier>();
  for (const [name, cfg] of Object.entries(deps.config.channels)) {
    const factory = KINDS[cfg.type]?.create;
    if (!factory) throw new Error(`channel '${name}': channel type '${cfg.type}' is not available in this build`);
    out.set(name, factory(name, cfg, deps));
  }
  return out;
}
