/**
 * The Slack Web API client as vigil uses it: pointed at `slack.api_url` when set, no retries of
 * its own (the outbox retries and honours Retry-After without blocking other channels), rate
 * limits surfaced as errors, library logs routed into pino. Also maps Slack failures to
 * DeliveryErrors.
 */
import {
  LogLevel,
  type Logger as SlackLogger,
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebAPIRequestError,
  WebClient,
} from "@slack/web-api";
import type { Logger } from "../src/log.js";
import { scrubSecrets } from "../src/log.js";
import { DeliveryError } from "./notifier.js";

/** `https://slack.com/api/` shape: the client appends the method name to it. */
export function slackApiUrl(apiUrl: string | undefined): string | undefined {
  if (!apiUrl) return undefined;
  return apiUrl.endsWith("/") ? apiUrl : `${apiUrl}/`;
}

const LEVELS = [LogLevel.DEBUG, LogLevel.INFO, LogLevel.WARN, LogLevel.ERROR];

/** @slack/logger's interface over pino: the SDK's chatter at debug, its problems at warn. */
export function slackLogger(log: Logger): SlackLogger {
  let level = LogLevel.WARN;
  const text = (msg: unknown[]) => scrubSecrets(msg.map((m) => (typeof m === "string" ? m : JSON.stringify(m))).join(" "));
  const at = (l: LogLevel) => LEVELS.indexOf(l) >= LEVELS.indexOf(level);
  return {
    debug: (...msg: unknown[]) => at(LogLevel.DEBUG) && log.debug({ lib: "slack" }, text(msg)),
    info: (...msg: unknown[]) => at(LogLevel.INFO) && log.debug({ lib: "slack" }, text(msg)),
    warn: (...msg: unknown[]) => at(LogLevel.WARN) && log.warn({ lib: "slack" }, text(msg)),
    error: (...msg: unknown[]) => at(LogLevel.ERROR) && log.error({ lib: "slack" }, text(msg)),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}

export function slackWebClient(token: string, apiUrl: string | undefined, log: Logger, timeoutMs = 30_000): WebClient {
  const url = slackApiUrl(apiUrl);
  return new WebClient(token, {
    ...(url ? { slackApiUrl: url } : {}),
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: timeoutMs,
    logger: slackLogger(log),
  });
}

/** Slack error codes that mean "try again later" rather than "this request is wrong". */
const RETRYABLE = new Set(["internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited", "rate_limited"]);

export function slackErrorCode(err: unknown): string | undefined {
  return err instanceof WebAPIPlatformError ? err.data.error : undefined;
}

export function slackDeliveryError(what: string, err: unknown): DeliveryError {
  if (err instanceof DeliveryError) return err;
  if (err instanceof WebAPIRateLimitedError) {
    return new DeliveryError(`${what}: rate limited (retry after ${err.retryAfter}s)`, {
      status: 429,
      retryAfterMs: err.retryAfter * 1000,
    });
  }
  if (err instanceof WebAPIHTTPError) {
    const permanent = err.statusCode >= 400 && err.statusCode < 500 && err.statusCode !== 408;
    return new DeliveryError(`${what}: HTTP ${err.statusCode} ${err.statusMessage}`, { status: err.statusCode, permanent });
  }
  if (err instanceof WebAPIPlatformError) {
    const code = err.data.error;
    const detail = Array.isArray((err.data as { errors?: unknown }).errors)
      ? ` ${JSON.stringify((err.data as { errors?: unknown }).errors).slice(0, 300)}`
      : "";
    return new DeliveryError(`${what}: ${code}${detail}`, { permanent: !RETRYABLE.has(code) });
  }
  if (err instanceof WebAPIRequestError) {
    const o = err.original as { name?: string; message?: string; cause?: { code?: string } };
    const detail = o.name === "TimeoutError" || o.name === "AbortError" ? "timed out" : (o.cause?.code ?? o.message ?? "request failed");
    return new DeliveryError(`${what}: ${detail}`);
  }
  return new DeliveryError(`${what}: ${scrubSecrets(err instanceof Error ? err.message : String(err))}`);
}
