/**
 * A metric's calendar: which buckets are judged. Buckets outside the judged days and hours, and on
 * holidays, are neither judged nor learned from nor counted as missing data. Days and hours are
 * local to the config's `timezone`, read off each bucket's wall-clock time in the zone its bucket
 * times are instants of (`detectorZone`; local-day buckets are already wall-clock dates).
 */
import { localMs, weekdayOf } from "../../detectors/local-time.js";
import type { MetricConfig } from "../config/types.js";
import { publicHolidays } from "../holidays.js";
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
