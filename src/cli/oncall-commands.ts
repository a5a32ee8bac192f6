/**
 * `vigil ack|unack|resolve ID` and `vigil snooze ID DURATION`: what the chat buttons do, from the
 * shell. The change goes through AlertActions (same transitions and refusals, same history, same
 * chat updates queued in the outbox for the running daemon to send) and is audited as `cli:<user>`.
 */
import type { Command, Option } from "commander";
import { type ActionResult, type AlertActions, parseAlertId, parseSnooze } from "../actions.js";
import { errorText } from "../log.js";
import { auditCli, cliActor } from "./cli-actor.js";
import { withState } from "./state-access.js";

export type OncallAction = { name: "ack" | "unack" | "resolve" } | { name: "snooze"; duration: string };

function perform(actions: AlertActions, id: number, action: OncallAction, snoozeMs: number, actor: string): Promise<ActionResult> {
  switch (action.name) {
    case "ack":
      return actions.acknowledge(id, actor);
    case "unack":
      return actions.unacknowledge(id, actor);
    case "resolve":
      return actions.resolve(id, actor);
    case "snooze":
      return actions.snooze(id, snoozeMs, actor);
  }
}

/** Exit 0 when done, 1 when refused (no such alert, wrong state) or the database failed, 2 on bad arguments. */
export async function oncallCommand(
  configPath: string,
  idText: string,
  action: OncallAction,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const fail = (code: number, message: string): number => {
    process.stderr.write(`vigil ${action.name}: ${message}\n`);
    return code;
  };
  const id = parseAlertId(idText);
  if (id === null) return fail(2, `not an alert id: '${idText}' (see vigil alerts)`);
  let snoozeMs = 0;
  if (action.name === "snooze") {
    const ms = parseSnooze(action.duration);
    if (ms === null) return fail(2, `snooze for between 1m and 30d, e.g. 2h, 90m, 1d (got '${action.duration}')`);
    snoozeMs = ms;
  }
  const actor = cliActor(env);
  try {
    const r = await withState(
      configPath,
      async ({ store, actions }) => {
        const result = await perform(actions, id, action, snoozeMs, actor);
        const detail = { ok: result.ok, ...(action.name === "snooze" ? { duration: action.duration } : {}) };
        await auditCli(store, { actor, action: action.name, target: `#${id}`, detail });
        return result;
      },
      env,
    );
    if (!r.ok) return fail(1, r.message);
    const queued = r.channels.length > 0 ? `; update queued for ${r.channels.join(", ")} (the running daemon sends it)` : "";
    process.stdout.write(`${r.message}${queued}\n`);
    return 0;
  } catch (err) {
    return fail(1, errorText(err));
  }
}

export function registerOncallCommands(program: Command, configOpt: () => Option, setExit: (code: number) => void): void {
  const simple = [
    { name: "ack", description: "acknowledge an alert, as the chat's Acknowledge button (audited as cli:<OS user>)" },
    { name: "unack", description: "unacknowledge an alert: it is firing again" },
    { name: "resolve", description: "resolve an alert by hand" },
  ] as const;
  for (const c of simple) {
    program
      .command(c.name)
      .description(c.description)
      .argument("<id>", "alert id (as in vigil alerts, with or without #)")
      .addOption(configOpt())
      .action(async (id: string, o: { config: string }) => setExit(await oncallCommand(o.config, id, { name: c.name })));
  }
  program
    .command("snooze")
    .description("snooze an alert: quiet until the time is up, then firing again")
    .argument("<id>", "alert id (as in vigil alerts, with or without #)")
    .argument("<duration>", "from 1m to 30d, e.g. 1h, 90m, 1d")
    .addOption(configOpt())
    .action(async (id: string, duration: string, o: { config: string }) =>
      setExit(await oncallCommand(o.config, id, { name: "snooze", duration })),
    );
}
