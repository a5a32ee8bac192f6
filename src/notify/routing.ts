/** Which channels an alert goes to: the metric's `notify` plus the per-severity channels in `defaults`. */
import type { VigilConfig } from "../config/types.js";
import type { Severity } from "../model/alert.js";

export function channelsFor(config: VigilConfig, notify: readonly string[], severity: Severity): string[] {
  const out = new Set(notify);
  for (const c of config.defaults.severity_channels[severity] ?? []) out.add(c);
  return [...out].filter((c) => c in config.channels);
}

/** Whether a channel wants to hear that an alert resolved. */
export function sendsResolved(config: VigilConfig, channel: string): boolean {
  const c = config.channels[channel];
  return !c || c.type === "console" ? true : c.send_resolved;
}
