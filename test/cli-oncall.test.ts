/**
 * On-call from the shell (subprocess): `vigil ack|unack|snooze|resolve ID` change alerts as the chat
 * buttons do and are audited as `cli:<OS user>`; `vigil alerts ID` shows the history and the latest
 * message; none of them, nor the read-only commands, needs the chat tokens the config names.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../src/clock.js";
import type { Database } from "../src/db/database.js";
import { PgliteDatabase } from "../src/db/pglite.js";
import { type Alert, fingerprintOf } from "../src/model/alert.js";
import { observe } from "../src/model/lifecycle.js";
import type { AlertNotification } from "../src/model/notification.js";
import { migrate } from "../src/store/migrations.js";
import { StateStore } from "../src/store/state-store.js";
import { runCli } from "./helpers/cli.js";
import { openSubprocessDatabase, subprocessEnv, type TestDatabase } from "./helpers/db.js";
import { writeOutcomes } from "./helpers/store-write.js";

/** Chat channels whose tokens are unset in the tests' environment (the subprocess gets none of them). */
const CONFIG = `
telegram: {token: "\${TELEGRAM_BOT_TOKEN}", allowed_users: [1]}
slack: {token: "\${SLACK_BOT_TOKEN:-}", app_token: "\${SLACK_APP_TOKEN}", allowed_users: [U1]}
channels:
  oncall: {type: telegram, chat_id: "-100123"}
  team: {type: slack, channel: C0123}
defaults: {notify: [oncall]}
metrics:
  - name: orders
    source: {table: orders_t, time_column: ts, value: sum(v), granularity: 1h}
`;
const NO_TOKENS = { TELEGRAM_BOT_TOKEN: undefined, SLACK_BOT_TOKEN: undefined, SLACK_APP_TOKEN: undefined };
const ACTOR = `cli:${userInfo().username}`;

interface HistoryJson {
  from: string | null;
  to: string;
  actor: string;
  note: string;
}
interface DetailJson {
  id: number;
  state: string;
  acted_by: string | null;
  history: HistoryJson[];
  messages: Array<{ channel: string; kind: string; status: string }>;
  latest_message: { channel: string; kind: string; text: string } | null;
}

describe("vigil ack, unack, snooze, resolve and alerts ID (subprocess)", () => {
  let t: TestDatabase;
  let dir: string;
  let cfg: string;
  let env: NodeJS.ProcessEnv;
  // a subprocess opening PGlite takes 20 s and more on two busy cores
  const cli = (...args: string[]) => runCli([...args, "-c", cfg], env);
  const auditRows = async (db: Database) =>
    (await db.query("SELECT actor, action, target, allowed, detail FROM vigil.audit_log ORDER BY id")).rows;
  /** The state database between subprocess runs (a PGlite directory is one process's at a time). */
  const inspect = async <T>(fn: (db: Database) => Promise<T>): Promise<T> => {
    if (!t.dataDir) return fn(t.db);
    const db = await PgliteDatabase.open({ dataDir: t.dataDir });
    try {
      return await fn(db);
    } finally {
      await db.close();
    }
  };

  beforeAll(async () => {
    t = await openSubprocessDatabase();
    dir = await mkdtemp(join(tmpdir(), "vigil-oncall-"));
    cfg = join(dir, "v.yaml");
    await writeFile(cfg, CONFIG);
    await t.db.exec("CREATE TABLE orders_t (ts timestamptz NOT NULL, v double precision)");
    await migrate(t.db);
    const store = new StateStore(t.db);
    const clock = new ManualClock(Date.UTC(2026, 5, 1, 12));
    const policy = { for: 1, resolveAfter: 1, severity: "critical" as const, repeatEveryMs: null };
    for (const series of ["shop=a", "shop=b"]) {
      const id = {
        fingerprint: fingerprintOf("orders", series, "seasonal"),
        kind: "metric" as const,
        metric: "orders",
        series,
        detector: "seasonal",
        details: {},
      };
      const obs = { bucket: clock.now(), anomalous: true, value: 12, expected: 100, lower: 80, upper: 120, sigmas: -9, reason: "9σ below" };
      const out = observe(null, id, obs, policy, clock.now());
      // the firing went to the oncall chat, as the daemon would have sent it
      await writeOutcomes(store, {
        outcomes: [{ alert: out.alert as Alert, events: out.events }],
        watermarks: [],
        deliveriesFor: (alert, ev, historyId) => {
          const payload: AlertNotification = {
            type: "alert",
            event: "firing",
            alert,
            previousState: ev.from,
            actor: ev.actor,
            note: ev.note,
            at: alert.updatedAt,
          };
          return ev.notify === "firing" ? [{ channel: "oncall", kind: "firing", payload, key: `${historyId}:oncall` }] : [];
        },
      });
    }
    if (t.dataDir) await t.db.close();
    env = { ...NO_TOKENS, ...subprocessEnv(t) };
  });
  afterAll(async () => {
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("ack: acknowledged by the OS user, in history and audit, with an update queued for the chat that carried it", async () => {
    const r = await cli("ack", "1");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`#1 acknowledged by ${ACTOR}; update queued for oncall (the running daemon sends it)\n`);
    const { alert, history, audit, updates } = await inspect(async (db) => {
      const store = new StateStore(db);
      return {
        alert: await store.getAlert(1),
        history: await store.history(1),
        audit: await auditRows(db),
        updates: await store.deliveriesAbout(1),
      };
    });
    expect(alert).toMatchObject({ state: "acknowledged", actedBy: ACTOR });
    expect(history.at(-1)).toMatchObject({ from: "firing", to: "acknowledged", actor: ACTOR, note: "acknowledged" });
    expect(audit).toEqual([
      { actor: ACTOR, action: "ack", target: "#1", allowed: true, detail: expect.objectContaining({ platform: "cli", ok: true }) },
    ]);
    const [update] = updates;
    expect(update).toMatchObject({ channel: "oncall", kind: "update", status: "pending" });
    expect(update!.payload).toMatchObject({
      event: "update",
      actor: ACTOR,
      previousState: "firing",
      alert: { id: 1, state: "acknowledged" },
    });
  }, 600_000);

  it("unack, snooze and resolve move the alert as the buttons do; refusals and bad input exit non-zero", async () => {
    expect((await cli("unack", "#1")).stdout).toContain(`#1 unacknowledged by ${ACTOR}`);
    const bad = await cli("snooze", "1", "5s");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("vigil snooze: snooze for between 1m and 30d, e.g. 2h, 90m, 1d (got '5s')\n");
    const before = Date.now();
    const snooze = await cli("snooze", "1", "2h");
    const after = Date.now();
    expect(snooze.code, snooze.stderr).toBe(0);
    expect(snooze.stdout).toContain(`#1 snoozed for 2h by ${ACTOR}`);
    const resolve = await cli("resolve", "1");
    expect(resolve.stdout).toContain(`#1 resolved by hand by ${ACTOR}`);
    const again = await cli("ack", "1");
    expect(again.code).toBe(1);
    expect(again.stderr).toBe("vigil ack: alert #1 is resolved; it cannot be acknowledged\n");
    const unknown = await cli("resolve", "99");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe("vigil resolve: no alert #99\n");
    const notId = await cli("ack", "one");
    expect(notId.code).toBe(2);
    expect(notId.stderr).toContain("not an alert id: 'one'");

    const { history, audit, messages } = await inspect(async (db) => {
      const store = new StateStore(db);
      return { history: await store.history(1), audit: await auditRows(db), messages: await store.deliveriesAbout(1) };
    });
    expect(history.map((h) => [h.from, h.to, h.actor])).toEqual([
      [null, "firing", "engine"],
      ["firing", "acknowledged", ACTOR],
      ["acknowledged", "firing", ACTOR],
      ["firing", "snoozed", ACTOR],
      ["snoozed", "resolved", ACTOR],
    ]);
    // each change queued its chat update, the snooze with its end two hours on
    expect(messages.map((m) => [m.kind, m.channel])).toEqual([
      ["resolved", "oncall"],
      ["update", "oncall"],
      ["update", "oncall"],
      ["update", "oncall"],
      ["firing", "oncall"],
    ]);
    const snoozed = messages[1]!.payload as AlertNotification;
    expect(snoozed.alert.state).toBe("snoozed");
    expect(snoozed.alert.snoozedUntil).toBeGreaterThanOrEqual(before + 2 * 3_600_000);
    expect(snoozed.alert.snoozedUntil).toBeLessThanOrEqual(after + 2 * 3_600_000);
    // the refused attempts are audited too, as the chat audits them
    expect(audit.map((a) => [a.action, a.target, (a.detail as { ok: boolean }).ok])).toEqual([
      ["ack", "#1", true],
      ["unack", "#1", true],
      ["snooze", "#1", true],
      ["resolve", "#1", true],
      ["ack", "#1", false],
      ["resolve", "#99", false],
    ]);
  }, 600_000);

  it("alerts ID shows the fields, the history and the latest message; an unknown id fails", async () => {
    const r = await cli("alerts", "1");
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe("#1 resolved · critical · orders {shop=a}");
    expect(r.stdout).toMatch(new RegExp(`^state\\s+resolved \\(by ${ACTOR}\\)$`, "m"));
    expect(r.stdout).toMatch(/^value\s+12 vs expected 100 \(band 80 – 120\): −88\.0%, −9\.0σ$/m);
    expect(r.stdout).toMatch(new RegExp(`^\\s+\\S+Z\\s+snoozed → resolved\\s+${ACTOR}\\s+resolved by hand$`, "m"));
    expect(r.stdout).toMatch(/^\s+\S+Z\s+resolved\s+oncall\s+pending$/m);
    const latest = lines.findIndex((l) => l.startsWith("latest message (resolved to oncall"));
    expect(latest, r.stdout).toBeGreaterThan(0);
    expect(lines[latest + 1]).toBe("  ✅ RESOLVED #1 · critical · orders {shop=a}");

    const json = await cli("alerts", "2", "--json");
    expect(json.code, json.stderr).toBe(0);
    const d = JSON.parse(json.stdout) as DetailJson;
    expect(d).toMatchObject({ id: 2, state: "firing", acted_by: null, history: [{ from: null, to: "firing", actor: "engine" }] });
    expect(d.messages).toEqual([expect.objectContaining({ channel: "oncall", kind: "firing", status: "pending" })]);
    expect(d.latest_message).toMatchObject({ channel: "oncall", kind: "firing" });
    expect(d.latest_message!.text).toContain("12 vs expected 100");

    const missing = await cli("alerts", "42");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe("vigil alerts: no alert #42\n");
  }, 600_000);

  it("read-only commands run without the chat tokens the config names", async () => {
    const alerts = await cli("alerts");
    expect(alerts.code, alerts.stderr).toBe(0);
    expect(alerts.stdout).toMatch(/^#2\s+orders\s+shop=b/m);
    const silences = await cli("silence", "list");
    expect(silences.code, silences.stderr).toBe(0);
    expect(silences.stdout).toBe("no active silences\n");
    const experiments = await cli("experiments");
    expect(experiments.code, experiments.stderr).toBe(0);
    const backtest = await cli("backtest", "--metric", "orders");
    expect(backtest.code, backtest.stderr).toBe(0);
    expect(backtest.stdout).toContain("0 alerts would have fired");
    const validate = await cli("validate");
    expect(validate.code, validate.stderr).toBe(0);
    expect(validate.stderr).toContain("telegram.token: warning: environment variable TELEGRAM_BOT_TOKEN is not set");
    expect(validate.stderr).toContain(
      "channels.team.type: warning: channel 'team' is a slack channel but slack.token is empty (is SLACK_BOT_TOKEN set?); `vigil run` needs it",
    );
    for (const r of [alerts, silences, experiments, backtest]) expect(r.stderr).not.toContain("TOKEN");
  }, 600_000);
});
