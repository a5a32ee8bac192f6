/**
 * Client-side pacing per chat, below the platforms' limits (Telegram ≈1 message/s per chat and
 * 20/min per group; Slack ≈1/s per channel), so that bursts wait here instead of earning 429s.
 * The dispatcher sends each channel sequentially; pacers are shared by chat so that two channels
 * pointing at one chat, or notifiers rebuilt on a config reload, still count together.
 */
import { setTimeout as sleepMs } from "node:timers/promises";

export interface RateWindow {
  count: number;
  perMs: number;
}

export interface PacerTime {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realTime: PacerTime = { now: () => Date.now(), sleep: (ms) => sleepMs(ms) };

export class ChatPacer {
  private sent: number[] = [];
  private queue: Promise<void> = Promise.resolve();
  private readonly keep: number;

  constructor(
    readonly windows: readonly RateWindow[],
    private readonly time: PacerTime = realTime,
  ) {
    this.keep = Math.max(1, ...windows.map((w) => w.count));
  }

  /** Resolves when one more message may go out; callers are served in order. */
  acquire(): Promise<void> {
    const turn = this.queue.then(() => this.waitTurn());
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async waitTurn(): Promise<void> {
    for (;;) {
      const now = this.time.now();
      let wait = 0;
      for (const w of this.windows) {
        // The count-th most recent send must be older than the window.
        const ref = this.sent[this.sent.length - w.count];
        if (ref !== undefined && this.sent.length >= w.count) wait = Math.max(wait, ref + w.perMs - now);
      }
      if (wait <= 0) {
        this.sent.push(now);
        if (this.sent.length > this.keep) this.sent.splice(0, this.sent.length - this.keep);
        return;
      }
      await this.time.sleep(wait);
    }
  }
}

export const TELEGRAM_CHAT_RATE: readonly RateWindow[] = [{ count: 1, perMs: 1000 }];
/** Groups and channels (negative chat ids) also have the 20 per minute limit. */
export const TELEGRAM_GROUP_RATE: readonly RateWindow[] = [
  { count: 1, perMs: 1000 },
  { count: 20, perMs: 60_000 },
];
export const SLACK_CHANNEL_RATE: readonly RateWindow[] = [{ count: 1, perMs: 1000 }];

const shared = new Map<string, ChatPacer>();

/** The process-wide pacer of one chat (key like "telegram:-100123" or "slack:C0123"). */
export function sharedPacer(key: string, windows: readonly RateWindow[]): ChatPacer {
  let p = shared.get(key);
  if (!p) {
    p = new ChatPacer(windows);
    shared.set(key, p);
  }
  return p;
}

/** A pacer that never waits (tests that are not about pacing). */
export const NO_PACING: Pick<ChatPacer, "acquire"> = { acquire: () => Promise.resolve() };
