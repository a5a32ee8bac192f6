/**
 * When a series normally has rows: per slot of the day (hours) and of the week (hours or days), a
 * byte of presence bits, bit 0 for the current day or week and bits 1-7 for the ones before. A run
 * of empty buckets counts as missing data only where data is normally present, so nights and
 * weekends that never have rows raise nothing while a daytime outage still does. Step code only:
 * no schema library, no allocation per point.
 */
import { weekdayOf } from "./local-time.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
/** 1970-01-05, the first Monday after the epoch: weeks start on Monday. */
const MONDAY = 4 * DAY;
/** Earlier weeks and days a slot's presence is judged over. */
const WEEKS_KEPT = 4;
const DAYS_KEPT = 7;

/** Slot layout for a bucket size; null when buckets are too coarse for slots (a week or more). */
export interface PresenceLayout {
  /** Width of one slot: an hour below hourly buckets, the bucket from hourly up to a day. */
  slotMs: number;
  daySlots: number;
  weekSlots: number;
}

export function presenceLayout(granularityMs: number | undefined): PresenceLayout | null {
  if (granularityMs === undefined || !(granularityMs > 0) || granularityMs >= WEEK) return null;
  const slotMs = granularityMs >= DAY ? DAY : granularityMs <= HOUR ? HOUR : granularityMs;
  const daySlots = Math.max(1, Math.floor(DAY / slotMs));
  return { slotMs, daySlots, weekSlots: 7 * daySlots };
}

/** Numbers of a presence profile in its host's Float64Array, from `at`. */
const DAY_IDX = 0;
const WEEK_IDX = 1;
const DAYS_SEEN = 2;
const WEEKS_SEEN = 3;
export const PRESENCE_NUMBERS = 4;

export interface PresenceState {
  layout: PresenceLayout | null;
  /** Day slots from `bitsAt`, then week slots. */
  bits: Uint8Array;
  bitsAt: number;
  f: Float64Array;
  at: number;
}

export function presenceIn(layout: PresenceLayout | null, bits: Uint8Array, bitsAt: number, f: Float64Array, at: number): PresenceState {
  f[at + DAY_IDX] = Number.NaN;
  f[at + WEEK_IDX] = Number.NaN;
  f[at + DAYS_SEEN] = 0;
  f[at + WEEKS_SEEN] = 0;
  return { layout, bits, bitsAt, f, at };
}

/**
 * A profile for a series that had rows in every bucket from local time `from` up to `to`: what a
 * profile fed all those buckets would hold, without feeding them (a series that never had an empty
 * bucket needs no profile until its first one).
 */
function presenceSeed(s: PresenceState, from: number, to: number): void {
  const l = s.layout;
  if (l === null) return;
  const f = s.f;
  const at = s.at;
  const day = Math.floor(to / DAY);
  const week = Math.floor((to - MONDAY) / WEEK);
  const firstDay = Math.floor(from / DAY);
  const firstWeek = Math.floor((from - MONDAY) / WEEK);
  f[at + DAY_IDX] = day;
  f[at + WEEK_IDX] = week;
  f[at + DAYS_SEEN] = Math.min(DAYS_KEPT, Math.max(0, day - firstDay));
  f[at + WEEKS_SEEN] = Math.min(WEEKS_KEPT, Math.max(0, week - firstWeek));
  // bit k of a slot: the slot k days (weeks) ago had rows when it lay within [from, to)
  const fromDaySlot = daySlot(l, from);
  const toDaySlot = daySlot(l, to);
  for (let i = 0; i < l.daySlots; i++) {
    let b = 0;
    for (let k = 0; k < 8; k++) {
      const d = day - k;
      if (d < firstDay || (d === firstDay && i < fromDaySlot) || (k === 0 && i >= toDaySlot)) continue;
      b |= 1 << k;
    }
    s.bits[s.bitsAt + i] = b;
  }
  const fromWeekSlot = weekSlot(l, from);
  const toWeekSlot = weekSlot(l, to);
  for (let i = 0; i < l.weekSlots; i++) {
    let b = 0;
    for (let k = 0; k < 8; k++) {
      const w = week - k;
      if (w < firstWeek || (w === firstWeek && i < fromWeekSlot) || (k === 0 && i >= toWeekSlot)) continue;
      b |= 1 << k;
    }
    s.bits[s.bitsAt + l.daySlots + i] = b;
  }
}

/**
 * The profile of a series made at its first empty bucket (local time `to`), when every bucket since
 * its first row (`from`) had rows; its numbers in `f` at `at` (a host detector's), else its own.
 */
export function seededPresence(
  layout: PresenceLayout,
  from: number,
  to: number,
  f: Float64Array = new Float64Array(PRESENCE_NUMBERS),
  at = 0,
): PresenceState {
  const s = presenceIn(layout, new Uint8Array(layout.daySlots + layout.weekSlots), 0, f, at);
  presenceSeed(s, from, to);
  return s;
}

/** Set bits among the `n` earlier periods of a slot's byte. */
function earlier(b: number, n: number): number {
  let x = (b >> 1) & ((1 << n) - 1);
  let c = 0;
  while (x !== 0) {
    x &= x - 1;
    c++;
  }
  return c;
}

/** Move the slots' bytes on by `k` periods (the new current period starts empty). */
function shift(bits: Uint8Array, from: number, n: number, k: number): void {
  for (let i = from; i < from + n; i++) bits[i] = k >= 8 ? 0 : (bits[i]! << k) & 0xff;
}

/**
 * Bucket at local time `local` (wall-clock ms): was data normally present at this time before it?
 * Moves the profile to the bucket's day and week first; `record` then marks the bucket's rows.
 * Unknown (no full day seen yet, or no layout) counts as present only without a layout, where no
 * profile can be learned.
 */
export function presenceExpected(s: PresenceState, local: number): boolean {
  const l = s.layout;
  if (l === null) return true;
  const f = s.f;
  const at = s.at;
  const day = Math.floor(local / DAY);
  const week = Math.floor((local - MONDAY) / WEEK);
  const lastDay = f[at + DAY_IDX]!;
  if (Number.isNaN(lastDay)) {
    f[at + DAY_IDX] = day;
    f[at + WEEK_IDX] = week;
  } else {
    if (day > lastDay) {
      shift(s.bits, s.bitsAt, l.daySlots, day - lastDay);
      f[at + DAYS_SEEN] = Math.min(DAYS_KEPT, f[at + DAYS_SEEN]! + day - lastDay);
      f[at + DAY_IDX] = day;
    }
    const lastWeek = f[at + WEEK_IDX]!;
    if (week > lastWeek) {
      shift(s.bits, s.bitsAt + l.daySlots, l.weekSlots, week - lastWeek);
      f[at + WEEKS_SEEN] = Math.min(WEEKS_KEPT, f[at + WEEKS_SEEN]! + week - lastWeek);
      f[at + WEEK_IDX] = week;
    }
  }
  const days = f[at + DAYS_SEEN]!;
  const weeks = f[at + WEEKS_SEEN]!;
  const dayBits = s.bits[s.bitsAt + daySlot(l, local)]!;
  const dayPresent = days > 0 && 2 * earlier(dayBits, days) > days;
  // before a week is known, the days seen speak for the others; a weekend day only by a weekend day with rows
  if (weeks === 0) return l.daySlots > 1 && (weekendDay(day) ? weekendHadRows(dayBits, day, days) : dayPresent);
  const w = earlier(s.bits[s.bitsAt + l.daySlots + weekSlot(l, local)]!, weeks);
  return w > 0 && 2 * w >= weeks && (l.daySlots === 1 || dayPresent);
}

/** Is local day number `day` a Saturday or a Sunday? */
function weekendDay(day: number): boolean {
  return weekdayOf(day * DAY) >= 5;
}

/** Did this slot have rows on a weekend day among the `days` before `day` (bit k: k days ago)? */
function weekendHadRows(bits: number, day: number, days: number): boolean {
  for (let k = 1; k <= days; k++) if (weekendDay(day - k) && ((bits >> k) & 1) === 1) return true;
  return false;
}

/** The bucket at `local` had rows: mark its slots present for the current day and week. */
export function presenceRecord(s: PresenceState, local: number): void {
  const l = s.layout;
  if (l === null) return;
  const d = s.bitsAt + daySlot(l, local);
  const w = s.bitsAt + l.daySlots + weekSlot(l, local);
  s.bits[d] = s.bits[d]! | 1;
  s.bits[w] = s.bits[w]! | 1;
}

function daySlot(l: PresenceLayout, local: number): number {
  const r = local - Math.floor(local / DAY) * DAY;
  return Math.min(l.daySlots - 1, Math.floor(r / l.slotMs));
}

function weekSlot(l: PresenceLayout, local: number): number {
  const x = local - MONDAY;
  const r = x - Math.floor(x / WEEK) * WEEK;
  return Math.min(l.weekSlots - 1, Math.floor(r / l.slotMs));
}
