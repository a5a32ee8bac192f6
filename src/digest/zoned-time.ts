/** Calendar days in a timezone, for "yesterday" in the digest. */
import { localMs, utcMs } from "../../detectors/local-time.js";

/** The local calendar date of instant `t` in `tz`, read off its wall-clock time (detectors/local-time.ts). */
function localParts(t: number, tz: string): { y: number; m: number; d: number } {
  const local = new Date(localMs(t, tz));
  return { y: local.getUTCFullYear(), m: local.getUTCMonth() + 1, d: local.getUTCDate() };
}

/**
 * The instant the given calendar day starts in `tz` (DST-safe; where DST skips midnight, as in
 * America/Havana, the instant of the change): the same start as the metrics' local-day buckets.
 */
export function zonedMidnight(y: number, m: number, d: number, tz: string): number {
  return utcMs(Date.UTC(y, m - 1, d), tz);
}

/** Start of the local calendar day `daysAgo` days before the day containing `now`. */
export function dayStart(now: number, tz: string, daysAgo = 0): number {
  const p = localParts(now, tz);
  const base = new Date(Date.UTC(p.y, p.m - 1, p.d - daysAgo));
  return zonedMidnight(base.getUTCFullYear(), base.getUTCMonth() + 1, base.getUTCDate(), tz);
}

/** "Sat 21 Nov 2026" for the local day starting at `t`. */
export function dayLabel(t: number, tz: string): string {
  return new Intl.DateTimeFormat("en-GB", { timeZone: tz, weekday: "short", day: "numeric", month: "short", year: "numeric" })
    .format(t)
    .replace(",", "");
}

/** "2026-11-21": the local date, for idempotency keys. */
export function dayKey(t: number, tz: string): string {
  const p = localParts(t, tz);
  return `${p.y}-${String(p.m).padStart(2, "0")}-${String(p.d).padStart(2, "0")}`;
}
