/**
 * A metric's calendar: which buckets are judged. Buckets outside the judged days and hours, and on
 * holidays, are neither judged nor learned from nor counted as missing data. Days and hours are
 * local to the config's `timezone`, read off each bucket's wall-clock time in the zone its bucket
 * times are instants of (`detectorZone`; local-day buckets are already wall-clock dates).
 */
import { localMs, weekdayOf } from "../../detectors/local-time.js";
import type { MetricConfig } from "../config/types.js";
import { countriesOfZone, publicHolidays, stateHolidays } from "../holidays.js";
import { detectorZone } from "../sources/bucket-clock.js";

const MINUTE = 60_000;
const DAY = 86_400_000;

/** Day number (floating days since the epoch) of a "YYYY-MM-DD" date. */
function dayOf(date: string): number {
  return Math.floor(Date.parse(`${date}T00:00:00Z`) / DAY);
}

/** The holiday days (day numbers) of the calendar over the local years from `first` to `last`. */
function holidayDays(h: NonNullable<NonNullable<MetricConfig["calendar"]>["holidays"]>, first: number, last: number): Set<number> {
  const days = new Set(h.dates.map(dayOf));
  if (h.country !== undefined) {
    const y0 = new Date(first).getUTCFullYear();
    const y1 = new Date(last).getUTCFullYear();
    for (let y = y0; y <= y1; y++) for (const d of publicHolidays(h.country, h.state, y)) days.add(dayOf(d));
  }
  return days;
}

/**
 * Per bucket of [from, from + buckets * g): 1 where the calendar leaves it out. null when every
 * bucket is judged.
 */
export function offBuckets(
  m: Pick<MetricConfig, "calendar" | "granularityMs" | "source" | "timezone">,
  from: number,
  buckets: number,
): Uint8Array | null {
  const cal = m.calendar;
  if (cal === null || buckets <= 0) return null;
  const g = m.granularityMs;
  const zone = detectorZone(m);
  const out = new Uint8Array(buckets);
  const days = new Uint8Array(7);
  for (const d of cal.days) days[d] = 1;
  const holidays = cal.holidays === null ? null : holidayDays(cal.holidays, localMs(from, zone), localMs(from + (buckets - 1) * g, zone));
  let someOff = false;
  for (let b = 0; b < buckets; b++) {
    const l = localMs(from + b * g, zone);
    const day = Math.floor(l / DAY);
    let off = days[weekdayOf(l)] === 0 || holidays?.has(day) === true;
    if (!off && cal.hours && g < DAY) {
      const minute = Math.floor((l - day * DAY) / MINUTE);
      const { from: a, to: z } = cal.hours;
      off = a < z ? minute < a || minute >= z : minute < a && minute >= z;
    }
    if (off) {
      out[b] = 1;
      someOff = true;
    }
  }
  return someOff ? out : null;
}

/** `dayKinds`' marks: a weekday, a Saturday or Sunday, a public holiday on a weekday. */
/** No day kinds for these buckets (dayKinds gave null): nothing to learn about weekends or holidays. */
export const NO_DAY_KIND = -1;
export const WEEKDAY = 0;
export const WEEKEND = 1;
export const HOLIDAY = 2;
/** A public holiday in part of the zone only: a state's (England's August bank holiday) or one of its countries'. */
export const REGIONAL = 3;

/** Per local year, the day numbers that are `HOLIDAY` (common to every country whose time zones include `zone`) or `REGIONAL` (a holiday of any of them, or of any of their states). */
const impliedByZone = new Map<string, Map<number, number>>();
function impliedHoliday(zone: string, countries: readonly string[], day: number, year: number): number {
  const key = `${zone}/${year}`;
  let days = impliedByZone.get(key);
  if (!days) {
    const sets = countries.map((c) => publicHolidays(c, undefined, year));
    days = new Map();
    for (const c of countries)
      for (const d of [...publicHolidays(c, undefined, year), ...stateHolidays(c, year)]) days.set(dayOf(d), REGIONAL);
    for (const d of sets[0]!) if (sets.every((x) => x.has(d))) days.set(dayOf(d), HOLIDAY);
    impliedByZone.set(key, days);
  }
  return days.get(day) ?? WEEKDAY;
}

let lastKinds: { key: string; kinds: Uint8Array | null } = { key: "", kinds: null };

/**
 * Per bucket of [from, from + buckets * g): whether its local day is a weekday, a weekend day, a
 * public holiday of the country the metric's `timezone` lies in, or one of part of it only
 * (`WEEKDAY`, `WEEKEND`, `HOLIDAY`, `REGIONAL`).
 * A series that has no rows on weekends has none on those holidays either (bucket-feed.ts), which
 * an operator should not have to configure. null when nothing is implied: the metric names its
 * holidays itself, its zone lies in no country, or the buckets hold no weekend or holiday.
 */
export function dayKinds(
  m: Pick<MetricConfig, "calendar" | "granularityMs" | "source" | "timezone">,
  from: number,
  buckets: number,
): Uint8Array | null {
  if (m.calendar?.holidays != null || buckets <= 0) return null;
  // the zone names the country; the bucket times are read in the zone they are instants of (local-day buckets are wall-clock dates)
  const zone = m.timezone;
  const countries = zone === undefined || zone === "" ? [] : countriesOfZone(zone);
  if (zone === undefined || countries.length === 0) return null;
  const clock = detectorZone(m);
  const g = m.granularityMs;
  // metrics of one scan share their windows: the last answer is asked for again, metric after metric
  const key = `${zone} ${clock ?? ""} ${from} ${buckets} ${g}`;
  if (lastKinds.key === key) return lastKinds.kinds;
  const out = new Uint8Array(buckets);
  let some = false;
  for (let b = 0; b < buckets; b++) {
    const l = localMs(from + b * g, clock);
    const wd = weekdayOf(l);
    const day = Math.floor(l / DAY);
    const kind = wd >= 5 ? WEEKEND : impliedHoliday(zone, countries, day, new Date(l).getUTCFullYear());
    out[b] = kind;
    if (kind !== WEEKDAY) some = true;
  }
  lastKinds = { key, kinds: some ? out : null };
  return lastKinds.kinds;
}
