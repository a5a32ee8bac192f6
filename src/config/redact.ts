/**
 * A view of the resolved config that is safe to log: tokens, header values and URL credentials
 * never appear. Webhook URLs keep only their origin, since services like Slack put the secret in the path.
 */
import type { VigilConfig } from "./types.js";

const REDACTED = "[redacted]";

/** `postgres://user:secret@db:5432/app?password=x` -> `postgres://user:***@db:5432/app`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    u.search = "";
    u.hash = "";
    return u.toString();
  } catch {
    return REDACTED;
  }
}

function originOnly(url: string): string {
  try {
    return `${new URL(url).origin}/…`;
  } catch {
    return REDACTED;
  }
}

export interface RedactedConfigSummary {
  file: string;
  database: { url: string; state_url?: string };
  timezone: string;
  http: { host: string; port: number };
  telegram?: { token: string; api_url?: string; allowed_users: number };
  slack?: { token: string; app_token?: string; api_url?: string; allowed_users: number };
  channels: Record<string, Record<string, unknown>>;
  metrics: string[];
  experiments: string[];
  digests: number;
}

export function redactedConfigSummary(config: VigilConfig): RedactedConfigSummary {
  const channels: Record<string, Record<string, unknown>> = {};
  for (const [name, ch] of Object.entries(config.channels)) {
    switch (ch.type) {
      case "console":
        channels[name] = { type: ch.type };
        break;
      case "telegram":
        channels[name] = { type: ch.type, chat_id: ch.chat_id };
        break;
      case "slack":
        channels[name] = { type: ch.type, channel: ch.channel };
        break;
      case "webhook":
        channels[name] = { type: ch.type, url: originOnly(ch.url), headers: Object.keys(ch.headers) };
        break;
    }
  }
  const out: RedactedConfigSummary = {
    file: config.file,
    database: { url: config.database.url ? redactUrl(config.database.url) : "embedded PGlite" },
    timezone: config.timezone,
    http: { host: config.http.host, port: config.http.port },
    channels,
    metrics: config.metrics.map((m) => m.name),
    experiments: config.experiments.map((e) => e.name),
    digests: config.digest.length,
  };
  if (config.database.state_url) out.database.state_url = redactUrl(config.database.state_url);
  if (config.telegram) {
    out.telegram = { token: REDACTED, allowed_users: config.telegram.allowed_users.length };
    if (config.telegram.api_url) out.telegram.api_url = redactUrl(config.telegram.api_url);
  }
  if (config.slack) {
    out.slack = { token: REDACTED, allowed_users: config.slack.allowed_users.length };
    if (config.slack.app_token) out.slack.app_token = REDACTED;
    if (config.slack.api_url) out.slack.api_url = redactUrl(config.slack.api_url);
  }
  return out;
}
