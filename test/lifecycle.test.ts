import { describe, expect, it } from "vitest";
import { type Alert, fingerprintOf } from "../src/model/alert.js";
import { clearMeta, type Identity, type Observation, observe, onTime, raiseMeta } from "../src/model/lifecycle.js";

const id: Identity = {
  fingerprint: fingerprintOf("m", "s", "zscore"),
  kind: "metric",
  metric: "m",
  series: "s",
  detector: "zscore",
  details: {},
};
const policy = { for: 2, resolveAfter: 2, severity: "critical" as const, repeatEveryMs: 3_600_000 };
const obs = (bucket: number, anomalous: boolean, value = anomalous ? 500 : 100): Observation => ({
  bucket,
  anomalous,
  value,
  expected: 100,
  lower: 80,
  upper: 120,
  sigmas: anomalous ? 20 : 0,
  reason: anomalous ? "20σ above" : "",
});

describe("alert lifecycle", () => {
  it("pending -> firing after `for` anomalous buckets, peak and count tracked", () => {
    const a = observe(null, id, obs(1, true), policy, 10);
    expect(a.alert!.state).toBe("pending");
    expect(a.events[0]!.notify).toBeNull();
    const b = observe(a.alert, id, obs(2, true, 700), policy, 20);
    expect(b.alert!.state).toBe("firing");
    expect(b.events).toEqual([{ from: "pending", to: "firing", actor: "engine", note: "20σ above", notify: "firing" }]);
    expect(b.alert!.peakDeviation).toBe(600);
    expect(b.alert!.anomalousCount).toBe(2);
  });

  it("pending that recovers is dropped without a notification", () => {
    const a = observe(null, id, obs(1, true), policy, 10);
    const b = observe(a.alert, id, obs(2, false), policy, 20);
    expect(b.alert!.state).toBe("resolved");
    expect(b.events[0]!.notify).toBeNull();
  });

  it("resolves only after resolve_after in-band buckets; an anomaly in between resets the count", () => {
    let cur = observe(null, id, obs(1, true), { ...policy, for: 1 }, 0).alert;
    cur = observe(cur, id, obs(2, false), policy, 1).alert;
    expect(cur!.state).toBe("firing");
    cur = observe(cur, id, obs(3, true), policy, 2).alert;
    cur = observe(cur, id, obs(4, false), policy, 3).alert;
    expect(cur!.state).toBe("firing");
    const r = observe(cur, id, obs(5, false), policy, 4);
    expect(r.alert!.state).toBe("resolved");
    expect(r.events[0]!.notify).toBe("resolved");
  });

  it("a resolution shows the bucket that resolved it: its value against its own band", () => {
    const fired = observe(null, id, obs(1, true), { ...policy, for: 1 }, 0).alert;
    const back: Observation = { bucket: 2, anomalous: false, value: 40, expected: 42, lower: 30, upper: 54, sigmas: -0.3, reason: "" };
    const r = observe(fired, id, back, { ...policy, resolveAfter: 1 }, 1);
    expect(r.alert).toMatchObject({ state: "resolved", value: 40, expected: 42, lower: 30, upper: 54, sigmas: -0.3, bucket: 2 });
    // why it fired stays
    expect(r.alert!.reason).toBe("20σ above");
  });

  it("missing data changes nothing", () => {
    const a = observe(null, id, obs(1, true), { ...policy, for: 1 }, 0).alert!;
    const b = observe(a, id, { ...obs(2, false), value: null }, policy, 1);
    expect(b.alert).toBe(a);
    expect(b.events).toEqual([]);
  });

  it("repeat_every reminds while firing; snooze expiry returns to firing and re-notifies", () => {
    const a = observe(null, id, obs(1, true), { ...policy, for: 1 }, 0).alert!;
    expect(onTime(a, policy, 3_599_999).events).toEqual([]);
    const r = onTime(a, policy, 3_600_000);
    expect(r.events[0]!.notify).toBe("reminder");
    const snoozed: Alert = { ...a, state: "snoozed", snoozedUntil: 7_200_000 };
    expect(onTime(snoozed, policy, 7_199_999).events).toEqual([]);
    const back = onTime(snoozed, policy, 7_200_000);
    expect(back.alert!.state).toBe("firing");
    expect(back.events[0]).toMatchObject({ from: "snoozed", to: "firing", notify: "firing" });
  });

  it("meta-alerts fire at once and clear", () => {
    const metaId: Identity = { ...id, kind: "meta", detector: "source", fingerprint: "x" };
    const up = raiseMeta(null, metaId, "query failed", 5);
    expect(up.alert!.state).toBe("firing");
    expect(up.events[0]!.notify).toBe("firing");
    const again = raiseMeta(up.alert, metaId, "still failing", 6);
    expect(again.events).toEqual([]);
    const down = clearMeta(again.alert, 7, "works again");
    expect(down.alert!.state).toBe("resolved");
    expect(down.events[0]!.notify).toBe("resolved");
  });

  it("keeps the alert's anomalous buckets as runs, for its chart to mark them and nothing else", () => {
    const g = 10;
    const hourly: Identity = { ...id, details: { granularityMs: g } };
    const steps: Array<[number, boolean]> = [
      [10, true],
      [20, true],
      [30, false],
      [40, true],
      [50, true],
      [60, true],
    ];
    let cur: Alert | null = null;
    for (const [b, bad] of steps) cur = observe(cur, hourly, obs(b, bad), { ...policy, resolveAfter: 3 }, b).alert;
    expect(cur!.state).toBe("firing");
    expect(cur!.details.anomalous).toEqual([
      [10, 20],
      [40, 60],
    ]);
    // a missing bucket in between: the next anomalous one starts a run of its own
    cur = observe(cur, hourly, { ...obs(70, false), value: null }, policy, 70).alert;
    cur = observe(cur, hourly, obs(80, true), policy, 80).alert;
    expect(cur!.details.anomalous).toEqual([
      [10, 20],
      [40, 60],
      [80, 80],
    ]);
    // at most 32 runs: the oldest go
    for (let b = 100; b < 100 + 40 * 20; b += 20) cur = observe(cur, hourly, obs(b, true), policy, b).alert;
    expect(cur!.details.anomalous).toHaveLength(32);
    expect(cur!.details.anomalous!.at(-1)).toEqual([880, 880]);
    // a new alert after a resolved one starts from its own bucket; meta-alerts keep none
    const fresh = observe({ ...cur!, state: "resolved" }, hourly, obs(2000, true), policy, 2000).alert!;
    expect(fresh.details.anomalous).toEqual([[2000, 2000]]);
    expect(raiseMeta(null, { ...id, kind: "meta" }, "down", 1).alert!.details.anomalous).toBeUndefined();
  });
});
