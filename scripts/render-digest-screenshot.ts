/**
 * Renders the README's digest screenshot from the real digest builder over the demo's synthetic
 * data: `npx tsx scripts/render-digest-screenshot.ts`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { renderSmallMultiples } from "../src/charts/small-multiples.js";
import { ManualClock } from "../src/clock.js";
import { loadConfigFile } from "../src/config/load.js";
import { PgliteDatabase } from "../src/db/pglite.js";
import { demoInjections } from "../src/demo/demo.js";
import { createDemoTables, insertEvents } from "../src/demo/seed.js";
import { generateEvents, rng } from "../src/demo/synthetic.js";
import { buildDigest } from "../src/digest/build-digest.js";
import { silentLogger } from "../src/log.js";
import { migrate } from "../src/store/migrations.js";
import { StateStore } from "../src/store/state-store.js";

const DAY = 86_400_000;
const now = Date.UTC(2026, 10, 23, 9);
const loaded = await loadConfigFile(new URL("../config/demo.yaml", import.meta.url).pathname, {});
if (!loaded.ok) throw new Error("demo config invalid");
const db = await PgliteDatabase.open({ memory: true });
await createDemoTables(db);
await insertEvents(
  db,
  generateEvents(now - 15 * DAY, now, { perHour: 300, users: 4000, injections: demoInjections(now - 2 * DAY), rand: rng(7) }),
);
await migrate(db);
const digest = await buildDigest(
  { schedule: "0 9 * * *", notify: [], metrics: loaded.config.metrics.map((m) => m.name), experiments: false },
  { config: loaded.config, db, store: new StateStore(db), clock: new ManualClock(now), log: silentLogger() },
);
const out = new URL("../docs/screenshots/", import.meta.url);
mkdirSync(out, { recursive: true });
const png = renderSmallMultiples(digest.notification.panels ?? [], { title: digest.notification.title });
writeFileSync(new URL("digest.png", out), png);
writeFileSync(new URL("digest.txt", out), `${digest.notification.title}\n${digest.notification.text}\n`);
console.log(`${digest.notification.title}\n${digest.notification.text}`);
await db.close();
