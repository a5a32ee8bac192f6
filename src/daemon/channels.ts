/** The notifiers of the configured channels; a reload that edits the channels swaps in a new set. */
import type { Notifier } from "../../notifiers/notifier.js";
import { createNotifiers } from "../../notifiers/registry.js";
import type { VigilConfig } from "../config/types.js";
import type { Logger } from "../log.js";

export interface ChannelsOptions {
  log: Logger;
  /** Where the console channel writes. */
  stdout: NodeJS.WritableStream;
  /** How long a channel's HTTP call may take before it is cut (ms; the notifiers' own default when unset). */
  httpTimeoutMs?: number | undefined;
}

export class Channels {
  private notifiers: ReadonlyMap<string, Notifier>;

  constructor(
    config: VigilConfig,
    private readonly opts: ChannelsOptions,
  ) {
    this.notifiers = this.build(config);
  }

  get current(): ReadonlyMap<string, Notifier> {
    return this.notifiers;
  }

  /** The notifiers of `config`'s channels; throws when one cannot be made. */
  build(config: VigilConfig): ReadonlyMap<string, Notifier> {
    const { log, stdout, httpTimeoutMs } = this.opts;
    return createNotifiers({ config, log, stdout, ...(httpTimeoutMs === undefined ? {} : { httpTimeoutMs }) });
  }

  /** Puts `next` in use and closes the notifiers it replaces. */
  async replace(next: ReadonlyMap<string, Notifier>): Promise<void> {
    const old = this.notifiers;
    this.notifiers = next;
    if (old !== next) for (const notifier of old.values()) await notifier.close?.().catch(() => {});
  }

  async close(): Promise<void> {
    for (const notifier of this.notifiers.values()) await notifier.close?.().catch(() => {});
  }
}
