/**
 * Alert lifecycle as pure functions: (alert or none, what was observed, policy, now) -> (alert, events).
 * No I/O here: the engine persists the result and the events in one transaction.
 */
import type { Alert, AlertDetails, AlertEvent, AlertKind, Severity } from "./alert.js";

export interface LifecyclePolicy {
  /** Consecutive anomalous buckets before pending becomes firing. */
  for: number;
  /** Consecutive in-band buckets before an open alert resolves. */
  resolveAfter: number;
  severity: Severity;
  repeatEveryMs: number | null;
}

export interface Observation {
  bucket: number;
  anomalous: boolean;
  value: number | null;
  expected: number | null;
  lower: number | null;
  upper: number | null;
  sigmas: number | null;
  reason: string;
}

export interface Identity {
  fingerprint: string;
  kind: AlertKind;
  metric: string;
  series: string;
  detector: string;
  details: AlertDetails;
}

export interface Outcome {
  alert: Alert | null;
  events: AlertEvent[];
}

/** Runs of anomalous buckets kept per alert: the chart shows its recent ones, and the JSON stays small. */
const MAX_RUNS = 32;

/** `runs` with `bucket` added: it extends the last run when it is the bucket right after it. */
function withAnomalous(runs: AlertDetails["anomalous"], bucket: number, granularityMs: number | undefined): Array<[number, number]> {
  const out = runs ? runs.slice(-MAX_RUNS) : [];
  const last = out[out.length - 1];
  if (last && granularityMs !== undefined && bucket === last[1] + granularityMs) out[out.length - 1] = [last[0], bucket];
  else if (!last || bucket > last[1]) out.push([bucket, bucket]);
  if (out.length > MAX_RUNS) out.shift();
  return out;
}

function deviation(o: Observation): number | null {
  return o.value !== null && o.expected !== null ? Math.abs(o.value - o.expected) : null;
}

function withObservation(a: Alert, o: Observation, now: number): Alert {
  const dev = deviation(o);
  return {
    ...a,
    value: o.value,
    expected: o.expected,
    lower: o.lower,
    upper: o.upper,
    sigmas: o.sigmas,
    reason: o.reason || a.reason,
    bucket: o.bucket,
    peakDeviation: dev === null ? a.peakDeviation : Math.max(a.peakDeviation ?? 0, dev),
    updatedAt: now,
  };
}

/** Open a new alert for a first anomalous observation. */
function open(id: Identity, o: Observation, policy: LifecyclePolicy, now: number, actor: string): Outcome {
  const fires = policy.for <= 1;
  const alert: Alert = withObservation(
    {
      id: null,
      ...id,
      state: fires ? "firing" : "pending",
      severity: policy.severity,
      value: null,
      expected: null,
      lower: null,
      upper: null,
      sigmas: null,
      reason: "",
      peakDeviation: null,
      anomalousCount: 1,
      streak: 1,
      okStreak: 0,
      bucket: o.bucket,
      firstBucket: o.bucket,
      startedAt: now,
      updatedAt: now,
      firedAt: fires ? now : null,
      resolvedAt: null,
      snoozedUntil: null,
      lastNotifiedAt: fires ? now : null,
      actedBy: null,
      details: id.kind === "metric" ? { ...id.details, anomalous: [[o.bucket, o.bucket]] } : id.details,
      version: 0,
    },
    o,
    now,
  );
  const event: AlertEvent = {
    from: null,
    to: alert.state,
    actor,
    note: o.reason,
    notify: fires ? "firing" : null,
  };
  return { alert, events: [event] };
}

/** The side of its expected value an observed value lies on: +1 above, −1 below, 0 when unknown or on it. */
function sideOf(value: number | null, expected: number | null): number {
  return value === null || expected === null ? 0 : Math.sign(value - expected);
}

/**
 * Whether a fresh detection `o` is a new incident rather than more of the open alert: it lies on
 * the other side of the expected value than the alert's last observation (a level shift up that
 * stayed, then a crash). A pending alert has notified nobody and simply goes on.
 */
export function supersedes(current: Alert | null, o: Observation): boolean {
  if (current === null || current.state === "resolved" || current.state === "pending") return false;
  const was = sideOf(current.value, current.expected);
  const is = sideOf(o.value, o.expected);
  return was !== 0 && is !== 0 && was !== is;
}

/** The open alert ends as superseded by `o` (see `supersedes`); the caller then opens one for `o`. */
export function supersede(current: Alert, o: Observation, now: number, actor = "engine"): Outcome {
  return {
    alert: { ...current, state: "resolved", resolvedAt: now, updatedAt: now, streak: 0 },
    events: [
      {
        from: current.state,
        to: "resolved",
        actor,
        note: `superseded by a new incident on the other side of the expected value${o.reason ? `: ${o.reason}` : ""}`,
        notify: "resolved",
      },
    ],
  };
}

/** Apply one closed bucket's verdict to the alert for that fingerprint. */
export function observe(
  current: Alert | null,
  id: Identity,
  o: Observation,
  policy: LifecyclePolicy,
  now: number,
  actor = "engine",
): Outcome {
  if (o.value === null && !o.anomalous) return { alert: current, events: [] }; // no data: no news
  if (current === null || current.state === "resolved") {
    return o.anomalous ? open(id, o, policy, now, actor) : { alert: current, events: [] };
  }
  if (o.anomalous) {
    const a = withObservation(current, o, now);
    a.anomalousCount = current.anomalousCount + 1;
    a.streak = current.streak + 1;
    a.okStreak = 0;
    a.details = { ...current.details, ...id.details };
    if (id.kind === "metric") a.details.anomalous = withAnomalous(current.details.anomalous, o.bucket, id.details.granularityMs);
    if (current.state === "pending" && a.streak >= policy.for) {
      a.state = "firing";
      a.firedAt = now;
      a.lastNotifiedAt = now;
      return { alert: a, events: [{ from: "pending", to: "firing", actor, note: o.reason, notify: "firing" }] };
    }
    return { alert: a, events: [] };
  }
  // Back inside the band.
  const a: Alert = { ...current, streak: 0, okStreak: current.okStreak + 1, updatedAt: now };
  if (current.state === "pending") {
    return {
      alert: { ...a, state: "resolved", resolvedAt: now },
      events: [{ from: "pending", to: "resolved", actor, note: "back to normal before `for` was met", notify: null }],
    };
  }
  if (a.okStreak >= policy.resolveAfter) {
    // The whole resolving observation, so that the resolved alert never shows one bucket's value against another's band.
    const { value, expected, lower, upper, sigmas, bucket } = o;
    return {
      alert: { ...a, state: "resolved", resolvedAt: now, value, expected, lower, upper, sigmas, bucket },
      events: [
        {
          from: current.state,
          to: "resolved",
          actor,
          note: `back inside the band for ${a.okStreak} bucket${a.okStreak === 1 ? "" : "s"}`,
          notify: "resolved",
        },
      ],
    };
  }
  return { alert: a, events: [] };
}

/**
 * Time-driven changes, checked every tick: an expired snooze returns to firing (and re-notifies),
 * a firing alert not acknowledged for `repeat_every` sends a reminder.
 */
export function onTime(current: Alert, policy: LifecyclePolicy, now: number): Outcome {
  if (current.state === "snoozed" && current.snoozedUntil !== null && now >= current.snoozedUntil) {
    const a: Alert = { ...current, state: "firing", snoozedUntil: null, lastNotifiedAt: now, updatedAt: now };
    return {
      alert: a,
      events: [{ from: "snoozed", to: "firing", actor: "snooze-expiry", note: "snooze ended", notify: "firing" }],
    };
  }
  if (
    current.state === "firing" &&
    policy.repeatEveryMs !== null &&
    current.lastNotifiedAt !== null &&
    now - current.lastNotifiedAt >= policy.repeatEveryMs
  ) {
    const a: Alert = { ...current, lastNotifiedAt: now, updatedAt: now };
    return {
      alert: a,
      events: [{ from: "firing", to: "firing", actor: "repeat", note: "still firing", notify: "reminder" }],
    };
  }
  return { alert: current, events: [] };
}

/** A meta-alert (vigil's own trouble) fires at once; `clear` resolves it. */
export function raiseMeta(current: Alert | null, id: Identity, reason: string, now: number): Outcome {
  const o: Observation = {
    bucket: now,
    anomalous: true,
    value: null,
    expected: null,
    lower: null,
    upper: null,
    sigmas: null,
    reason,
  };
  if (current && current.state !== "resolved") {
    return { alert: { ...withObservation(current, o, now), anomalousCount: current.anomalousCount + 1 }, events: [] };
  }
  return open(id, o, { for: 1, resolveAfter: 1, severity: "critical", repeatEveryMs: null }, now, "vigil");
}

export function clearMeta(current: Alert | null, now: number, note: string): Outcome {
  if (!current || current.state === "resolved") return { alert: current, events: [] };
  return {
    alert: { ...current, state: "resolved", resolvedAt: now, updatedAt: now, okStreak: 1 },
    events: [{ from: current.state, to: "resolved", actor: "vigil", note, notify: "resolved" }],
  };
}
