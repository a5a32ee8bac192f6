/**
 * A metric's calendar: which buckets are judged. Buckets outside the judged days and hours, and on
 * holidays, are neither judged nor learned from nor counted as missing data. Days and hours are
 * local to the config's `timezone`; a bucket of a day or longer is the calendar day it is labelled
 * with.
 */
import { createRequire } from "node:module";
import type { MetricCalendar } from "../config/types.js";
import { localMs } from "../../detectors/local-time.js";

const MINUTE = 60_000;
const DAY = 86_400_000;

interface HolidayApi {
  getHolidays(year: number): Array<{ date: string; type: string }>;
}
type HolidaysCtor = new (country: string, state?: string) => HolidayApi;

let ctor: HolidaysCtor | null = null;
const byYear = new Map<string, ReadonlySet<string>>();

/** Public holidays of a country (and state) in a year, as local dates "YYYY-MM-DD". */
export function publicHolidays(country: string, state: string | undefined, year: number): ReadonlySet<string> {
  const key = `${country}/${state ?? ""}/${year}`;
  let set = byYear.get(key);
  if (!set) {
    // loaded on first use: its data is megabytes, and most configs name no country
    ctor ??= createRequire(import.meta.url)("date-holidays") as HolidaysCtor;
    const hd = state ? new ctor(country, state) : new ctor(country);
    set = new Set(
      hd
        .getHolidays(year)
        .filter((h) => h.type === "public")
        .map((h) => h.date.slice(0, 10)),
    );
    byYear.set(key, set);
  }
  return set;
}

function isoDate(local: number): string {
  return new Date(local).toISOString().slice(0, 10);
}

/**
 * Per bucket of [from, from + buckets * g): 1 where the calendar leaves it out. null when every
 * bucket is judged.
 */
export function offBuckets(cal: MetricCalendar | null, from: number, g: number, buckets: number): Uint8Array | null {
  if (cal === null || buckets <= 0) return null;
  const out = new Uint8Array(buckets);
  const zone = g >= DAY ? undefined : cal.timezone;
  const days = new Uint8Array(7);
  for (const d of cal.days) days[d] = 1;
  const dates = new Set(cal.holidays?.dates ?? []);
  let any = false;
  for (let b = 0; b < buckets; b++) {
    const l = localMs(from + b * g, zone);
    // 1970-01-01 was a Thursday: day 0 = Monday
    const weekday = (((Math.floor(l / DAY) + 3) % 7) + 7) % 7;
    let off = days[weekday] === 0;
    if (!off && cal.hours && g < DAY) {
      const minute = Math.floor((l - Math.floor(l / DAY) * DAY) / MINUTE);
      const { from: a, to: z } = cal.hours;
      off = a < z ? minute < a || minute >= z : minute < a && minute >= z;
    }
    if (!off && cal.holidays) {
      const date = isoDate(l);
      off = dates.has(date) || (cal.holidays.country !== undefined && publicHolidays(cal.holidays.country, cal.holidays.state, Number(date.slice(0, 4))).has(date));
    }
    if (off) {
      out[b] = 1;
      any = true;
    }
  }
  return any ? out : null;
}
