/**
 * The daemon's alerts about itself, raised and resolved through the engine like any other: a channel
 * that cannot deliver, and a config edit that is invalid or waits for a restart.
 */
import type { Engine } from "../engine/engine.js";
import type { Logger } from "../log.js";

export class MetaAlerts {
  /** Channels with a delivery given up, so that their next success resolves the alert once. */
  private readonly failingChannels = new Set<string>();

  constructor(
    private readonly engine: Engine,
    private readonly log: Logger,
  ) {}

  /** The dispatcher gave up on a delivery to `channel`. */
  deliveryGivenUp(channel: string, kind: string, error: string): void {
    this.failingChannels.add(channel);
    void this.engine
      .meta("delivery", true, `a ${kind} notification to ${channel} could not be delivered: ${error}`, channel, channel)
      .catch(() => {});
  }

  /** A delivery to `channel` went through: if it was failing, it works again. */
  deliverySucceeded(channel: string): void {
    if (!this.failingChannels.delete(channel)) return;
    void this.engine.meta("delivery", false, `${channel} delivers again`, channel).catch(() => {});
  }

  configInvalid(problems: readonly string[]): Promise<void> {
    return this.engine
      .meta("config", true, `the edited config is invalid, still running on the last good one:\n${problems.slice(0, 10).join("\n")}`)
      .catch((err: unknown) => this.log.error({ err: String(err) }, "could not raise the config meta-alert"));
  }

  /** `what` names the edited settings that only a restart applies. */
  configAwaitsRestart(what: string): Promise<void> {
    return this.engine
      .meta(
        "config",
        true,
        `the edited ${what} settings take effect only when vigil restarts; it is still using the old ones (the rest of the edit is applied)`,
      )
      .catch((err: unknown) => this.log.error({ err: String(err) }, "could not raise the config meta-alert"));
  }

  configValidAgain(): Promise<void> {
    return this.engine.meta("config", false, "the config is valid again").catch(() => {});
  }
}
