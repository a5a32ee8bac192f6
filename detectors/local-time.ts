/**
 * Local wall-clock time as "floating" epoch milliseconds: the local date and time in a zone, read as
 * if it were UTC (`localMs(t, "Europe/Berlin")` of 2026-03-29T12:00Z is 2026-03-29T14:00Z, because
 * it is 14:00 in Berlin). Slots of a day or week cut from floating time follow the clock on the
 * wall, so a daily pattern does not move by an hour at a DST change.
 *
 * Pure and cheap: each zone remembers the interval of instants around the last call in which its
 * UTC offset is constant (a zone changes offset at most a few times a year), so a call inside it is
 * a couple of comparisons; only a call outside it asks Intl, a few dozen times, for the next span.
 */

const MINUTE = 60_000;
const DAY = 86_400_000;
/** Offsets are probed this far apart when looking for a change (no zone changes twice in a week). */
const PROBE = 7 * DAY;
/** A span is not extended beyond this on either side of the instant asked about. */
const REACH = 366 * DAY;

/** Instants [from, to) in which the zone's offset (local − UTC, ms) is `offset`. */
interface Span {
  from: number;
  to: number;
  offset: number;
}

/** Zones that are UTC under another name: no span, no Intl. */
const UTC_NAMES = new Set(["UTC", "Etc/UTC", "Etc/GMT", "GMT", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu"]);

const formats = new Map<string, Intl.DateTimeFormat>();
const spans = new Map<string, Span>();
/** The zone and span of the last call: most callers ask about one zone, time after time. */
let lastZone = "";
let lastSpan: Span = { from: 0, to: 0, offset: 0 };

/** Whether `tz` is absent or UTC: local time is the instant itself. */
export function isUtc(tz: string | undefined): boolean {
  return tz === undefined || tz === "" || UTC_NAMES.has(tz);
}

/**
 * Local wall-clock time of instant `t` (epoch ms) in IANA zone `tz`, as floating epoch ms (= t plus
 * the zone's UTC offset at t). `tz` undefined or UTC returns `t`. Throws RangeError for an unknown zone.
 */
export function localMs(t: number, tz: string | undefined): number {
  if (tz === undefined || tz === "UTC" || !Number.isFinite(t)) return t;
  if (tz === lastZone && t >= lastSpan.from && t < lastSpan.to) return t + lastSpan.offset;
  return t + zoneSpan(t, tz).offset;
}

/**
 * The zone's UTC offset at instant `t`, in ms (local = utc + offset); 0 for UTC.
 */
export function offsetAt(t: number, tz: string | undefined): number {
  return localMs(t, tz) - t;
}

/**
 * The instant whose local wall-clock time in `tz` is `local` (floating epoch ms): the inverse of
 * localMs. A local time that occurs twice (DST ends) gives the earlier instant; one that does not
 * occur (DST starts) is read with the offset in force before the change, as PostgreSQL does, which
 * makes a midnight skipped by DST (America/Havana) the instant the day starts.
 */
export function utcMs(local: number, tz: string | undefined): number {
  if (isUtc(tz) || !Number.isFinite(local)) return local;
  // offsets lie within -12h..+14h, so the instant lies within local - 14h .. local + 12h
  const before = offsetAt(local - 14 * 3_600_000, tz);
  const after = offsetAt(local + 12 * 3_600_000, tz);
  const a = local - before;
  const b = local - after;
  const aOk = localMs(a, tz) === local;
  const bOk = localMs(b, tz) === local;
  if (aOk && bOk) return Math.min(a, b);
  if (bOk) return b;
  return a;
}

function zoneSpan(t: number, tz: string): Span {
  let span = spans.get(tz);
  if (!span || t < span.from || t >= span.to) {
    span = findSpan(t, tz);
    spans.set(tz, span);
  }
  lastZone = tz;
  lastSpan = span;
  return span;
}

/** The span of constant offset around t: probe a week at a time, then bisect to the minute. */
function findSpan(t: number, tz: string): Span {
  if (UTC_NAMES.has(tz)) return { from: Number.NEGATIVE_INFINITY, to: Number.POSITIVE_INFINITY, offset: 0 };
  const offset = intlOffset(t, tz);
  let to = t;
  while (to - t < REACH && intlOffset(to + PROBE, tz) === offset) to += PROBE;
  to = to - t >= REACH ? to : changeAfter(to, to + PROBE, tz, offset);
  let from = t;
  while (t - from < REACH && intlOffset(from - PROBE, tz) === offset) from -= PROBE;
  from = t - from >= REACH ? from : changeAfter(from - PROBE, from, tz, intlOffset(from - PROBE, tz));
  return { from, to, offset };
}

/** The first minute in (lo, hi] whose offset differs from `offset` (the one at lo); offsets change on whole minutes. */
function changeAfter(lo: number, hi: number, tz: string, offset: number): number {
  let a = Math.floor(lo / MINUTE);
  let b = Math.ceil(hi / MINUTE);
  while (b - a > 1) {
    const mid = Math.floor((a + b) / 2);
    if (intlOffset(mid * MINUTE, tz) === offset) a = mid;
    else b = mid;
  }
  return b * MINUTE;
}

function intlOffset(t: number, tz: string): number {
  let f = formats.get(tz);
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
    formats.set(tz, f);
  }
  let y = 0;
  let mo = 0;
  let d = 0;
  let h = 0;
  let mi = 0;
  let s = 0;
  for (const p of f.formatToParts(t)) {
    if (p.type === "year") y = Number(p.value);
    else if (p.type === "month") mo = Number(p.value);
    else if (p.type === "day") d = Number(p.value);
    else if (p.type === "hour") h = Number(p.value);
    else if (p.type === "minute") mi = Number(p.value);
    else if (p.type === "second") s = Number(p.value);
  }
  const local = Date.UTC(y, mo - 1, d, h, mi, s);
  return local - Math.floor(t / 1000) * 1000;
}

/** Why `tz` is not an IANA zone this runtime knows, or undefined when it is. */
export function zoneProblem(tz: string): string | undefined {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return undefined;
  } catch {
    return `unknown time zone '${tz}' (use an IANA name such as UTC or Europe/Berlin)`;
  }
}

/** Day of the week of a wall-clock time (floating ms): 0 = Monday (1970-01-01 was a Thursday). */
export function weekdayOf(local: number): number {
  return (((Math.floor(local / DAY) + 3) % 7) + 7) % 7;
}

/** "2026-03-29": the calendar date of a wall-clock time (floating ms). */
export function localDate(local: number): string {
  return new Date(local).toISOString().slice(0, 10);
}
