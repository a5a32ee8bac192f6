/**
 * What a Telegram or Slack channel needs before its client can be built, checked at boot by the
 * registry (which loads the client's SDK only on the first send) and by the notifiers themselves.
 */
import type { ChannelConfig } from "../src/config/types.js";
import type { NotifierDeps } from "./notifier.js";

export type ChatType = "telegram" | "slack";

/**
 * Throws when `config` is not a `type` channel or when the config holds no bot token for it
 * (`hasClient`: the caller brings its own client, so no token is needed).
 */
export function checkChatChannel<T extends ChatType>(
  type: T,
  channel: string,
  config: ChannelConfig,
  deps: NotifierDeps,
  hasClient = false,
): asserts config is Extract<ChannelConfig, { type: T }> {
  if (config.type !== type) throw new Error(`channel '${channel}' is not a ${type} channel`);
  if (!hasClient && !deps.config[type]?.token) throw new Error(`channel '${channel}': ${type} channels need ${type}.token in the config`);
}
