/**
 * Chat control for the daemon: starts the Telegram bot (long polling) when telegram.token and a
 * telegram channel are configured, and the Slack bot (Socket Mode) when slack.token and
 * slack.app_token are. Call it on the leader replica only: two pollers on one Telegram token
 * fight over getUpdates (409), and two Socket Mode connections would each act on a button press.
 * Channels and allowed users are read from `config()` on every update, so a config reload applies
 * at once; a changed token needs a restart of the bots (stop, then start again).
 */
import type { AlertActions } from "../actions.js";
import type { Clock } from "../clock.js";
import type { VigilConfig } from "../config/types.js";
import type { Logger } from "../log.js";
import { scrubSecrets } from "../log.js";
import type { StateStore } from "../store/state-store.js";
import type { RunningBot } from "./telegram-bot.js";

export interface ChatBotDeps {
  config: () => VigilConfig;
  actions: AlertActions;
  store: StateStore;
  log: Logger;
  clock: Clock;
  /** Queue the digest for one channel now (the `digest` command). */
  digest?: (channel: string) => Promise<void>;
  /** A chat action queued a notification: deliver now rather than at the next dispatcher pass. */
  kick?: () => void;
}

export async function startChatBots(deps: ChatBotDeps): Promise<{ stop(): Promise<void> }> {
  const config = deps.config();
  const running: Array<{ name: string; bot: RunningBot }> = [];
  const types = new Set(Object.values(config.channels).map((c) => c.type));
  const base = {
    config: deps.config,
    actions: deps.actions,
    store: deps.store,
    clock: deps.clock,
    log: deps.log,
    ...(deps.digest ? { digest: deps.digest } : {}),
    ...(deps.kick ? { kick: deps.kick } : {}),
  };
  if (config.telegram?.token && types.has("telegram")) {
    try {
      // each SDK loads only when its bot runs, so a daemon without that bot never holds it
      const { startTelegramBot } = await import("./telegram-bot.js");
      running.push({ name: "telegram", bot: await startTelegramBot(base) });
    } catch (err) {
      deps.log.error({ err: scrubSecrets(String(err)) }, "telegram bot did not start");
    }
  }
  if (config.slack?.token && config.slack.app_token && types.has("slack")) {
    try {
      const { startSlackBot } = await import("./slack-bot.js");
      running.push({ name: "slack", bot: await startSlackBot(base) });
    } catch (err) {
      deps.log.error({ err: scrubSecrets(String(err)) }, "slack bot did not start");
    }
  }
  if (running.length > 0) deps.log.info({ bots: running.map((r) => r.name) }, "chat bots started");
  return {
    async stop() {
      await Promise.all(
        running.map((r) => r.bot.stop().catch((err: unknown) => deps.log.warn({ bot: r.name, err: String(err) }, "chat bot stop failed"))),
      );
    },
  };
}
