/**
 * Hot reload: a valid edit is swapped in between ticks and logged with what changed; an invalid one
 * is rejected and the daemon keeps running on the last good config, with a meta-alert saying why.
 */
import { isDeepStrictEqual } from "node:util";
import type { Notifier } from "../../notifiers/notifier.js";
import type { ConfigDiff } from "../config/diff-configs.js";
import { formatProblem } from "../config/problem.js";
import type { VigilConfig } from "../config/types.js";
import { ConfigWatcher } from "../config/watch.js";
import type { Logger } from "../log.js";
import type { VigilMetrics } from "../telemetry/metrics.js";
import type { Channels } from "./channels.js";
import type { ChatBots } from "./chat-bots.js";
import type { MetaAlerts } from "./meta-alerts.js";
import type { SerialQueue } from "./serial-queue.js";

/** Config sections read only at start: database connections and the HTTP listener. */
const RESTART_SETTINGS = ["database", "http"] as const;

export interface ConfigReloaderDeps {
  config: () => VigilConfig;
  /** Puts a reloaded config and its channels' notifiers to use. */
  swap: (config: VigilConfig, notifiers: ReadonlyMap<string, Notifier>) => Promise<void>;
  channels: Channels;
  bots: ChatBots;
  serial: SerialQueue;
  metaAlerts: MetaAlerts;
  metrics: VigilMetrics;
  log: Logger;
}

export class ConfigReloader {
  private watcher: ConfigWatcher | null = null;
  private problems: string[] = [];
  /** Edited settings that only a restart applies (the config meta-alert stays open meanwhile). */
  private restartPending: string[] = [];

  constructor(private readonly deps: ConfigReloaderDeps) {}

  /** True while the last edit is rejected (the daemon runs on the last good config). */
  get rejected(): boolean {
    return this.problems.length > 0;
  }

  watch(configPath: string, env: NodeJS.ProcessEnv): void {
    const watcher = new ConfigWatcher(configPath, { env, initial: this.deps.config() });
    watcher.on("reload", (ev) => void this.apply(ev.config, ev.diff));
    watcher.on("invalid", (ev) => void this.reject(ev.problems.map(formatProblem)));
    watcher.on("error", (err) => this.deps.log.error({ err: err.message }, "config watcher error"));
    this.watcher = watcher;
  }

  stopWatching(): void {
    this.watcher?.close();
  }

  /** Re-read the config file now (SIGHUP). */
  reload(): Promise<void> {
    return this.watcher?.reload() ?? Promise.resolve();
  }

  /** Swap in a new valid config between ticks and say what changed. */
  apply(edited: VigilConfig, diff?: ConfigDiff): Promise<void> {
    return this.deps.serial.run(() => this.applyNow(edited, diff));
  }

  private async applyNow(edited: VigilConfig, diff: ConfigDiff | undefined): Promise<void> {
    const running = this.deps.config();
    // Connections and the listening socket are made once: their settings keep their running values.
    const restartOnly = RESTART_SETTINGS.filter((k) => !isDeepStrictEqual(edited[k], running[k]));
    const config: VigilConfig = { ...edited, database: running.database, http: running.http };
    const chatChanged = JSON.stringify([config.telegram, config.slack]) !== JSON.stringify([running.telegram, running.slack]);
    const channelsChanged = chatChanged || JSON.stringify(config.channels) !== JSON.stringify(running.channels);
    let notifiers = this.deps.channels.current;
    if (channelsChanged) {
      try {
        notifiers = this.deps.channels.build(config);
      } catch (err) {
        await this.reject([`${config.file}: ${err instanceof Error ? err.message : String(err)}`]);
        return;
      }
    }
    await this.deps.swap(config, notifiers);
    // Tokens or API roots changed: the bots must reconnect with the new ones.
    if (chatChanged) await this.deps.bots.restart();
    this.deps.metrics.configReloads.inc({ outcome: "success" });
    this.deps.log.info({ diff }, "config reloaded");
    await this.settleMetaAlert(restartOnly);
  }

  /** Raises the config meta-alert for settings that wait for a restart, or resolves it once the config is good again. */
  private async settleMetaAlert(restartOnly: string[]): Promise<void> {
    const hadProblems = this.problems.length > 0 || this.restartPending.length > 0;
    this.problems = [];
    this.restartPending = restartOnly;
    if (restartOnly.length > 0) {
      const what = restartOnly.join(" and ");
      this.deps.log.warn({ settings: restartOnly }, `config reloaded, but ${what} changes take effect only at restart`);
      await this.deps.metaAlerts.configAwaitsRestart(what);
    } else if (hadProblems) {
      await this.deps.metaAlerts.configValidAgain();
    }
  }

  private async reject(problems: string[]): Promise<void> {
    this.deps.metrics.configReloads.inc({ outcome: "invalid" });
    this.problems = problems;
    this.deps.log.error({ problems }, "config change rejected; still running on the last good config");
    await this.deps.metaAlerts.configInvalid(problems);
  }
}
