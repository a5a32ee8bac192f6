/**
 * What on-call can do to alerts, from the chat, the CLI or tests: acknowledge, unacknowledge,
 * snooze, resolve, silence and unsilence, and read the status. Every change is made under a row
 * lock, recorded in the alert history with who did it, and followed by an `update` notification to
 * the channels that carried the alert, so their messages can be edited to show it.
 */
import type { Clock } from "./clock.js";
import type { VigilConfig } from "./config/types.js";
import type { Alert, AlertEvent, AlertState } from "./model/alert.js";
import { formatDuration, parseDuration } from "./model/duration.js";
import { globProblem } from "./model/glob.js";
import type { Silence } from "./model/silence.js";
import { eventMessages } from "./notify/plan.js";
import type { StateStore } from "./store/state-store.js";

export type ActionResult =
  | {
      ok: true;
      alert: Alert & { id: number };
      message: string;
      /** The channels whose message about the alert gets an update through the outbox. */
      channels: string[];
    }
  | { ok: false; message: string };

/** Snoozes asked for by name (chat command, CLI) last between these. */
export const SNOOZE_MIN_MS = 60_000;
export const SNOOZE_MAX_MS = 30 * 86_400_000;

/** "12" or "#12" as an alert id, else null. */
export function parseAlertId(arg: string | undefined): number | null {
  const m = /^#?(\d{1,15})$/.exec(arg ?? "");
  return m ? Number(m[1]) : null;
}

/** A snooze duration written by hand ("2h", "90m"), or null when it is no duration or out of range. */
export function parseSnooze(arg: string | undefined): number | null {
  const ms = arg ? parseDuration(arg) : null;
  return ms !== null && ms >= SNOOZE_MIN_MS && ms <= SNOOZE_MAX_MS ? ms : null;
}

const SEVERITY_ORDER = { critical: 0, warning: 1, info: 2 } as const;

export class AlertActions {
  constructor(
    private readonly store: StateStore,
    private readonly clock: Clock,
    private readonly config: () => VigilConfig,
  ) {}

  acknowledge(id: number, actor: string): Promise<ActionResult> {
    return this.change(id, actor, ["firing", "snoozed"], "acknowledged", (a) => ({ ...a, snoozedUntil: null }), "acknowledged");
  }

  unacknowledge(id: number, actor: string): Promise<ActionResult> {
    return this.change(id, actor, ["acknowledged"], "firing", (a) => a, "unacknowledged");
  }

  snooze(id: number, durationMs: number, actor: string): Promise<ActionResult> {
    const until = this.clock.now() + durationMs;
    return this.change(
      id,
      actor,
      ["firing", "acknowledged", "snoozed"],
      "snoozed",
      (a) => ({ ...a, snoozedUntil: until }),
      `snoozed for ${formatDuration(durationMs)}`,
    );
  }

  resolve(id: number, actor: string): Promise<ActionResult> {
    return this.change(
      id,
      actor,
      ["pending", "firing", "acknowledged", "snoozed"],
      "resolved",
      (a) => ({ ...a, resolvedAt: this.clock.now(), snoozedUntil: null }),
      "resolved by hand",
    );
  }

  private async change(
    id: number,
    actor: string,
    from: readonly AlertState[],
    to: AlertState,
    patch: (a: Alert & { id: number }) => Alert,
    note: string,
  ): Promise<ActionResult> {
    const now = this.clock.now();
    type Change = { refused: string } | { alert: Alert & { id: number }; channels: string[] };
    const res = await this.store.commit(async (uow): Promise<Change> => {
      const current = await uow.lockAlert(id);
      if (!current) return { refused: `no alert #${id}` };
      if (!from.includes(current.state)) return { refused: `alert #${id} is ${current.state}; it cannot be ${note.split(" ")[0]}` };
      const alert: Alert = { ...patch(current), state: to, actedBy: actor, updatedAt: now };
      const event: AlertEvent = { from: current.state, to, actor, note, notify: to === "resolved" ? "resolved" : "update" };
      const [stored] = (await uow.saveOutcomes([{ alert, events: [event] }])).events;
      // edit notices go to the channels that carried the alert
      const config = this.config();
      const drafts = eventMessages(
        stored!,
        (await uow.notifiedChannels(id)).filter((c) => c in config.channels),
      );
      await uow.enqueue(drafts);
      return { alert: stored!.alert, channels: drafts.map((d) => d.channel) };
    });
    if ("refused" in res) return { ok: false, message: res.refused };
    return { ok: true, alert: res.alert, message: `#${id} ${note} by ${actor}`, channels: res.channels };
  }

  /** Open alerts, most severe first, oldest first within a severity. */
  async status(): Promise<Array<Alert & { id: number }>> {
    const open = (await this.store.openAlerts()).filter((a): a is Alert & { id: number } => a.id !== null && a.state !== "pending");
    return open.sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || a.startedAt - b.startedAt);
  }

  /** Adds a silence; throws a user-facing message when a pattern is unacceptable. */
  async silence(opts: { metric: string; series?: string; durationMs: number; reason: string; actor: string }): Promise<Silence> {
    const problem = globProblem(opts.metric) ?? globProblem(opts.series ?? "*");
    if (problem) throw new SilencePatternError(problem);
    const now = this.clock.now();
    return this.store.addSilence({
      metricGlob: opts.metric,
      seriesGlob: opts.series ?? "*",
      reason: opts.reason,
      createdBy: opts.actor,
      at: now,
      endsAt: now + opts.durationMs,
    });
  }

  unsilence(id: number): Promise<boolean> {
    return this.store.removeSilence(id, this.clock.now());
  }

  silences(all = false): Promise<Silence[]> {
    return this.store.listSilences({ all, now: this.clock.now() });
  }
}

export class SilencePatternError extends Error {
  override readonly name = "SilencePatternError";
}
