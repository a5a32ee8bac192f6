/**
 * Mute windows (`mute: [{cron: "0 2 * * *", duration: 1h}]`): notifications are held back from each
 * time the cron expression fires until `duration` later, in the config's timezone. Alerts still
 * change state; only the messages are muted.
 */
import { parse } from "node-cron";
import type { MuteWindow } from "../config/types.js";

interface Matcher {
  minute: Set<number>;
  hour: Set<number>;
  dayOfMonth: Set<number>;
  month: Set<number>;
  dayOfWeek: Set<number>;
}

const DOW: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };

function toNumbers(xs: readonly (number | string)[], names: Record<string, number> = {}): Set<number> {
  return new Set(xs.map((x) => (typeof x === "number" ? x : (names[x.toLowerCase()] ?? Number(x)))).map((n) => (n === 7 ? 0 : n)));
}

const cache = new Map<string, Matcher>();

function matcherFor(cron: string): Matcher {
  let m = cache.get(cron);
  if (!m) {
    const f = parse(cron);
    m = {
      minute: new Set(f.minute),
      hour: new Set(f.hour),
      dayOfMonth: toNumbers(f.dayOfMonth),
      month: new Set(f.month),
      dayOfWeek: toNumbers(f.dayOfWeek, DOW),
    };
    cache.set(cron, m);
  }
  return m;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Wall-clock parts of `t` in `timeZone`. */
function parts(t: number, timeZone: string) {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      minute: "numeric",
      hour: "numeric",
      day: "numeric",
      month: "numeric",
      weekday: "short",
    });
    formatters.set(timeZone, f);
  }
  const out = { minute: 0, hour: 0, day: 0, month: 0, weekday: 0 };
  for (const p of f.formatToParts(t)) {
    if (p.type === "minute") out.minute = Number(p.value);
    else if (p.type === "hour") out.hour = Number(p.value);
    else if (p.type === "day") out.day = Number(p.value);
    else if (p.type === "month") out.month = Number(p.value);
    else if (p.type === "weekday") out.weekday = DOW[p.value.toLowerCase()] ?? 0;
  }
  return out;
}

/** Whether the cron expression fires at the minute containing `t` (seconds ignored). */
export function cronMatchesMinute(cron: string, t: number, timeZone: string): boolean {
  const m = matcherFor(cron);
  const p = parts(t, timeZone);
  return m.minute.has(p.minute) && m.hour.has(p.hour) && m.dayOfMonth.has(p.day) && m.month.has(p.month) && m.dayOfWeek.has(p.weekday);
}

/** The window that mutes notifications at `now`, if any. */
export function activeMute(windows: readonly MuteWindow[], now: number, timeZone: string): MuteWindow | undefined {
  const minute = Math.floor(now / 60_000) * 60_000;
  for (const w of windows) {
    // Walk back minute by minute over the window's length: a fire time in (now - duration, now] mutes now.
    const steps = Math.ceil(w.durationMs / 60_000);
    for (let k = 0; k < steps; k++) if (cronMatchesMinute(w.cron, minute - k * 60_000, timeZone)) return w;
  }
  return undefined;
}
