import { describe, expect, it } from "vitest";
import type { Alert } from "../src/model/alert.js";
import type { AlertNotification } from "../src/model/notification.js";
import { makeAlert } from "./fakes/alerts.js";
import { useStateSchemas } from "./helpers/state.js";
import { writeOutcomes } from "./helpers/store-write.js";

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 5, 1);
const OLD = NOW - 120 * DAY;

describe("retention", () => {
  const state = useStateSchemas("ret");

  it("deletes closed alerts with their history, sent and dead notifications, audit entries, ended silences and idle watermarks older than the limit, and keeps everything open or recent", async () => {
    const store = await state.freshStore();
    const s = store.s;
    const alert = (series: string, o: Partial<Alert>): Alert =>
      makeAlert({ series, fingerprint: `dau\u001f${series}\u001fseasonal`, startedAt: OLD, updatedAt: OLD, firedAt: OLD, ...o });
    const saved = await writeOutcomes(store, {
      outcomes: [
        {
          alert: alert("old-resolved", { state: "resolved", resolvedAt: OLD }),
          events: [{ from: "firing", to: "resolved", actor: "engine", note: "", notify: "resolved" }],
        },
        {
          alert: alert("old-open", { state: "firing" }),
          events: [{ from: null, to: "firing", actor: "engine", note: "", notify: "firing" }],
        },
        { alert: alert("new-resolved", { state: "resolved", resolvedAt: NOW - DAY, updatedAt: NOW - DAY }), events: [] },
      ],
      watermarks: [
        { metric: "dau", series: "gone", watermark: OLD },
        { metric: "dau", series: "live", watermark: NOW },
      ],
      deliveriesFor: (a, ev, h) => [
        {
          channel: "out",
          kind: ev.to === "resolved" ? "resolved" : "firing",
          key: `${h}:out`,
          payload: {
            type: "alert",
            event: "firing",
            alert: a,
            previousState: ev.from,
            actor: ev.actor,
            note: "",
            at: a.updatedAt,
          } satisfies AlertNotification,
        },
      ],
    });
    const [oldResolved, oldOpen, newResolved] = saved;
    const [sentOld, pendingOld] = await store.deliveries();
    await store.markSent(sentOld!.id, OLD);
    await store.audit({ at: OLD, actor: "tg:1", action: "ack", allowed: true });
    await store.audit({ at: NOW, actor: "tg:1", action: "ack", allowed: true });
    await store.addSilence({ metricGlob: "dau", seriesGlob: "*", reason: "", createdBy: "x", at: OLD, endsAt: OLD + DAY });
    const live = await store.addSilence({ metricGlob: "dau", seriesGlob: "*", reason: "", createdBy: "x", at: NOW, endsAt: NOW + DAY });
    await store.db.query(`UPDATE ${s}.series_state SET updated_at = $1 WHERE series = 'gone'`, [new Date(OLD)]);

    const deleted = await store.prune(NOW - 90 * DAY, NOW - 90 * DAY, 1);
    expect(deleted).toEqual({ deliveries: 1, alerts: 1, audit: 1, silences: 1, watermarks: 1 });
    expect(await store.getAlert(oldResolved!.id)).toBeNull();
    expect(await store.history(oldResolved!.id)).toEqual([]);
    expect((await store.getAlert(oldOpen!.id))!.state).toBe("firing");
    expect(await store.getAlert(newResolved!.id)).not.toBeNull();
    // the pending notification of the open alert is never deleted, however old
    expect((await store.deliveries()).map((d) => d.id)).toEqual([pendingOld!.id]);
    expect((await store.listSilences({ all: true, now: NOW })).map((x) => x.id)).toEqual([live.id]);
    expect([...(await store.watermarks("dau")).keys()]).toEqual(["live"]);
    const { rows } = await store.db.query(`SELECT count(*)::int AS n FROM ${s}.audit_log`);
    expect(rows[0]!.n).toBe(1);
    expect(await store.prune(NOW - 90 * DAY)).toEqual({ deliveries: 0, alerts: 0, audit: 0, silences: 0, watermarks: 0 });
  });
});
