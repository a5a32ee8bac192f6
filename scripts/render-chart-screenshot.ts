/** Renders the README's alert chart screenshot: `npx tsx scripts/render-chart-screenshot.ts`. */
import { mkdirSync, writeFileSync } from "node:fs";
import { renderAlertChart } from "../src/charts/alert-chart.js";
import { sampleChart } from "../test/fakes/sample-chart.js";

const out = new URL("../docs/screenshots/alert-chart.png", import.meta.url);
mkdirSync(new URL(".", out), { recursive: true });
const png = renderAlertChart(sampleChart(7 * 24, { start: Date.UTC(2026, 2, 2) }), {
  title: "#42 critical · dau {platform=ios}",
  subtitle: "seasonal: 511 vs expected 1,136 (−55.0%, −9.8σ) · since 2026-03-08 20:00 UTC",
});
writeFileSync(out, png);
console.log(`wrote ${out.pathname} (${png.length} bytes)`);
