/**
 * Renders the README's alert screenshot and its message from the real engine over the demo's
 * synthetic data: a drop of iOS users (most of it in Brazil) is judged by the demo config's
 * detectors, and the chart and text of the alert it fires are what Telegram would get.
 * `npx tsx scripts/render-chart-screenshot.ts`
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { alertButtons, alertMessage, plainText } from "../notifiers/chat-message.js";
import { renderAlertChart } from "../src/charts/alert-chart.js";
import { ManualClock } from "../src/clock.js";
import { loadConfigFile } from "../src/config/load.js";
import { PgliteDatabase } from "../src/db/pglite.js";
import { createDemoTables, insertEvents } from "../src/demo/seed.js";
import { generateEvents, type Injection, rng } from "../src/demo/synthetic.js";
import { Engine } from "../src/engine/engine.js";
import { findDrivers } from "../src/engine/root-cause.js";
import { silentLogger } from "../src/log.js";
import { seriesLabel } from "../src/model/format.js";
import type { AlertNotification } from "../src/model/notification.js";
import { makeFetcher } from "../src/source-fetcher.js";
import { migrate } from "../src/store/migrations.js";
import { StateStore } from "../src/store/state-store.js";
import { VigilMetrics } from "../src/telemetry/metrics.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const start = Date.UTC(2026, 2, 2);
const drop = start + 4 * DAY + 19 * HOUR;
const loaded = await loadConfigFile(new URL("../config/demo.yaml", import.meta.url).pathname, {});
if (!loaded.ok) throw new Error("demo config invalid");
// deliveries are only stored here, never sent: a webhook channel keeps every alert with its chart
const config = {
  ...loaded.config,
  channels: { chat: { type: "webhook" as const, url: "http://127.0.0.1:9/", send_resolved: true, headers: {} } },
  metrics: loaded.config.metrics.filter((m) => m.name === "active_users").map((m) => ({ ...m, notify: ["chat"] })),
};
const injections: Injection[] = [
  { from: drop, to: drop + 3 * HOUR, factor: 0.6, platform: "ios", label: "iOS users drop" },
  { from: drop, to: drop + 3 * HOUR, factor: 0.1, platform: "ios", country: "BR", label: "iOS users in Brazil drop" },
];
const gen = { perHour: 300, users: 4000, injections, rand: rng(7) };
const db = await PgliteDatabase.open({ memory: true });
await createDemoTables(db);
await insertEvents(db, generateEvents(start - 15 * DAY, start, gen));
await migrate(db);
const store = new StateStore(db);
const clock = new ManualClock(start);
const engine = new Engine(config, {
  store,
  fetch: makeFetcher(db, silentLogger()),
  drill: (m, target) => findDrivers(db, m, target),
  clock,
  log: silentLogger(),
  metrics: new VigilMetrics({ defaultMetrics: false }),
});
let alert: AlertNotification | undefined;
for (let generated = start; !alert && clock.now() < drop + 4 * HOUR; ) {
  await engine.evaluate();
  clock.advance(HOUR);
  await insertEvents(db, generateEvents(generated, clock.now(), gen));
  generated = clock.now();
  alert = (await store.deliveries())
    .map((d) => d.payload as AlertNotification)
    .find((n) => n.type === "alert" && n.event === "firing" && n.alert.series === "platform=ios" && n.chart !== undefined);
}
await db.close();
if (!alert?.chart) throw new Error("the iOS drop raised no alert");
const a = alert.alert;
const out = new URL("../docs/screenshots/", import.meta.url);
mkdirSync(out, { recursive: true });
// as the Telegram notifier draws it
const png = renderAlertChart(alert.chart, {
  title: `#${a.id} ${a.severity} · ${seriesLabel(a.metric, a.series)}`,
  subtitle: `${a.detector}${a.reason ? `: ${a.reason}` : ""}`,
});
writeFileSync(new URL("alert-chart.png", out), png);
const buttons = alertButtons(a).map((row) => row.map((b) => `[${b.label}]`).join(" "));
const text = [plainText(alertMessage(alert)), ...buttons].join("\n");
writeFileSync(new URL("alert-chart.txt", out), `${text}\n`);
console.log(text);
