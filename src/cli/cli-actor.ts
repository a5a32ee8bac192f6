/**
 * Who acts from the shell, as alert history and the audit log record it: `cli:<OS user>`, next to
 * the chat's `telegram:@alice` and `slack:U0123`.
 */
import { hostname, userInfo } from "node:os";
import { errorText } from "../log.js";
import type { StateStore } from "../store/state-store.js";

export function osUserName(env: NodeJS.ProcessEnv = process.env): string {
  try {
    const name = userInfo().username;
    if (name) return name;
  } catch {
    // a uid without a passwd entry (some containers): the environment is all there is
  }
  return env.USER || env.LOGNAME || "unknown";
}

export function cliActor(env: NodeJS.ProcessEnv = process.env): string {
  return `cli:${osUserName(env)}`;
}

/** One audit row for a command run from the shell, as the chat writes one for each command. */
export async function auditCli(
  store: StateStore,
  entry: { actor: string; action: string; target: string; detail?: Record<string, unknown> },
  stderr: { write(text: string): unknown } = process.stderr,
): Promise<void> {
  try {
    await store.audit({
      at: Date.now(),
      actor: entry.actor,
      action: entry.action,
      target: entry.target,
      allowed: true,
      detail: { platform: "cli", host: hostname(), ...entry.detail },
    });
  } catch (err) {
    // The change stands (it is committed); say that its audit row is missing rather than hide it.
    stderr.write(
      `vigil: warning: ${entry.action} ${entry.target} is done, but its audit log row could not be written: ${errorText(err)}\n`,
    );
  }
}
