/**
 * Public holidays by country, from the date-holidays library: the one place that loads it, on
 * first use (its data is megabytes, and most configs name no country).
 */
import { createRequire } from "node:module";

interface HolidaysApi {
  getHolidays(year: number): Array<{ date: string; type: string }>;
  getCountries(): Record<string, string>;
  getStates(country: string): Record<string, string> | undefined;
  getTimezones(): string[] | undefined;
}
type HolidaysCtor = new (country?: string, state?: string) => HolidaysApi;

let ctor: HolidaysCtor | null = null;

function library(): HolidaysCtor {
  ctor ??= createRequire(import.meta.url)("date-holidays") as HolidaysCtor;
  return ctor;
}

const byYear = new Map<string, ReadonlySet<string>>();

/** Public holidays of a country (and state) in a year, as local dates "YYYY-MM-DD". */
export function publicHolidays(country: string, state: string | undefined, year: number): ReadonlySet<string> {
  const key = `${country}/${state ?? ""}/${year}`;
  let set = byYear.get(key);
  if (!set) {
    const Holidays = library();
    const hd = state ? new Holidays(country, state) : new Holidays(country);
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

/** Public holidays of any state of a country in a year (a state's holidays are its country's and its own). */
export function stateHolidays(country: string, year: number): ReadonlySet<string> {
  const key = `${country}/*/${year}`;
  let set = byYear.get(key);
  if (!set) {
    const states = Object.keys(new (library())().getStates(country) ?? {});
    set = new Set(states.flatMap((st) => [...publicHolidays(country, st, year)]));
    byYear.set(key, set);
  }
  return set;
}

/** Why a country (and state) is not one the library knows, or undefined when it is. */
export function holidayCountryProblem(code: string, state?: string): string | undefined {
  const hd = new (library())();
  if (!(code.toUpperCase() in hd.getCountries())) return `unknown holiday country '${code}' (an ISO 3166 code such as US, DE, GB)`;
  if (state === undefined) return undefined;
  const states = hd.getStates(code.toUpperCase()) ?? {};
  if (state.toUpperCase() in states) return undefined;
  const known = Object.keys(states);
  return `unknown state '${state}' of holiday country ${code.toUpperCase()} (${known.length > 0 ? `one of ${known.join(", ")}` : "it has none"})`;
}

let zoneCountries: Map<string, string[]> | null = null;

/** Countries whose time zones include `zone` (the library's tables, read once). */
export function countriesOfZone(zone: string): string[] {
  if (zoneCountries === null) {
    const Holidays = library();
    const map = new Map<string, string[]>();
    for (const c of Object.keys(new Holidays().getCountries())) {
      for (const z of new Holidays(c).getTimezones() ?? []) map.set(z, [...(map.get(z) ?? []), c]);
    }
    zoneCountries = map;
  }
  return zoneCountries.get(zone) ?? [];
}
