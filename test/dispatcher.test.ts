import { beforeEach, describe, expect, it } from "vitest";
import { createNotifiers } from "../notifiers/registry.js";
import { ManualClock } from "../src/clock.js";
import { silentLogger } from "../src/log.js";
import type { Alert } from "../src/model/alert.js";
import type { AlertNotification } from "../src/model/notification.js";
import { Dispatcher } from "../src/notify/dispatcher.js";
import type { StateStore } from "../src/store/state-store.js";
import { VigilMetrics } from "../src/telemetry/metrics.js";
import { makeAlert } from "./fakes/alerts.js";
import { vigilConfig } from "./helpers/config.js";
import { useStateSchemas } from "./helpers/state.js";
import { writeOutcomes } from "./helpers/store-write.js";
import { WebhookReceiver } from "./helpers/webhook-receiver.js";

const T0 = Date.UTC(2026, 0, 5, 12);

/** The i-th test alert: one series each, values 500, 501, ... so arrival order is visible. */
function alert(i: number): Alert {
  return makeAlert({
    metric: "m",
    series: `s${i}`,
    detector: "zscore",
    fingerprint: `m\u001f\u001fz${i}`,
    value: 500 + i,
    startedAt: T0,
    updatedAt: T0,
    firedAt: T0,
  });
}

describe("dispatcher (outbox) against a failing webhook receiver", () => {
  const state = useStateSchemas("d");
  let store: StateStore;
  let hook: WebhookReceiver;
  let clock: ManualClock;
  let metrics: VigilMetrics;
  let dispatcher: Dispatcher;

  beforeEach(async () => {
    store = await state.freshStore();
    hook = await new WebhookReceiver().start();
    clock = new ManualClock(T0);
    metrics = new VigilMetrics({ defaultMetrics: false });
    const config = vigilConfig([], {
      channels: { hook: { type: "webhook", url: hook.url, headers: { "x-token": "s3cret" }, send_resolved: true } },
    });
    // a client timeout far above a loaded machine's response time, so only the scripted hang times out
    const notifiers = createNotifiers({ config, log: silentLogger(), stdout: process.stdout, httpTimeoutMs: 1500 });
    dispatcher = new Dispatcher({ store, notifiers: () => notifiers, clock, log: silentLogger(), metrics, random: () => 1 });
    return () => hook.close();
  });

  async function enqueue(count: number) {
    for (let i = 0; i < count; i++) {
      await writeOutcomes(store, {
        outcomes: [{ alert: alert(i), events: [{ from: null, to: "firing", actor: "engine", note: "", notify: "firing" }] }],
        watermarks: [],
        deliveriesFor: (a, ev, h) => [
          {
            channel: "hook",
            kind: "firing",
            key: `${h}:hook`,
            payload: {
              type: "alert",
              event: "firing",
              alert: a,
              previousState: ev.from,
              actor: ev.actor,
              note: "",
              at: T0,
            } satisfies AlertNotification,
          },
        ],
      });
    }
  }

  it("delivers in order exactly once through 500s, 429 with Retry-After, resets and timeouts", async () => {
    await enqueue(5);
    hook.script.push(
      { kind: "status", status: 500 },
      { kind: "status", status: 429, retryAfter: "7" },
      { kind: "reset" },
      { kind: "hang" },
      { kind: "status", status: 503 },
    );
    for (let round = 0; round < 40 && hook.received.length < 5; round++) {
      await dispatcher.drain();
      clock.advance(60_000);
    }
    expect(hook.received.map((r) => r.body.value)).toEqual([500, 501, 502, 503, 504]);
    const keys = hook.received.map((r) => r.headers["idempotency-key"]);
    expect(new Set(keys).size).toBe(5);
    expect(hook.received[0]!.headers["x-token"]).toBe("s3cret");
    expect(await store.queueDepth()).toBe(0);
    const sent = await metrics.registry.getSingleMetricAsString("vigil_deliveries_total");
    expect(sent).toMatch(/outcome="sent"} 5/);
    expect(sent).toMatch(/outcome="retried"} 5/);
  });

  it("honours Retry-After: nothing is sent before it passes", async () => {
    await enqueue(1);
    hook.script.push({ kind: "status", status: 429, retryAfter: "120" });
    await dispatcher.drain();
    expect(hook.received).toHaveLength(0);
    clock.advance(119_000);
    await dispatcher.drain();
    expect(hook.attempts).toBe(1);
    clock.advance(1000);
    await dispatcher.drain();
    expect(hook.received).toHaveLength(1);
  });

  it("an absurd Retry-After waits at most an hour, and an unparseable one falls back to the backoff", async () => {
    await enqueue(3);
    // 31 years, then a date past the end of JavaScript time, then nonsense
    hook.script.push(
      { kind: "status", status: 429, retryAfter: "1000000000" },
      { kind: "status", status: 429, retryAfter: "10000000000000" },
      { kind: "status", status: 429, retryAfter: "soon" },
    );
    await dispatcher.drain();
    clock.advance(3_599_000);
    await dispatcher.drain();
    expect(hook.attempts).toBe(1);
    clock.advance(1000);
    await dispatcher.drain();
    expect(hook.attempts).toBe(2);
    clock.advance(3_600_000);
    await dispatcher.drain();
    expect(hook.attempts).toBe(3);
    // "soon": the backoff of a third attempt (4 s with this jitter), then the rest of the queue in order
    clock.advance(3000);
    await dispatcher.drain();
    expect(hook.attempts).toBe(3);
    clock.advance(1000);
    await dispatcher.drain();
    expect(hook.received.map((r) => r.body.value)).toEqual([500, 501, 502]);
  });

  it("a Retry-After never pushes a retry past the give-up age", () => {
    const d = new Dispatcher({ store, notifiers: () => new Map(), clock, log: silentLogger(), metrics, random: () => 1 });
    expect(d.retryWait(7_200_000, 0, 1_800_000)).toBe(1_800_000);
    expect(d.retryWait(120_000, 0, 1_800_000)).toBe(120_000);
    expect(d.retryWait(Number.NaN, 2, 1_800_000)).toBe(d.backoff(2));
  });

  it("redirects are not followed: a 301 or a 307 elsewhere is a failure that is retried, never a delivery", async () => {
    const elsewhere = await new WebhookReceiver().start();
    try {
      await enqueue(1);
      hook.script.push({ kind: "redirect", status: 301, location: hook.url }, { kind: "redirect", status: 307, location: elsewhere.url });
      const errors: string[] = [];
      for (let i = 0; i < 2; i++) {
        await dispatcher.drain();
        const [d] = await store.deliveries({ status: "pending" });
        errors.push(d!.lastError ?? "");
        clock.advance(60_000);
      }
      expect(errors[0]).toMatch(/HTTP 301 redirect to http:\/\/127\.0\.0\.1:\d+\/hook not followed/);
      expect(errors[1]).toMatch(/HTTP 307 redirect/);
      expect(elsewhere.attempts).toBe(0);
      expect(hook.received).toHaveLength(0);
      await dispatcher.drain();
      expect(hook.received.map((r) => r.body.value)).toEqual([500]);
      expect(hook.received[0]!.headers["x-token"]).toBe("s3cret");
    } finally {
      await elsewhere.close();
    }
  });

  it("a permanent 4xx or the give-up age marks the delivery dead and reports it", async () => {
    const dead: string[] = [];
    const notifiers = createNotifiers({
      config: vigilConfig([], { channels: { hook: { type: "webhook", url: hook.url, headers: {}, send_resolved: true } } }),
      log: silentLogger(),
      stdout: process.stdout,
    });
    const d = new Dispatcher({
      store,
      notifiers: () => notifiers,
      clock,
      log: silentLogger(),
      metrics,
      giveUpMs: 3_600_000,
      onDead: (x, e) => dead.push(`${x.id}:${e}`),
    });
    await enqueue(2);
    hook.script.push({ kind: "status", status: 400, body: "bad chat" });
    // the second keeps failing with 500 until the give-up age
    for (let i = 0; i < 30; i++) hook.script.push({ kind: "status", status: 500 });
    await d.drain();
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatch(/HTTP 400/);
    for (let i = 0; i < 20 && dead.length < 2; i++) {
      await d.drain();
      clock.advance(10 * 60_000);
    }
    expect(dead).toHaveLength(2);
    expect((await store.deliveries({ status: "dead" })).length).toBe(2);
  });

  it("backoff grows exponentially with jitter, capped", () => {
    const d = new Dispatcher({ store, notifiers: () => new Map(), clock, log: silentLogger(), metrics, random: () => 0 });
    expect(d.backoff(0)).toBe(500);
    expect(d.backoff(3)).toBe(4000);
    expect(d.backoff(40)).toBe(150_000);
  });
});
