import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AlertActions } from "../src/actions.js";
import { ManualClock } from "../src/clock.js";
import type { MetricConfig, VigilConfig } from "../src/config/types.js";
import { Engine } from "../src/engine/engine.js";
import { silentLogger } from "../src/log.js";
import { makeFetcher } from "../src/source-fetcher.js";
import { migrate } from "../src/store/migrations.js";
import { StateStore } from "../src/store/state-store.js";
import { VigilMetrics } from "../src/telemetry/metrics.js";
import { metric as baseMetric, HOUR, vigilConfig } from "./helpers/config.js";
import { openTestDatabase, type TestDatabase } from "./helpers/db.js";
import { createMetricTable, insertRows, noise, type Row } from "./helpers/series.js";

const T0 = Date.UTC(2026, 0, 5);
let n = 0;
let schema = "";
let table = "";

/** `count` series s0..sN, hourly for 9 days; `spikes[h]` lists the series that spike at hour h. */
function rowsFor(count: number, spikes: Record<number, number[]>, hours = 9 * 24): Row[] {
  const rnd = noise(n);
  const rows: Row[] = [];
  for (let h = 0; h < hours; h++) {
    for (let i = 0; i < count; i++)
      rows.push({ ts: T0 + h * HOUR, series: `s${i}`, v: spikes[h]?.includes(i) ? 1000 + i : 100 + rnd() * 10 });
  }
  return rows;
}

function metric(overrides: Partial<MetricConfig> = {}): MetricConfig {
  return baseMetric({
    name: "m",
    source: { table, time_column: "ts", value: "sum(v)", split_by: ["series"], dimensions: [] },
    notify: ["out", "hook"],
    ...overrides,
  });
}

function config(metrics: MetricConfig[], extra: Partial<VigilConfig> = {}): VigilConfig {
  return vigilConfig(metrics, {
    channels: {
      out: { type: "console", send_resolved: true },
      hook: { type: "webhook", url: "http://127.0.0.1:1/never", headers: {}, send_resolved: false },
    },
    ...extra,
  });
}

describe("noise control (injected clock)", () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await openTestDatabase();
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(async () => {
    n++;
    schema = `noise_${n}`;
    table = `noise_data_${n}`;
    await migrate(t.db, schema);
    await createMetricTable(t.db, table);
  });

  function setup(cfg: VigilConfig, at: number) {
    const store = new StateStore(t.db, schema);
    const clock = new ManualClock(at);
    const engine = new Engine(cfg, {
      store,
      fetch: makeFetcher(t.db, silentLogger()),
      clock,
      log: silentLogger(),
      metrics: new VigilMetrics({ defaultMetrics: false }),
    });
    return { store, clock, engine, actions: new AlertActions(store, clock, () => cfg) };
  }

  const kinds = async (store: StateStore, channel: string) =>
    (await store.deliveries()).filter((d) => d.channel === channel).map((d) => d.kind);

  it("groups the series one tick opens for a metric into one message; webhooks still get each alert", async () => {
    await insertRows(t.db, table, rowsFor(3, { 200: [0, 1, 2] }));
    const { store, engine } = setup(config([metric()]), T0 + 201 * HOUR);
    await engine.evaluate();
    expect(await kinds(store, "out")).toEqual(["group"]);
    expect(await kinds(store, "hook")).toEqual(["firing", "firing", "firing"]);
    const group = (await store.deliveries()).find((d) => d.kind === "group")!;
    expect(group.payload.type === "group" && group.payload.alerts.map((a) => a.alert.series)).toEqual([
      "series=s0",
      "series=s1",
      "series=s2",
    ]);
  });

  it("collapses a storm into one summary per channel and minute, then resumes", async () => {
    await insertRows(t.db, table, rowsFor(6, { 200: [0, 1, 2, 3, 4, 5], 203: [0] }));
    const cfg = config([metric({ notify: ["out"] })]);
    cfg.defaults.storm_limit = 3;
    const { store, engine, clock } = setup(cfg, T0 + 201 * HOUR);
    await engine.evaluate();
    const out = await store.deliveries();
    expect(out.map((d) => d.kind)).toEqual(["storm"]);
    expect(out[0]!.payload.type === "text" && out[0]!.payload.title).toMatch(/ALERT STORM: 6 new alerts/);
    expect((await store.openAlerts()).filter((a) => a.state === "firing")).toHaveLength(6);
    // hours later the same channel gets a normal message again
    clock.set(T0 + 204 * HOUR);
    await engine.evaluate();
    expect((await store.deliveries()).map((d) => d.kind).filter((k) => k !== "resolved")).toEqual(["storm", "firing"]);
  });

  it("silenced and muted alerts change state but send nothing", async () => {
    await insertRows(t.db, table, rowsFor(2, { 200: [0, 1] }));
    const muted = config([metric({ name: "m", mute: [{ cron: "0 * * * *", durationMs: 30 * 60_000 }] })]);
    const a = setup(muted, T0 + 201 * HOUR + 5 * 60_000);
    await a.engine.evaluate();
    expect(await a.store.deliveries()).toEqual([]);
    expect((await a.store.openAlerts()).map((x) => x.state)).toEqual(["firing", "firing"]);

    schema = `${schema}_b`;
    await migrate(t.db, schema);
    const b = setup(config([metric()]), T0 + 201 * HOUR);
    await b.actions.silence({ metric: "m*", series: "series=s1", durationMs: HOUR, reason: "known", actor: "cli" });
    await b.engine.evaluate();
    const sent = await b.store.deliveries();
    expect(sent.filter((d) => d.channel === "out").map((d) => d.payload.type === "alert" && d.payload.alert.series)).toEqual(["series=s0"]);
    expect(sent.filter((d) => d.channel === "hook")).toHaveLength(1);
    expect((await b.store.openAlerts()).map((x) => x.series).sort()).toEqual(["series=s0", "series=s1"]);
    // the silence expires by itself
    expect(await b.actions.silences()).toHaveLength(1);
    b.clock.advance(HOUR);
    expect(await b.actions.silences()).toHaveLength(0);
  });

  it("repeat_every reminds while firing and unacknowledged; acknowledging stops it; snooze expiry re-notifies", async () => {
    const spikes: Record<number, number[]> = {};
    for (let h = 200; h < 210; h++) spikes[h] = [0];
    await insertRows(t.db, table, rowsFor(1, spikes, 212));
    const { store, engine, clock, actions } = setup(
      config([metric({ notify: ["out"], repeatEveryMs: 2 * HOUR, detectors: [{ type: "threshold", max: 500 }] })]),
      T0 + 201 * HOUR,
    );
    await engine.evaluate();
    clock.advance(HOUR);
    await engine.evaluate();
    expect(await kinds(store, "out")).toEqual(["firing"]);
    clock.advance(HOUR);
    await engine.evaluate();
    expect(await kinds(store, "out")).toEqual(["firing", "reminder"]);
    const id = (await store.openAlerts())[0]!.id!;
    const ack = await actions.acknowledge(id, "alice");
    expect(ack.ok).toBe(true);
    expect(await kinds(store, "out")).toEqual(["firing", "reminder", "update"]);
    clock.advance(3 * HOUR);
    await engine.evaluate();
    expect(await kinds(store, "out")).toEqual(["firing", "reminder", "update"]);
    const snooze = await actions.snooze(id, HOUR, "bob");
    expect(snooze.ok && snooze.alert.state).toBe("snoozed");
    clock.advance(HOUR);
    await engine.evaluate();
    expect((await store.getAlert(id))!.state).toBe("firing");
    expect(await kinds(store, "out")).toEqual(["firing", "reminder", "update", "update", "firing"]);
    const history = (await store.history(id)).map((h) => `${h.to}:${h.actor}`);
    expect(history).toEqual(["firing:engine", "firing:repeat", "acknowledged:alice", "snoozed:bob", "firing:snooze-expiry"]);
    expect((await actions.resolve(id, "carol")).ok).toBe(true);
    expect((await actions.resolve(id, "carol")).ok).toBe(false);
  });

  it("a flapping series is reported once per episode (24 h), then kept quiet", async () => {
    const spikes: Record<number, number[]> = {};
    for (let h = 150; h < 172; h += 2) spikes[h] = [0];
    await insertRows(t.db, table, rowsFor(1, spikes, 200));
    const { store, engine, clock } = setup(
      config([metric({ notify: ["out"], resolveAfter: 1, detectors: [{ type: "threshold", max: 500 }] })]),
      T0 + 150 * HOUR,
    );
    for (let h = 150; h < 190; h++) {
      clock.set(T0 + (h + 1) * HOUR);
      await engine.evaluate();
    }
    const k = await kinds(store, "out");
    const firstFlap = k.indexOf("flapping");
    expect(firstFlap).toBeGreaterThan(0);
    expect(k.filter((x) => x === "flapping")).toHaveLength(1);
    expect(k.slice(firstFlap + 1)).toEqual([]);
    expect(k.filter((x) => x === "firing")).toHaveLength(4);
  });
});
