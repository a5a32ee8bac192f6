/**
 * Replays a metric's detectors and alert policy over stored history, in streaming order, with the
 * same code the daemon runs (detector registry, policy, lifecycle) but nothing stored or sent.
 * `tune` reads the alerts a replay raises (missing data vs value), tries the config key that would
 * fix them on a copy of the metric (calendar, holidays, fill, missing_after, min_rows) and keeps
 * what cuts them, then repeats the replay over a range of sensitivities to find the most sensitive
 * setting that keeps the alert rate under a budget.
 */

import { stringify } from "yaml";
import { localDate, localMs, weekdayOf } from "../detectors/local-time.js";
import { getDetector } from "../detectors/registry.js";
import { countLike, withFill } from "./config/resolve-config.js";
import { DAY_NAMES } from "./config/schema.js";
import type { DetectorConfig, MetricCalendar, MetricConfig } from "./config/types.js";
import type { Database } from "./db/database.js";
import { atFloor, type Band } from "./engine/band-floor.js";
import { feedSeries } from "./engine/bucket-feed.js";
import { offBuckets } from "./engine/calendar.js";
import { buildDetectors } from "./engine/engine.js";
import { lastClosedBucket } from "./engine/fetcher.js";
import { passesPolicy } from "./engine/policy.js";
import { SeriesRuntime } from "./engine/series-runtime.js";
import { countriesOfZone, publicHolidays } from "./holidays.js";
import { type Alert, fingerprintOf } from "./model/alert.js";
import { durationMs, formatDuration } from "./model/duration.js";
import { type Identity, observe } from "./model/lifecycle.js";
import type { Point } from "./model/point.js";
import { alignUp, bucketClock, bucketStart, detectorZone } from "./sources/bucket-clock.js";
import { fetchBuckets, type SeriesBatch } from "./sources/index.js";

export interface BacktestAlert {
  series: string;
  detector: string;
  /** `missing` when it fired on absent data, `value` otherwise. */
  kind: "value" | "missing";
  /** Bucket where it started firing. */
  firedAt: number;
  /** Bucket where it resolved, null if still open at the end. */
  resolvedAt: number | null;
  value: number | null;
  expected: number | null;
  lower: number | null;
  upper: number | null;
  peakDeviation: number | null;
  sigmas: number | null;
  reason: string;
  /** Rows behind the bucket where it fired (sources that count them), else null. */
  rows: number | null;
  /** Its anomalous buckets, as runs [first, last] (AlertDetails.anomalous): what a chart marks. */
  anomalous: Array<[number, number]>;
}

/** One judged bucket of a series: the value shown, each detector's band (as it judged, unfloored) and the band's floor then. */
export interface TracePoint {
  p: Point;
  bands: Band[];
  floor: number;
}

export interface BacktestResult {
  metric: string;
  from: number;
  to: number;
  series: number;
  points: number;
  alerts: BacktestAlert[];
  /** Per series: the judged buckets with each detector's band, for charts. */
  traces: Map<string, TracePoint[]>;
}

export async function loadHistory(db: Database, m: MetricConfig, from: number, to: number): Promise<SeriesBatch[]> {
  return (await fetchBuckets(db, m, { from, to })).series;
}

/**
 * Replay over already-fetched series (pure: no I/O). The buckets before `judgeFrom` only warm the
 * detectors up, as a daemon's history load does; alerts are judged from there on. Buckets go
 * through the same calendar, fill and thin-bucket rules as in the daemon.
 */
export function replay(
  m: MetricConfig,
  series: readonly SeriesBatch[],
  from: number,
  to: number,
  keepTraces = false,
  judgeFrom = from,
): BacktestResult {
  const g = m.granularityMs;
  const detectors = buildDetectors(m);
  const result: BacktestResult = {
    metric: m.name,
    from: Math.max(from, judgeFrom),
    to,
    series: series.length,
    points: 0,
    alerts: [],
    traces: new Map(),
  };
  const policy = { for: m.for, resolveAfter: m.resolveAfter, severity: m.severity, repeatEveryMs: null };
  const start = alignUp(from, g);
  const buckets = Math.max(0, Math.ceil((to - start) / g));
  for (const s of series) {
    const sr = new SeriesRuntime(s.key, s.labels, detectors);
    const open = new Map<string, { alert: Alert; record: BacktestAlert | null }>();
    const trace: TracePoint[] = [];
    feedSeries(m, sr, s.points, start, buckets, (t, fed, shown, rows) => {
      if (t < judgeFrom) {
        sr.learn(t, fed);
        return;
      }
      const verdicts = sr.step({ t, v: Number.isNaN(fed) ? null : fed });
      // what the alert and chart show: the source's value
      const p: Point = { t, v: Number.isNaN(shown) ? null : shown };
      result.points++;
      if (keepTraces)
        trace.push({ p, bands: verdicts.map((v) => ({ expected: v.expected, lower: v.lower, upper: v.upper })), floor: sr.floor });
      verdicts.forEach((v, i) => {
        const d = detectors[i]!;
        const anomalous = passesPolicy(v, p.v, m);
        const fp = fingerprintOf(m.name, s.key, d.family);
        const id: Identity = {
          fingerprint: fp,
          kind: "metric",
          metric: m.name,
          series: s.key,
          detector: d.family,
          details: { granularityMs: g },
        };
        const cur = open.get(fp);
        const band = { expected: atFloor(v.expected, sr.floor), lower: atFloor(v.lower, sr.floor), upper: atFloor(v.upper, sr.floor) };
        const obs = { bucket: t, anomalous, value: p.v, ...band, sigmas: v.sigmas, reason: v.reason };
        const out = observe(cur?.alert ?? null, id, obs, policy, t + g + m.delayMs);
        if (!out.alert) return;
        let record = cur && cur.alert.state !== "resolved" ? cur.record : null;
        for (const ev of out.events) {
          if (ev.notify === "firing") {
            record = {
              series: s.key,
              detector: d.family,
              kind: v.kind === "missing" ? "missing" : "value",
              firedAt: t,
              resolvedAt: null,
              value: p.v,
              ...band,
              peakDeviation: out.alert.peakDeviation,
              sigmas: v.sigmas,
              reason: v.reason,
              rows: Number.isNaN(rows) ? null : rows,
              anomalous: [],
            };
            result.alerts.push(record);
          }
          if (ev.to === "resolved" && record) record.resolvedAt = t;
        }
        if (record && out.alert.state !== "resolved") {
          record.peakDeviation = out.alert.peakDeviation;
          record.anomalous = out.alert.details.anomalous ?? [];
        }
        open.set(fp, { alert: out.alert, record });
      });
    });
    if (keepTraces) result.traces.set(s.key, trace);
  }
  result.alerts.sort((a, b) => a.firedAt - b.firedAt || a.series.localeCompare(b.series));
  return result;
}

/** Default window: the metric's lookback up to the last closed bucket (in bucket time: floating for local days). */
export function defaultWindow(m: MetricConfig, now: number): { from: number; to: number } {
  const to = lastClosedBucket(bucketClock(m, now), m.granularityMs, m.delayMs) + m.granularityMs;
  return { from: to - m.lookbackMs, to };
}

/**
 * A detector's sensitivity: the parameters that set it and their values at each level, most
 * sensitive first. Every knob has the same number of levels; choice i sets each tunable detector
 * of the metric to its knob's level i. Control limits and bands use their width in sigmas (`k`,
 * `sigma`); the ensemble, whose bar is "bigger than anything recent", the novelty factors
 * (`novelty_point` moves with `novelty`, as in the defaults 1.1 and 1.2).
 */
interface Knob {
  keys: readonly string[];
  levels: ReadonlyArray<Readonly<Record<string, number>>>;
}
const WIDTHS = [2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 8] as const;
const NOVELTY = [
  [1, 1.1],
  [1.05, 1.15],
  [1.1, 1.2],
  [1.2, 1.3],
  [1.35, 1.5],
  [1.5, 1.65],
  [2, 2.2],
  [3, 3.3],
  [5, 5.5],
] as const;
const SENSITIVITY_KNOBS: readonly Knob[] = [
  { keys: ["k"], levels: WIDTHS.map((k) => ({ k })) },
  { keys: ["sigma"], levels: WIDTHS.map((sigma) => ({ sigma })) },
  { keys: ["novelty", "novelty_point"], levels: NOVELTY.map(([novelty, novelty_point]) => ({ novelty, novelty_point })) },
];

export interface TuneChoice {
  /** Every parameter this choice sets, across the metric's detectors. */
  settings: Readonly<Record<string, number>>;
  /** The metric's detectors with this choice applied (what to put in its config). */
  detectors: DetectorConfig[];
  alerts: BacktestAlert[];
  perWeek: number;
}

/** Alerts of one replay, by kind. */
export interface AlertCounts {
  alerts: number;
  missing: number;
  value: number;
  perWeek: number;
}

/** A config change that tune tried, with the replay before and after it. */
export interface TuneFix {
  key: "calendar" | "holidays" | "fill" | "missing_after" | "min_rows";
  /** What in the alerts suggested it, in words. */
  why: string;
  /** The lines to add to the metric's config, as an operator writes them. */
  yaml: string[];
  before: AlertCounts;
  after: AlertCounts;
  /** Kept when it cut the alerts (or turned missing-data alerts into fewer or as many value ones). */
  accepted: boolean;
}

export interface TuneResult {
  /** The sensitivity levels, tried on the metric with the accepted fixes. */
  choices: TuneChoice[];
  best: TuneChoice | null;
  /** The first sensitivity parameter (k, sigma, novelty), null when no detector has one. */
  param: string | null;
  /** Weeks judged (at least a day's worth). */
  weeks: number;
  before: AlertCounts;
  fixes: TuneFix[];
  /** The accepted fixes and the chosen sensitivity together. */
  proposal: { yaml: string[]; alerts: BacktestAlert[]; after: AlertCounts; fits: boolean };
}

function knobOf(shape: Record<string, unknown>): Knob | null {
  return SENSITIVITY_KNOBS.find((k) => k.keys.every((key) => key in shape)) ?? null;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
/** A day or hour slot with data in at most this share of its buckets is one the metric routinely has no data in. */
const ROUTINE_ABSENCE = 0.2;
/** Durations `missing_after` is proposed in, seconds. */
const NICE_DURATIONS = [300, 600, 900, 1800, 3600, 7200, 10_800, 14_400, 21_600, 28_800, 43_200, 86_400, 172_800, 259_200, 604_800];
/** Countries whose public holidays are tried when the config's timezone names none. */
const COMMON_COUNTRIES = ["US", "GB", "DE", "FR", "CA", "AU", "JP", "IN", "BR", "NL", "ES", "IT"];

export function countAlerts(alerts: readonly BacktestAlert[], weeks: number): AlertCounts {
  const missing = alerts.filter((a) => a.kind === "missing").length;
  return { alerts: alerts.length, missing, value: alerts.length - missing, perWeek: alerts.length / weeks };
}

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
interface Gaps {
  /** Bucket starts judged (not left out by the calendar). */
  judged: number[];
  /** Per series: bucket starts with a value. */
  present: Map<string, ReadonlySet<number>>;
  /** Per missing-data alert: the empty judged buckets of the run it fired on. */
  runs: Array<{ alert: BacktestAlert; buckets: number[] }>;
}

function gapsOf(m: MetricConfig, series: readonly SeriesBatch[], alerts: readonly BacktestAlert[], from: number, to: number): Gaps {
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
function calendarFix(m: MetricConfig, gaps: Gaps): { why: string; yaml: string; calendar: MetricCalendar } | null {
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
function holidaysFix(m: MetricConfig, gaps: Gaps): { why: string; yaml: string; calendar: MetricCalendar } | null {
  if (m.calendar?.holidays?.country) return null;
  const zone = m.timezone ?? "UTC";
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
  if (dates.length === 0) return null;
  const hinted = countriesOfZone(zone);
  const matches = (c: string) => dates.filter((d) => publicHolidays(c, undefined, Number(d.slice(0, 4))).has(d));
  // a country the timezone names needs half the dates; one guessed from a list, two thirds and two dates
  const candidates = [
    ...hinted.map((c) => ({ c, hinted: true })),
    ...COMMON_COUNTRIES.filter((c) => !hinted.includes(c)).map((c) => ({ c, hinted: false })),
  ];
  let best: { c: string; hit: string[] } | null = null;
  for (const { c, hinted: h } of candidates) {
    const hit = matches(c);
    const ok = h ? hit.length >= 1 && 2 * hit.length >= dates.length : hit.length >= 2 && 3 * hit.length >= 2 * dates.length;
    if (ok && (best === null || hit.length > best.hit.length)) best = { c, hit };
  }
  if (best === null) return null;
  const base: MetricCalendar = m.calendar ?? { days: [0, 1, 2, 3, 4, 5, 6], hours: null, holidays: null };
  return {
    why: `${best.hit.length} of the ${dates.length} days with missing-data alerts are public holidays in ${best.c} (${best.hit.slice(0, 4).join(", ")}${best.hit.length > 4 ? ", …" : ""})`,
    yaml: `holidays: {country: ${best.c}}`,
    calendar: { ...base, holidays: { dates: base.holidays?.dates ?? [], country: best.c } },
  };
}

/** Short runs of empty buckets: propose a `missing_after` (ensemble) or `after` (missing) just above them. */
function missingAfterFix(m: MetricConfig, gaps: Gaps): { why: string; yaml: string; detectors: DetectorConfig[] } | null {
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
function minRowsFix(
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

/** Every sensitivity level on every tunable detector of the metric (each in its own unit). */
function sweep(
  m: MetricConfig,
  series: readonly SeriesBatch[],
  from: number,
  to: number,
  judgeFrom: number,
  weeks: number,
): { choices: TuneChoice[]; param: string | null } {
  const base = buildDetectors(m);
  const configured: DetectorConfig[] = m.detectors.length > 0 ? m.detectors : base.map((d) => ({ type: d.type }));
  const knobs = configured.map((_dc, i) => knobOf(base[i]!.def.params.shape));
  const first = knobs.find((k) => k !== null) ?? null;
  if (first === null) return { choices: [], param: null };
  const choices: TuneChoice[] = [];
  for (let level = 0; level < first.levels.length; level++) {
    const settings: Record<string, number> = {};
    const detectors = configured.map((dc, i) => {
      const set = knobs[i]?.levels[level];
      if (!set) return dc;
      Object.assign(settings, set);
      return { ...dc, ...set };
    });
    const r = replay({ ...m, detectors }, series, from, to, false, judgeFrom);
    choices.push({ settings, detectors, alerts: r.alerts, perWeek: r.alerts.length / weeks });
  }
  return { choices, param: first.keys[0]! };
}

/**
 * Read the metric's alerts and propose what fixes them: missing-data alerts on routine days and
 * hours (`calendar`), on public holidays (`holidays`), on a count without `fill: zero`, or on short
 * gaps (`missing_after`); value alerts on thin buckets (`min_rows`). Each fix is tried on a copy of
 * the metric, replayed over the same series, and kept when it cuts the alerts. Then each
 * sensitivity level is tried on the fixed metric, and the most sensitive one within the budget is
 * proposed with the fixes.
 */
export function tune(
  m: MetricConfig,
  series: readonly SeriesBatch[],
  from: number,
  to: number,
  maxPerWeek: number,
  judgeFrom = from,
): TuneResult {
  const weeks = Math.max((to - Math.max(from, judgeFrom)) / WEEK, 1 / 7);
  const run = (x: MetricConfig) => replay(x, series, from, to, false, judgeFrom).alerts;
  let cur = m;
  let alerts = run(m);
  const before = countAlerts(alerts, weeks);
  const fixes: TuneFix[] = [];
  let fixedDetectors = false;
  const attempt = (key: TuneFix["key"], found: { why: string; yaml: string } | null, apply: (x: MetricConfig) => MetricConfig) => {
    if (found === null) return;
    const next = apply(cur);
    const after = run(next);
    const b = countAlerts(alerts, weeks);
    const a = countAlerts(after, weeks);
    const accepted = a.alerts < b.alerts || (a.alerts === b.alerts && a.missing < b.missing);
    fixes.push({ key, why: found.why, yaml: [found.yaml], before: b, after: a, accepted });
    if (accepted) {
      cur = next;
      alerts = after;
    }
  };
  const gaps = () => gapsOf(cur, series, alerts, judgeFrom, to);
  if (before.missing > 0) {
    const cal = calendarFix(cur, gaps());
    attempt("calendar", cal, (x) => ({ ...x, calendar: cal!.calendar }));
  }
  if (countAlerts(alerts, weeks).missing > 0) {
    const hol = holidaysFix(cur, gaps());
    attempt("holidays", hol, (x) => ({ ...x, calendar: hol!.calendar }));
  }
  if (countAlerts(alerts, weeks).missing > 0 && cur.fill === "none" && cur.source && countLike(cur.source.value)) {
    attempt(
      "fill",
      { why: `${cur.name} is a ${cur.source.value.trim()}: a bucket without rows is 0, not missing data`, yaml: "fill: zero" },
      (x) => withFill(x, "zero"),
    );
  }
  if (countAlerts(alerts, weeks).missing > 0) {
    const ma = missingAfterFix(cur, gaps());
    attempt("missing_after", ma, (x) => ({ ...x, detectors: ma!.detectors }));
    fixedDetectors = fixes.at(-1)?.key === "missing_after" && fixes.at(-1)!.accepted;
  }
  if (countAlerts(alerts, weeks).value > 0) {
    const mr = minRowsFix(cur, series, alerts, judgeFrom);
    attempt("min_rows", mr, (x) => ({ ...x, minRows: mr!.minRows }));
  }
  const { choices, param } = sweep(cur, series, from, to, judgeFrom, weeks);
  const best = choices.find((c) => c.perWeek <= maxPerWeek) ?? null;
  // nothing fits: propose the fixes alone, or with the least sensitive level if that raises fewer alerts
  const quietest = choices.reduce<TuneChoice | null>((q, c) => (q === null || c.alerts.length < q.alerts.length ? c : q), null);
  const chosen = best ?? (quietest && quietest.alerts.length < alerts.length ? quietest : null);
  const yaml = fixes.filter((f) => f.accepted && f.key !== "missing_after").flatMap((f) => f.yaml);
  if (chosen) yaml.push(detectorsLine(chosen.detectors, chosen.settings));
  else if (fixedDetectors) yaml.push(detectorsLine(cur.detectors));
  const finalAlerts = chosen ? chosen.alerts : alerts;
  const after = countAlerts(finalAlerts, weeks);
  return { choices, best, param, weeks, before, fixes, proposal: { yaml, alerts: finalAlerts, after, fits: after.perWeek <= maxPerWeek } };
}
