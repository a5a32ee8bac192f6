/**
 * Chat commands and button presses, the same on every platform: parsing, authorisation, the
 * audit log, and the call into AlertActions. Replies are neutral lines (notifiers/chat-message)
 * that each bot renders in its own markup, so user text is always escaped on the way out; on the
 * way in it only ever reaches the database as bound values through AlertActions.
 */
import type { ButtonPress, Line } from "../../notifiers/chat-message.js";
import { actorLabel, clipText } from "../../notifiers/chat-message.js";
import { type ActionResult, type AlertActions, parseAlertId, parseSnooze, SilencePatternError, SNOOZE_MAX_MS } from "../actions.js";
import type { Clock } from "../clock.js";
import type { Logger } from "../log.js";
import { formatDuration, parseDuration } from "../model/duration.js";
import { fmtTime, roundForHumans, seriesLabel } from "../model/format.js";
import type { Silence } from "../model/silence.js";
import type { StateStore } from "../store/state-store.js";

export interface CommandDeps {
  actions: AlertActions;
  store: StateStore;
  clock: Clock;
  log: Logger;
  /** Build and send the digest to one channel now (absent: the command says it is not available). */
  digest?: (channel: string) => Promise<void>;
  /** Called after a change was queued, so the daemon can deliver the edit without waiting for its next pass. */
  kick?: () => void;
}

export interface Invoker {
  /** "telegram:@alice", "slack:U0123": goes into alert history and the audit log. */
  actor: string;
  allowed: boolean;
  /** The configured channel the command came from. */
  channel: string;
  platform: "telegram" | "slack";
  /** Platform detail for the audit log (user id, chat id). */
  detail: Record<string, string | number>;
}

export interface Reply {
  lines: Line[];
  /** Whether everyone in the chat should see it (actions) or only the caller (status, help, refusals). */
  public: boolean;
}

export interface CommandSpec {
  name: string;
  args: string;
  description: string;
  /** Read-only commands anyone in a configured chat may run. */
  open?: boolean;
}

export const COMMANDS: readonly CommandSpec[] = [
  { name: "status", args: "", description: "open alerts by severity, with ages", open: true },
  { name: "ack", args: "ID", description: "acknowledge an alert" },
  { name: "unack", args: "ID", description: "unacknowledge an alert" },
  { name: "snooze", args: "ID DURATION", description: "snooze an alert, e.g. snooze 12 2h" },
  { name: "resolve", args: "ID", description: "resolve an alert by hand" },
  { name: "silence", args: "METRIC[/SERIES] DURATION [reason]", description: "silence a metric or series (globs * ?)" },
  { name: "unsilence", args: "ID", description: "remove a silence" },
  { name: "silences", args: "", description: "list active silences", open: true },
  { name: "digest", args: "", description: "send the daily digest to this chat now" },
  { name: "help", args: "", description: "this list", open: true },
];

const MAX_SILENCE_MS = 90 * 86_400_000;

const text = (t: string): Line => [{ text: t }];
const privately = (...lines: Line[]): Reply => ({ lines, public: false });

export function helpReply(prefix: string): Reply {
  return privately(
    [{ text: "vigil commands", bold: true }],
    ...COMMANDS.map(
      (c): Line => [{ text: `${prefix}${c.name}${c.args ? ` ${c.args}` : ""}`, code: true }, { text: ` — ${c.description}` }],
    ),
  );
}

async function audit(deps: CommandDeps, who: Invoker, action: string, target: string, allowed: boolean, extra: object = {}): Promise<void> {
  try {
    await deps.store.audit({
      at: deps.clock.now(),
      actor: who.actor,
      action,
      target,
      allowed,
      detail: { platform: who.platform, channel: who.channel, ...who.detail, ...extra },
    });
  } catch (err) {
    // The refusal or the action still stands; a lost audit row must not hide it from the user.
    deps.log.error({ err: err instanceof Error ? err.message : String(err), action, actor: who.actor }, "audit log write failed");
  }
}

function refusal(who: Invoker): Reply {
  const id = who.detail.user_id ?? who.actor;
  const key = who.platform === "telegram" ? "telegram.allowed_users" : "slack.allowed_users";
  return privately(text(`⛔ Not allowed: only ${key} may act on alerts (your id: ${id}).`));
}

function resultReply(r: ActionResult): Reply {
  if (!r.ok) return privately(text(`⚠️ ${r.message}`));
  return { lines: [text(`✅ ${r.message.replace(/ by (?:telegram|user):/, " by ")}`)], public: true };
}

/** Run one command (`name` without the slash, `args` the rest of the line). */
export async function runCommand(deps: CommandDeps, who: Invoker, name: string, args: string, prefix: string): Promise<Reply> {
  const spec = COMMANDS.find((c) => c.name === name.toLowerCase());
  if (!spec) return privately(text(`Unknown command "${clipText(name, 40)}". Try ${prefix}help.`));
  const argv = args.trim() ? args.trim().split(/\s+/) : [];
  if (!spec.open && !who.allowed) {
    await audit(deps, who, spec.name, clipText(args.trim(), 200), false);
    deps.log.warn({ actor: who.actor, command: spec.name, channel: who.channel }, "chat command refused: user not allowed");
    return refusal(who);
  }
  const usage = privately(text(`Usage: ${prefix}${spec.name} ${spec.args}`));
  switch (spec.name) {
    case "help":
      return helpReply(prefix);
    case "status":
      return statusReply(deps);
    case "silences":
      return silencesReply(deps);
    case "ack":
    case "unack":
    case "resolve": {
      const id = parseAlertId(argv[0]);
      if (id === null || argv.length > 1) return usage;
      const r =
        spec.name === "ack"
          ? await deps.actions.acknowledge(id, who.actor)
          : spec.name === "unack"
            ? await deps.actions.unacknowledge(id, who.actor)
            : await deps.actions.resolve(id, who.actor);
      await audit(deps, who, spec.name, `#${id}`, true, { ok: r.ok });
      if (r.ok) deps.kick?.();
      return resultReply(r);
    }
    case "snooze": {
      const id = parseAlertId(argv[0]);
      const ms = parseSnooze(argv[1]);
      if (id === null || argv.length !== 2) return usage;
      if (ms === null) return privately(text("⚠️ Snooze for between 1m and 30d, e.g. 2h, 90m, 1d."));
      const r = await deps.actions.snooze(id, ms, who.actor);
      await audit(deps, who, "snooze", `#${id}`, true, { ok: r.ok, duration: argv[1] });
      if (r.ok) deps.kick?.();
      return resultReply(r);
    }
    case "silence": {
      const [target, dur, ...reasonParts] = argv;
      if (!target || !dur) return usage;
      const ms = parseDuration(dur);
      if (ms === null || ms < 60_000 || ms > MAX_SILENCE_MS) return privately(text("⚠️ Silence for between 1m and 90d, e.g. 2h or 3d."));
      const slash = target.indexOf("/");
      const metric = slash >= 0 ? target.slice(0, slash) : target;
      const series = slash >= 0 ? target.slice(slash + 1) : undefined;
      if (!metric || series === "") return usage;
      const reason = clipText(reasonParts.join(" "), 500);
      let s: Silence;
      try {
        s = await deps.actions.silence({ metric, ...(series !== undefined ? { series } : {}), durationMs: ms, reason, actor: who.actor });
      } catch (err) {
        if (err instanceof SilencePatternError) return privately(text(`⚠️ ${err.message}.`));
        throw err;
      }
      await audit(deps, who, "silence", target, true, { silence: s.id, duration: dur });
      return {
        lines: [
          text(
            `🔇 Silence #${s.id}: ${seriesLabel(metric, series ?? "")} for ${formatDuration(ms)} (until ${fmtTime(s.endsAt)})${reason ? ` — ${reason}` : ""}, by ${actorLabel(who.actor)}`,
          ),
        ],
        public: true,
      };
    }
    case "unsilence": {
      const id = parseAlertId(argv[0]);
      if (id === null || argv.length > 1) return usage;
      const removed = await deps.actions.unsilence(id);
      await audit(deps, who, "unsilence", `#${id}`, true, { ok: removed });
      return removed
        ? { lines: [text(`🔔 Silence #${id} removed by ${actorLabel(who.actor)}`)], public: true }
        : privately(text(`⚠️ No active silence #${id}.`));
    }
    case "digest": {
      await audit(deps, who, "digest", who.channel, true);
      if (!deps.digest) return privately(text("⚠️ The digest is not available in this process."));
      await deps.digest(who.channel);
      deps.kick?.();
      return { lines: [text("📬 Digest queued for this channel.")], public: true };
    }
    default:
      return usage;
  }
}

/** A button under an alert: the same authorisation, audit and actions as the commands. */
export async function runButton(deps: CommandDeps, who: Invoker, press: ButtonPress): Promise<{ ok: boolean; message: string }> {
  const action = press.action === "snooze" ? `snooze ${press.arg}` : press.action;
  if (!who.allowed) {
    await audit(deps, who, `button:${press.action}`, `#${press.alertId}`, false);
    deps.log.warn({ actor: who.actor, action, alert: press.alertId }, "chat button refused: user not allowed");
    return {
      ok: false,
      message: refusal(who)
        .lines[0]!.map((s) => s.text)
        .join(""),
    };
  }
  let r: ActionResult;
  if (press.action === "ack") r = await deps.actions.acknowledge(press.alertId, who.actor);
  else if (press.action === "unack") r = await deps.actions.unacknowledge(press.alertId, who.actor);
  else if (press.action === "resolve") r = await deps.actions.resolve(press.alertId, who.actor);
  else {
    const ms = parseDuration(press.arg ?? "");
    if (ms === null || ms <= 0 || ms > SNOOZE_MAX_MS) return { ok: false, message: "⚠️ Unknown snooze duration." };
    r = await deps.actions.snooze(press.alertId, ms, who.actor);
  }
  await audit(deps, who, `button:${press.action}`, `#${press.alertId}`, true, { ok: r.ok, ...(press.arg ? { arg: press.arg } : {}) });
  if (r.ok) deps.kick?.();
  return { ok: r.ok, message: r.ok ? `✅ ${r.message.replace(/ by (?:telegram|user|slack):\S+$/, "")}` : `⚠️ ${r.message}` };
}

const SEVERITY_ICON = { critical: "🔴", warning: "🟠", info: "🔵" } as const;
const STATE_WORD = { pending: "pending", firing: "firing", acknowledged: "acked", snoozed: "snoozed", resolved: "resolved" } as const;

async function statusReply(deps: CommandDeps): Promise<Reply> {
  const open = await deps.actions.status();
  const now = deps.clock.now();
  if (open.length === 0) return privately(text("✅ No open alerts."));
  const lines: Line[] = [[{ text: `${open.length} open alert${open.length === 1 ? "" : "s"}`, bold: true }]];
  let shown = 0;
  for (const sev of ["critical", "warning", "info"] as const) {
    const group = open.filter((a) => a.severity === sev);
    if (group.length === 0) continue;
    lines.push([{ text: `${SEVERITY_ICON[sev]} ${sev} (${group.length})`, bold: true }]);
    for (const a of group) {
      if (shown >= 40) break;
      shown++;
      const age = formatDuration(roundForHumans(Math.max(0, now - (a.firedAt ?? a.startedAt))));
      const extra =
        a.state === "snoozed" && a.snoozedUntil
          ? ` until ${fmtTime(a.snoozedUntil)}`
          : a.state === "acknowledged" && a.actedBy
            ? ` by ${actorLabel(a.actedBy)}`
            : "";
      lines.push([
        { text: `#${a.id}`, bold: true },
        { text: ` ${clipText(seriesLabel(a.metric, a.series), 120)} · ${STATE_WORD[a.state]}${extra} · ${age}` },
      ]);
    }
  }
  if (shown < open.length) lines.push(text(`… and ${open.length - shown} more`));
  return privately(...lines);
}

async function silencesReply(deps: CommandDeps): Promise<Reply> {
  const list = await deps.actions.silences();
  if (list.length === 0) return privately(text("No active silences."));
  return privately(
    [{ text: `${list.length} active silence${list.length === 1 ? "" : "s"}`, bold: true }],
    ...list.slice(0, 40).map(
      (s): Line => [
        { text: `#${s.id}`, bold: true },
        {
          text: ` ${clipText(s.seriesGlob === "*" ? s.metricGlob : `${s.metricGlob}/${s.seriesGlob}`, 120)} until ${fmtTime(s.endsAt)} by ${actorLabel(s.createdBy)}${s.reason ? ` — ${clipText(s.reason, 200)}` : ""}`,
        },
      ],
    ),
  );
}
