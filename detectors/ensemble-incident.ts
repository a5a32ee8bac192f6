/**
 * What follows an ensemble alert: the alerted value is remembered (a third alert like the last two
 * of its view is a recurring pattern), the incident it opens is framed, and the points after it
 * decide whether it was a level shift, which restarts the baseline.
 */
import { COLLAPSE_CEILING, capView } from "./ensemble-bars.js";
import { ENSEMBLE_LAYOUT, type EnsembleParams, type EnsembleState, SHIFT_CHECK, SHIFT_SIGMAS } from "./ensemble-layout.js";
import { mediumZ, shortZ } from "./ensemble-views.js";
import { lwClear, lwPush } from "./lazy-window.js";
import { type SeasonalExpectation, seasonalShift } from "./seasonal-profile.js";

const {
  Z_SEASON,
  MEDIAN,
  SD,
  VIEWS,
  RECENT,
  RECENT_RES,
  SHADOW_V,
  SHADOW_AT,
  SHADOW_V2,
  SHADOW_AT2,
  INC_SIGN,
  INC_LEVEL,
  INC_SD,
  INC_SEASONAL,
  INC_SHIFT,
  INC_HIST,
  HIST_MAX,
} = ENSEMBLE_LAYOUT.at;

/** A third alert no bigger than the last two of its view, within this many × `history` rows, is a recurring pattern. */
const PATTERN_MEMORY = 3;
/** ...and within three weeks when the bucket size is known: a weekly job recurs three times in it, while three incidents a month apart are three incidents. */
const PATTERN_SPAN_MS = 21 * 86_400_000;

function patternRows(p: EnsembleParams): number {
  const rows = PATTERN_MEMORY * p.history;
  return p.granularity_ms === undefined ? rows : Math.min(rows, Math.ceil(PATTERN_SPAN_MS / p.granularity_ms));
}
/** Of the SHIFT_CHECK points after an alert, how many must stay beyond the band for a level shift. */
const SHIFT_AGREE = 10;

/**
 * The same thing a third time within the history: a recurring pattern, not a new incident. A
 * collapse beyond its ceiling is an outage each time, as it is beyond any bar its history sets.
 */
export function recurs(s: EnsembleState, p: EnsembleParams, view: number): boolean {
  const f = s.f;
  const nov = view === 0 ? p.novelty_point : p.novelty;
  const vk = f[VIEWS + view]!;
  if (view === 6 && vk >= COLLAPSE_CEILING) return false;
  return s.rows - f[SHADOW_AT2 + view]! < patternRows(p) && vk <= nov * f[SHADOW_V + view]! && vk <= nov * f[SHADOW_V2 + view]!;
}

/**
 * `view` alerted (`zPoint`: the point's z-score): its value is kept out of the history (the last two per view,
 * for telling a recurring pattern), the quiet time starts, and so do the level-shift check and the
 * incident, framed by the baseline from before it.
 */
export function openIncident(s: EnsembleState, p: EnsembleParams, view: number, zPoint: number, se: SeasonalExpectation | null): void {
  const f = s.f;
  const m = f[MEDIAN]!;
  const sd = f[SD]!;
  // the side of the incident, by the view that saw it
  const sign = view === 1 ? Math.sign(shortZ(s, m, sd)) : view === 2 ? Math.sign(mediumZ(s, m, sd)) : Math.sign(zPoint);
  s.cooldown = p.refractory;
  f[SHADOW_V2 + view] = f[SHADOW_V + view]!;
  f[SHADOW_AT2 + view] = f[SHADOW_AT + view]!;
  f[SHADOW_V + view] = f[VIEWS + view]!;
  f[SHADOW_AT + view] = s.rows;
  s.sinceAlert = 0;
  s.alertSign = sign;
  s.beyond = 0;
  const seasonal = (view === 4 || view === 6) && se !== null;
  f[INC_SIGN] = seasonal ? Math.sign(f[Z_SEASON]!) : sign;
  f[INC_LEVEL] = m;
  f[INC_SD] = sd;
  f[INC_SEASONAL] = seasonal ? 1 : 0;
  f[INC_SHIFT] = 0;
  f[INC_HIST] = f[HIST_MAX + 4]!;
  f[INC_HIST + 1] = f[HIST_MAX + 6]!;
}

/** A point within SHIFT_CHECK after an alert: was the alert a level shift? Then restart the baseline from the new level rather than alert for days. */
export function followIncident(s: EnsembleState, x: number, se: SeasonalExpectation | null, zPoint: number): void {
  const f = s.f;
  f[RECENT + s.sinceAlert] = x;
  f[RECENT_RES + s.sinceAlert] = se === null ? Number.NaN : x - se.expected;
  if (zPoint * s.alertSign > SHIFT_SIGMAS) s.beyond++;
  s.sinceAlert++;
  if (s.sinceAlert === SHIFT_CHECK) {
    if (s.beyond >= SHIFT_AGREE) rebaseline(s);
    s.sinceAlert = -1;
  }
}

/**
 * The series is back within the frame from before an incident that moved the seasonal profile to a
 * new level: it was an outage, not a new level, so the profile goes back to where it was (what it
 * stored meanwhile reads as the usual values of those slots).
 */
export function undoShift(s: EnsembleState, p: EnsembleParams): void {
  const f = s.f;
  seasonalShift(s.profile, -f[INC_SHIFT]!);
  f[INC_SHIFT] = 0;
  // the outage's residuals are no routine of the series: the next outage meets the bars from before this one
  capView(s, p, 4, f[INC_HIST]!);
  capView(s, p, 6, f[INC_HIST + 1]!);
}

/** Restart the baseline from the points after the alert; the seasonal profile keeps its shape at the new level. */
function rebaseline(s: EnsembleState): void {
  const f = s.f;
  const w = s.base;
  lwClear(w);
  for (let i = 0; i < SHIFT_CHECK; i++) lwPush(w, f[RECENT + i]!);
  // shift the profile by the median residual
  const r = Array.from(f.subarray(RECENT_RES, RECENT_RES + SHIFT_CHECK))
    .filter((q) => !Number.isNaN(q))
    .sort((a, b) => a - b);
  if (r.length > 0) {
    seasonalShift(s.profile, r[r.length >> 1]!);
    // the open incident is still judged against the expectation from before it
    if (f[INC_SIGN] !== 0) f[INC_SHIFT] = f[INC_SHIFT]! + r[r.length >> 1]!;
  }
}
