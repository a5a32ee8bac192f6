/** Calendar days in a timezone, for "yesterday" in the digest. */
import { utcMs } from "../../detectors/local-time.js";

const fmts = new Map<string, Intl.DateTimeFormat>();

function fmt(tz: string): Intl.DateTimeFormat {
  let f = fmts.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    fmts.set(tz, f);
  }
  return f;
}

function localParts(t: number, tz: string): { y: number; m: number; d: number; h: number; min: number; s: number } {
  const p: Record<string, number> = {};
  for (const x of fmt(tz).formatToParts(t)) if (x.type !== "literal") p[x.type] = Number(x.value);
  return { y: p.year!, m: p.month!, d: p.day!, h: p.hour!, min: p.minute!, s: p.second! };
}

/** Offset of `tz` from UTC at instant `t`, in ms (local = utc + offset). */
export function zoneOffset(t: number, tz: string): number {
  const p = localParts(t, tz);
  return Date.UTC(p.y, p.m - 1, p.d, p.h, p.min, p.s) - Math.floor(t / 1000) * 1000;
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
