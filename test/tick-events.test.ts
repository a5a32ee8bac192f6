/**
 * One tick, several buckets: the events of an alert are folded into one stored row, yet each keeps
 * the alert as it was (TickOutcomes), and the deliveries are planned in the order the events happened.
 */
import { describe, expect, it } from "vitest";
import { TickOutcomes } from "../src/engine/tick-outcomes.js";
import { type AlertEvent, fingerprintOf, type StoredEvent } from "../src/model/alert.js";
import { type Identity, type LifecyclePolicy, type Observation, observe } from "../src/model/lifecycle.js";
import type { AlertNotification, DeliveryDraft, GroupNotification } from "../src/model/notification.js";
import { type PlanContext, planDeliveries } from "../src/notify/plan.js";
import { vigilConfig } from "./helpers/config.js";

const MINUTE = 60_000;
const NOW = Date.UTC(2026, 2, 2, 12, 10);
const policy: LifecyclePolicy = { for: 1, resolveAfter: 1, severity: "critical", repeatEveryMs: null };

function identity(series: string): Identity {
  return { fingerprint: fingerprintOf("m", series, "zscore"), kind: "metric", metric: "m", series, detector: "zscore", details: {} };
}

function obs(minute: number, value: number): Observation {
  const anomalous = value > 100;
  return {
    bucket: minute * MINUTE,
    anomalous,
    value,
    expected: 40,
    lower: 35,
    upper: 45,
    sigmas: anomalous ? 50 : 0,
    reason: anomalous ? "50σ above" : "",
  };
}

/** The series' buckets through the lifecycle, recorded as the engine does. */
function judge(outcomes: TickOutcomes, series: string, values: Record<number, number>): void {
  const id = identity(series);
  for (const [minute, value] of Object.entries(values)) {
    outcomes.record(id.fingerprint, observe(outcomes.current(id.fingerprint), id, obs(Number(minute), value), policy, NOW));
  }
}

/** What the store hands the planner: each event with the alert as of that event, ids given in slot order. */
function stored(outcomes: TickOutcomes): StoredEvent[] {
  let history = 0;
  return outcomes.list.flatMap((o, slot) =>
    o.events.map((event: AlertEvent) => ({ alert: { ...(event.snapshot ?? o.alert!), id: slot + 1 }, event, historyId: ++history })),
  );
}

function context(channels: PlanContext["config"]["channels"]): PlanContext {
  return {
    config: vigilConfig([], { channels }),
    metric: { name: "m", notify: Object.keys(channels) },
    now: NOW,
    silences: [],
    muted: false,
    load: new Map(),
    opens: new Map(),
    flapNoticed: new Set(),
  };
}

/** "kind #id value" per delivery of one channel, in queue order. */
function stream(drafts: DeliveryDraft[], channel: string): string[] {
  return drafts
    .filter((d) => d.channel === channel)
    .map((d) => {
      const p = d.payload;
      if (p.type === "group") return `group ${(p as GroupNotification).alerts.map((a) => `#${a.alert.id} ${a.alert.value}`).join(", ")}`;
      if (p.type === "text") return `text ${p.title}`;
      const a = (p as AlertNotification).alert;
      return `${p.event} #${a.id} ${a.state} ${a.value}`;
    });
}

describe("a tick that judges several buckets", () => {
  it("keeps each event's own alert while the stored row moves on", () => {
    const outcomes = new TickOutcomes([]);
    judge(outcomes, "a", { 1: 38, 2: 2000, 3: 40 });
    expect(outcomes.list).toHaveLength(1);
    const [slot] = outcomes.list;
    expect(slot!.alert).toMatchObject({ state: "resolved", value: 40, bucket: 3 * MINUTE });
    expect(slot!.events.map((e) => [e.notify, e.snapshot?.state, e.snapshot?.value, e.snapshot?.bucket, e.snapshot?.upper])).toEqual([
      ["firing", "firing", 2000, 2 * MINUTE, 45],
      ["resolved", "resolved", 40, 3 * MINUTE, 45],
    ]);
  });

  it("every channel type gets FIRING with the spike, then RESOLVED", () => {
    const outcomes = new TickOutcomes([]);
    judge(outcomes, "a", { 1: 38, 2: 2000, 3: 40 });
    const drafts = planDeliveries(
      stored(outcomes),
      context({
        out: { type: "console", send_resolved: true },
        tg: { type: "telegram", chat_id: "-1", send_resolved: true },
        sl: { type: "slack", channel: "C1", send_resolved: true },
        hook: { type: "webhook", url: "http://127.0.0.1:9/hook", headers: {}, send_resolved: true },
      }),
    );
    for (const channel of ["out", "tg", "sl", "hook"]) {
      expect(stream(drafts, channel), channel).toEqual(["firing #1 firing 2000", "resolved #1 resolved 40"]);
    }
  });

  it("the series a tick opens go out as one message at the first one's place, ahead of their later changes", () => {
    const outcomes = new TickOutcomes([]);
    judge(outcomes, "a", { 1: 2000, 2: 40 });
    judge(outcomes, "b", { 1: 30, 2: 30, 3: 3000 });
    const drafts = planDeliveries(stored(outcomes), context({ out: { type: "console", send_resolved: true } }));
    expect(stream(drafts, "out")).toEqual(["group #1 2000, #2 3000", "resolved #1 resolved 40"]);
  });

  it("across series the events are queued in the order of their buckets, and a re-opened alert after its first end", () => {
    const outcomes = new TickOutcomes([]);
    judge(outcomes, "a", { 1: 2000, 3: 40, 5: 900, 6: 41 });
    judge(outcomes, "b", { 2: 3000, 4: 39 });
    const drafts = planDeliveries(
      stored(outcomes),
      context({ hook: { type: "webhook", url: "http://127.0.0.1:9/hook", headers: {}, send_resolved: true } }),
    );
    // slots: a's first alert (#1), a's second (#2), b's (#3)
    expect(stream(drafts, "hook")).toEqual([
      "firing #1 firing 2000",
      "firing #3 firing 3000",
      "resolved #1 resolved 40",
      "resolved #3 resolved 39",
      "firing #2 firing 900",
      "resolved #2 resolved 41",
    ]);
  });
});
