/**
 * The config changes `tune` proposes for the alerts a replay raised: missing-data alerts on routine
 * days and hours (`calendar`), on public holidays (`holidays`) or on short gaps (`missing_after`);
 * value alerts on thin buckets (`min_rows`).
 */

import { stringify } from "yaml";
import { localDate, localMs, weekdayOf } from "../../../detectors/local-time.js";
import { getDetector } from "../../../detectors/registry.js";
import { DAY_NAMES } from "../../config/schema/calendar.js";
import type { DetectorConfig, MetricCalendar, MetricConfig } from "../../config/types.js";
import { buildDetectors } from "../../engine/build-detectors.js";
import { offBuckets } from "../../engine/calendar.js";
import { countriesOfZone, publicHolidays } from "../../holidays.js";
import { durationMs, formatDuration } from "../../model/duration.js";
import { alignUp, bucketStart, detectorZone } from "../../sources/bucket-clock.js";
import type { SeriesBatch } from "../../sources/index.js";
import type { BacktestAlert } from "./replay.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** A day or hour slot with data in at most this share of its buckets is one the metric routinely has no data in. */
const ROUTINE_ABSENCE = 0.2;
/** Durations `missing_after` is proposed in, seconds. */
const NICE_DURATIONS = [300, 600, 900, 1800, 3600, 7200, 10_800, 14_400, 21_600, 28_800, 43_200, 86_400, 172_800, 259_200, 604_800];
/** Countries whose public holidays are tried when the config's timezone names none. */
const COMMON_COUNTRIES = ["US", "GB", "DE", "FR", "CA", "AU", "JP", "IN", "BR", "NL", "ES", "IT"];

/**
 * A detector entry as an operator would write it: `type`, the tuned settings, and the parameters
 * that differ from the detector's defaults (the resolved config holds every default filled in).
 */
export function asWritten(d: DetectorConfig, settings: Readonly<Record<string, number>> = {}): DetectorConfig {
  const def = getDetector(d.type);
  const defaults = def?.params.safeParse({});
  const base = defaults?.success ? (defaults.data as Record<string, unknown>) : {};
  const out: DetectorConfig = { type: d.type };
  for (const [k, v] of Object.entries(d)) {
    if (k === "type") continue;
    if (k in settings || JSON.stringify(base[k]) !== JSON.stringify(v)) out[k] = v;
  }
  return out;
}

/** `detectors: [{type: ensemble, missing_after: 3h}]` */
export function detectorsLine(detectors: readonly DetectorConfig[], settings: Readonly<Record<string, number>> = {}): string {
  return `detectors: ${stringify(
    detectors.map((d) => asWritten(d, settings)),
    { collectionStyle: "flow", lineWidth: 0 },
  ).trim()}`;
}

/** Local weekday (0 = Monday) and minute of the day of a bucket, in the zone its calendar uses. */
function localSlot(t: number, zone: string | undefined): { weekday: number; hour: number; date: string } {
  const l = localMs(t, zone);
  return { weekday: weekdayOf(l), hour: Math.floor((l - Math.floor(l / DAY) * DAY) / HOUR), date: localDate(l) };
}

/** Judged buckets of the window, per series: which had a value, and which were empty inside a missing-data alert. */
export interface Gaps {
  /** Bucket starts judged (not left out by the calendar). */
  judged: number[];
  /** Per series: bucket starts with a value. */
  present: Map<string, ReadonlySet<number>>;
  /** Per missing-data alert: the empty judged buckets of the run it fired on. */
  runs: Array<{ alert: BacktestAlert; buckets: number[] }>;
}

export function gapsOf(m: MetricConfig, series: readonly SeriesBatch[], alerts: readonly BacktestAlert[], from: number, to: number): Gaps {
  const g = m.granularityMs;
  const start = alignUp(from, g);
  const n = Math.max(0, Math.ceil((to - start) / g));
  const off = offBuckets(m, start, n);
  const judged: number[] = [];
  for (let b = 0; b < n; b++) if (off?.[b] !== 1) judged.push(start + b * g);
  const present = new Map<string, ReadonlySet<number>>();
  for (const s of series)
    present.set(s.key, new Set(s.points.filter((p) => p.v !== null && !Number.isNaN(p.v)).map((p) => bucketStart(p.t, g))));
  const isOff = (t: number) => t < start || t >= start + n * g || off?.[(t - start) / g] === 1;
  const runs: Gaps["runs"] = [];
  for (const a of alerts) {
    if (a.kind !== "missing") continue;
    const has = present.get(a.series) ?? new Set<number>();
    // an alert on data resuming after a gap fires on the first bucket back: the gap is before it
    let t = bucketStart(a.firedAt, g);
    if (has.has(t)) t -= g;
    const buckets: number[] = [];
    const walk = (from: number, step: number) => {
      for (let u = from, i = 0; u >= start && u < start + n * g && !has.has(u) && i < 100_000; u += step, i++)
        if (!isOff(u)) buckets.push(u);
    };
    walk(t, -g);
    walk(t + g, g);
    runs.push({ alert: a, buckets: buckets.sort((x, y) => x - y) });
  }
  return { judged, present, runs };
}

/** Share of the series' buckets among `ts` that had a value. */
function presenceShare(gaps: Gaps): (ts: readonly number[]) => number {
  const sets = [...gaps.present.values()];
  return (ts) =>
    ts.length === 0 || sets.length === 0 ? 1 : ts.reduce((c, t) => c + sets.filter((s) => s.has(t)).length, 0) / (ts.length * sets.length);
}

/** Local weekdays (0 = Monday) on which the series routinely have no data; null when that is every judged day. */
function routineOffDays(gaps: Gaps, slotZone: string | undefined): Set<number> | null {
  const share = presenceShare(gaps);
  const byDay: number[][] = Array.from({ length: 7 }, () => []);
  for (const t of gaps.judged) byDay[localSlot(t, slotZone).weekday]!.push(t);
  const off = new Set(byDay.flatMap((ts, d) => (ts.length > 0 && share(ts) <= ROUTINE_ABSENCE ? [d] : [])));
  return byDay.some((ts, d) => ts.length > 0 && !off.has(d)) ? off : null;
}

/** Weekdays and hours the series routinely have no data in, and whether the missing-data alerts fall there. */
export function calendarFix(m: MetricConfig, gaps: Gaps): { why: string; yaml: string; calendar: MetricCalendar } | null {
  const g = m.granularityMs;
  const zone = m.timezone ?? "UTC";
  const slotZone = detectorZone(m);
  const alerted = gaps.runs.flatMap((r) => r.buckets);
  if (alerted.length === 0) return null;
  const share = presenceShare(gaps);
  const offDays = routineOffDays(gaps, slotZone);
  if (offDays === null) return null;
  let offHours = new Set<number>();
  if (g < DAY) {
    const byHour: number[][] = Array.from({ length: 24 }, () => []);
    for (const t of gaps.judged) {
      const s = localSlot(t, slotZone);
      if (!offDays.has(s.weekday)) byHour[s.hour]!.push(t);
    }
    offHours = new Set(byHour.flatMap((ts, h) => (ts.length > 0 && share(ts) <= ROUTINE_ABSENCE ? [h] : [])));
    // one block of hours (wrapping midnight), not all of them: a calendar's `hours` is one span
    const edges = Array.from({ length: 24 }, (_, h) => offHours.has(h) && !offHours.has((h + 23) % 24)).filter(Boolean).length;
    if (offHours.size === 24 || edges !== 1) offHours = new Set();
  }
  if (offDays.size === 0 && offHours.size === 0) return null;
  const inOff = alerted.filter((t) => {
    const s = localSlot(t, slotZone);
    return offDays.has(s.weekday) || offHours.has(s.hour);
  }).length;
  // most of the silence alerted on is routine
  if (2 * inOff < alerted.length) return null;
  const days = (m.calendar?.days ?? [0, 1, 2, 3, 4, 5, 6]).filter((d) => !offDays.has(d));
  let hours: MetricCalendar["hours"] = m.calendar?.hours ?? null;
  let hoursText: string | null = null;
  if (offHours.size > 0 && hours === null) {
    let first = 0;
    while (!(offHours.has(first) && !offHours.has((first + 23) % 24))) first++;
    const judgedFrom = (first + offHours.size) % 24;
    hours = { from: judgedFrom * 60, to: first * 60 };
    const hh = (h: number) => `${String(h).padStart(2, "0")}:00`;
    hoursText = `${hh(judgedFrom)}-${first === 0 ? "24:00" : hh(first)}`;
  }
  const dayList = days.map((d) => DAY_NAMES[d]!);
  const daysAll = days.length === 7;
  const yaml =
    hoursText === null && dayList.join() === "mon,tue,wed,thu,fri"
      ? "calendar: weekdays"
      : hoursText === null && dayList.join() === "sat,sun"
        ? "calendar: weekends"
        : `calendar: {${[daysAll ? "" : `days: [${dayList.join(", ")}]`, hoursText ? `hours: "${hoursText}"` : ""].filter(Boolean).join(", ")}}`;
  const where = [
    offDays.size
      ? `on ${[...offDays]
          .sort()
          .map((d) => DAY_NAMES[d])
          .join(", ")}`
      : "",
    offHours.size && hoursText ? `outside ${hoursText}` : "",
  ]
    .filter(Boolean)
    .join(" and ");
  return {
    why: `${inOff} of ${alerted.length} empty buckets behind missing-data alerts fall ${where} (${zone}), when ${m.name} routinely has no data`,
    yaml,
    calendar: { days, hours, holidays: m.calendar?.holidays ?? null },
  };
}

/** A country whose public holidays are most of the dates the missing-data alerts fell on. */
export function holidaysFix(m: MetricConfig, gaps: Gaps): { why: string; yaml: string; calendar: MetricCalendar } | null {
  if (m.calendar?.holidays?.country) return null;
  const slotZone = detectorZone(m);
  // weekends the series never has data on are no holidays' doing (and only dilute the match)
  const offDays = routineOffDays(gaps, slotZone) ?? new Set<number>();
  const dates = [
    ...new Set(
      gaps.runs.flatMap((r) =>
        r.buckets.flatMap((t) => {
          const s = localSlot(t, slotZone);
          return offDays.has(s.weekday) ? [] : [s.date];
        }),
      ),
    ),
  ];
  const best = holidayCountry(m.timezone ?? "UTC", dates, false);
  return best && holidaysCalendar(m, best, `${best.hit.length} of the ${dates.length} days with missing-data alerts are`);
}

/**
 * Value alerts on public holidays (a quiet bank-holiday morning judged as a weekday's): propose the
 * country the timezone names, when at least two of the alerts' days are its holidays.
 */
export function holidayAlertsFix(
  m: MetricConfig,
  alerts: readonly BacktestAlert[],
): { why: string; yaml: string; calendar: MetricCalendar } | null {
  if (m.calendar?.holidays?.country) return null;
  const slotZone = detectorZone(m);
  const dates = [...new Set(alerts.filter((a) => a.kind === "value").map((a) => localSlot(a.firedAt, slotZone).date))];
  const best = holidayCountry(m.timezone ?? "UTC", dates, true);
  return best && holidaysCalendar(m, best, `${best.hit.length} of the ${dates.length} days with value alerts are`);
}

/**
 * The country whose public holidays explain `dates`: one the timezone names needs half of them (or,
 * for value alerts, which holidays explain only in part, two); one guessed from a list, two thirds
 * and two dates.
 */
function holidayCountry(zone: string, dates: readonly string[], partial: boolean): { c: string; hit: string[] } | null {
  if (dates.length === 0) return null;
  const hinted = countriesOfZone(zone);
  const matches = (c: string) => dates.filter((d) => publicHolidays(c, undefined, Number(d.slice(0, 4))).has(d));
  const candidates = [
    ...hinted.map((c) => ({ c, hinted: true })),
    ...(partial ? [] : COMMON_COUNTRIES.filter((c) => !hinted.includes(c)).map((c) => ({ c, hinted: false }))),
  ];
  let best: { c: string; hit: string[] } | null = null;
  for (const { c, hinted: h } of candidates) {
    const hit = matches(c);
    const ok = partial
      ? hit.length >= 2
      : h
        ? hit.length >= 1 && 2 * hit.length >= dates.length
        : hit.length >= 2 && 3 * hit.length >= 2 * dates.length;
    if (ok && (best === null || hit.length > best.hit.length)) best = { c, hit };
  }
  return best;
}

function holidaysCalendar(
  m: MetricConfig,
  best: { c: string; hit: string[] },
  lead: string,
): { why: string; yaml: string; calendar: MetricCalendar } {
  const base: MetricCalendar = m.calendar ?? { days: [0, 1, 2, 3, 4, 5, 6], hours: null, holidays: null };
  return {
    why: `${lead} public holidays in ${best.c} (${best.hit.slice(0, 4).join(", ")}${best.hit.length > 4 ? ", …" : ""})`,
    yaml: `holidays: {country: ${best.c}}`,
    calendar: { ...base, holidays: { dates: base.holidays?.dates ?? [], country: best.c } },
  };
}

/** Short runs of empty buckets: propose a `missing_after` (ensemble) or `after` (missing) just above them. */
export function missingAfterFix(m: MetricConfig, gaps: Gaps): { why: string; yaml: string; detectors: DetectorConfig[] } | null {
  const g = m.granularityMs;
  const built = buildDetectors(m);
  const configured: DetectorConfig[] = m.detectors.length > 0 ? m.detectors : built.map((d) => ({ type: d.type }));
  const keyOf = (type: string) => (type === "ensemble" ? "missing_after" : type === "missing" ? "after" : null);
  if (!configured.some((d) => keyOf(d.type))) return null;
  const runs = gaps.runs.filter((r) => r.buckets.length > 0);
  const shortMs = Math.max(3 * g, HOUR);
  const short = runs.filter((r) => r.buckets.length * g <= shortMs);
  if (short.length === 0 || 2 * short.length < runs.length) return null;
  const longest = Math.max(...short.map((r) => r.buckets.length)) * g;
  const seconds = NICE_DURATIONS.find((s) => s * 1000 >= longest);
  if (seconds === undefined) return null;
  let changed = false;
  const detectors = configured.map((dc, i) => {
    const key = keyOf(dc.type);
    if (!key) return dc;
    const now = (built[i]!.params as Record<string, unknown>)[key];
    if (typeof now === "string" || typeof now === "number") if (durationMs(now) >= seconds * 1000) return dc;
    changed = true;
    return { ...dc, [key]: formatDuration(seconds * 1000) };
  });
  if (!changed) return null;
  return {
    why: `${short.length} of ${runs.length} missing-data alerts are on short gaps (at most ${formatDuration(longest)})`,
    yaml: detectorsLine(detectors),
    detectors,
  };
}

/** Value alerts on buckets backed by few rows: propose `min_rows` just above them. */
export function minRowsFix(
  m: MetricConfig,
  series: readonly SeriesBatch[],
  alerts: readonly BacktestAlert[],
  judgeFrom: number,
): { why: string; yaml: string; minRows: number } | null {
  if (!m.rowCounts) return null;
  const value = alerts.filter((a) => a.kind === "value" && a.rows !== null);
  if (value.length === 0) return null;
  const usual = new Map<string, number>();
  for (const s of series) {
    const rows = s.points
      .filter((p) => p.t >= judgeFrom && (p.n ?? 0) > 0)
      .map((p) => p.n!)
      .sort((a, b) => a - b);
    if (rows.length) usual.set(s.key, rows[Math.floor(rows.length / 2)]!);
  }
  const thin = value.filter((a) => a.rows! < 0.5 * (usual.get(a.series) ?? 0));
  if (thin.length === 0 || 2 * thin.length < value.length) return null;
  const minRows = Math.max(...thin.map((a) => a.rows!)) + 1;
  if (m.minRows !== null && m.minRows >= minRows) return null;
  return {
    why: `${thin.length} of ${value.length} value alerts are on buckets with few rows (at most ${minRows - 1}; usually ${[...new Set(thin.map((a) => usual.get(a.series)))].join(", ")})`,
    yaml: `min_rows: ${minRows}`,
    minRows,
  };
}
