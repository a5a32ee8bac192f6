/** pino, with every secret-bearing key redacted wherever it appears (tokens, auth headers, DB URLs). */
import { type Logger, pino } from "pino";

export type { Logger } from "pino";

const SECRET_KEYS = ["token", "app_token", "authorization", "Authorization", "headers", "password", "secret"];

function redactPaths(): string[] {
  const out: string[] = [];
  for (const k of SECRET_KEYS) out.push(k, `*.${k}`, `*.*.${k}`, `*.*.*.${k}`);
  return out;
}

/** Strip a password from a connection URL before it is shown anywhere. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@/]*@/, "$1***@").replace(/([?&](?:password|sslpassword)=)[^&]*/gi, "$1***");
}

/** An error's message (or the thrown value as text) with secrets scrubbed: what logs and reports show. */
export function errorText(err: unknown): string {
  return scrubSecrets(err instanceof Error ? err.message : String(err));
}

/** Also scrub bot tokens embedded in URLs (api.telegram.org/bot<TOKEN>/...) from messages. */
export function scrubSecrets(text: string): string {
  return redactUrl(text)
    .replace(/bot\d+:[A-Za-z0-9_-]{20,}/g, "bot***")
    .replace(/xox[abpr]-[A-Za-z0-9-]+/g, "xox*-***")
    .replace(/xapp-[A-Za-z0-9-]+/g, "xapp-***");
}

export function createLogger(opts: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  const level = opts.level ?? process.env.LOG_LEVEL ?? "info";
  const options = {
    level,
    base: { service: "vigil" },
    redact: { paths: redactPaths(), censor: "[redacted]" },
    formatters: { level: (label: string) => ({ level: label }) },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  // Logs go to stderr: stdout belongs to the console channel and to command output.
  return pino(options, opts.destination ?? pino.destination(2));
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
