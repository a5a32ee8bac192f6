/** Turns any HTTP outcome or network failure into a DeliveryError with a readable message. */
import { DeliveryError } from "./notifier.js";

/** Retry-After is either delta-seconds or an HTTP date. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const secs = Number(header);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export function httpStatusError(what: string, status: number, body: string, retryAfter: string | null): DeliveryError {
  const snippet = body.replace(/\s+/g, " ").slice(0, 200);
  const retryAfterMs = parseRetryAfter(retryAfter);
  // 408 and 429 are worth retrying; other 4xx mean the request itself is wrong.
  const permanent = status >= 400 && status < 500 && status !== 408 && status !== 429;
  return new DeliveryError(`${what}: HTTP ${status}${snippet ? ` — ${snippet}` : ""}`, { status, permanent, retryAfterMs });
}

/** A 3xx: redirects are not followed, so the delivery is retried until the url is corrected. */
export function redirectError(what: string, status: number, location: string | null): DeliveryError {
  const to = location ? ` to ${location.split("?")[0]}` : "";
  return new DeliveryError(`${what}: HTTP ${status} redirect${to} not followed; set the channel's url to the final address`, { status });
}

export function networkError(what: string, err: unknown): DeliveryError {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  const detail =
    e?.name === "TimeoutError" || e?.name === "AbortError"
      ? "timed out"
      : (e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err));
  return new DeliveryError(`${what}: ${detail}`);
}
