/** The channel seam: one Notifier per configured channel, built by a factory from the registry. */
import type { ChannelConfig, VigilConfig } from "../src/config/types.js";
import type { Logger } from "../src/log.js";
import type { Notification } from "../src/model/notification.js";

export interface SendContext {
  /** Reference of the first message sent for this alert on this channel (to edit or thread under). */
  previousRef: unknown | null;
  /** Idempotency key of this delivery (webhooks send it as a header). */
  key: string;
}

export interface SendResult {
  /** Reference to remember for later changes of the same alert (message id, thread ts...). */
  ref?: unknown;
}

export interface Notifier {
  readonly channel: string;
  readonly type: ChannelConfig["type"];
  send(n: Notification, ctx: SendContext): Promise<SendResult>;
  close?(): Promise<void>;
}

export interface NotifierDeps {
  config: VigilConfig;
  log: Logger;
  /** Where the console channel writes (stdout unless a test says otherwise). */
  stdout: NodeJS.WritableStream;
  /** How long an HTTP send may take before it counts as failed (default 10 s). */
  httpTimeoutMs?: number;
}

export type NotifierFactory = (channel: string, config: ChannelConfig, deps: NotifierDeps) => Notifier;

/**
 * A failed send. `retryAfterMs` comes from the channel (429 Retry-After / retry_after);
 * `permanent` means retrying cannot help (bad request, unknown chat).
 */
export class DeliveryError extends Error {
  override readonly name = "DeliveryError";
  constructor(
    message: string,
    readonly opts: { retryAfterMs?: number; permanent?: boolean; status?: number } = {},
  ) {
    super(message);
  }
  get retryAfterMs(): number | undefined {
    return this.opts.retryAfterMs;
  }
  get permanent(): boolean {
    return this.opts.permanent ?? false;
  }
  toJSON() {
    return { name: this.name, message: this.message, ...this.opts };
  }
}
