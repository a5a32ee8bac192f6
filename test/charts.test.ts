import { describe, expect, it } from "vitest";
import { alertChartSvg, renderAlertChart } from "../src/charts/alert-chart.js";
import { renderSmallMultiples, smallMultiplesSvg } from "../src/charts/small-multiples.js";
import { niceTicks, timeTicks } from "../src/charts/svg.js";
import type { ChartData } from "../src/model/notification.js";
import { sampleChart } from "./fakes/sample-chart.js";

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 5);

function pngSize(buf: Buffer): { w: number; h: number } {
  expect(buf.subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
  return { w: buf.readUInt32BE(16), h: buf.readUInt32BE(20) };
}

describe("alert chart", () => {
  it("draws the value line, band, expected line, threshold, anomalies and time labels", () => {
    const svg = alertChartSvg(sampleChart(), { title: "dau {platform=ios}", subtitle: "seasonal · 5 anomalous" });
    expect(svg.match(/<circle[^>]*#d1242f/g)?.length).toBeGreaterThanOrEqual(4);
    expect(svg).toContain('stroke-dasharray="6 4"'); // threshold
    expect(svg).toContain("min 400");
    expect(svg).toMatch(/>01-\d\d</); // date labels over two weeks
    expect(svg).toContain('fill-opacity="0.35"');
  });

  it("marks an anomalous bucket without a value (missing data) on the time axis, and only marked rows", () => {
    const rows: ChartData["rows"] = Array.from({ length: 24 }, (_, i) => [
      T0 + i * HOUR,
      i >= 20 ? null : 100 + i,
      100,
      90,
      110,
      i === 21 ? 1 : 0,
    ]);
    const svg = alertChartSvg({ rows, granularityMs: HOUR }, { title: "gap" });
    expect(svg.match(/<circle[^>]*r="4.5" fill="#d1242f"/g)).toBeNull();
    expect(svg.match(/<path d="M[^"]*Z" fill="#d1242f"/g)).toHaveLength(1);
  });

  it("escapes hostile titles and clips long ones", () => {
    const svg = alertChartSvg(sampleChart(48), { title: `<b>&"x'</b> ${"y".repeat(5000)} 🚀`, subtitle: "<script>" });
    expect(svg).not.toContain("<b>");
    expect(svg).not.toContain("<script>");
    expect(svg).toContain("&#60;b&#62;&#38;&#34;x&#39;");
    expect(svg.length).toBeLessThan(60_000);
  });

  it("renders a PNG quickly with the bundled font, also with gaps and without data", () => {
    renderAlertChart(sampleChart(), { title: "warm-up" });
    const started = performance.now();
    const png = renderAlertChart(sampleChart(14 * 24, { gaps: true }), { title: "dau", subtitle: "seasonal" });
    const took = performance.now() - started;
    expect(pngSize(png)).toEqual({ w: 1200, h: 540 });
    // a render takes tens of ms; the bound only catches a pathological one (a system font scan, a
    // path per pixel), loose enough for a machine running other test files beside this one
    expect(took).toBeLessThan(1000);
    expect(pngSize(renderAlertChart({ rows: [], granularityMs: HOUR }, { title: "empty" })).w).toBe(1200);
    const flat: ChartData = {
      rows: [
        [T0, 5, 5, null, null, 0],
        [T0 + HOUR, 5, 5, null, null, 1],
      ],
      granularityMs: HOUR,
    };
    expect(pngSize(renderAlertChart(flat, { title: "flat", scale: 1 }))).toEqual({ w: 800, h: 360 });
  });
});

describe("small multiples", () => {
  it("lays out panels in a grid and renders a PNG", () => {
    const panels = ["dau", "revenue <usd>", "signups & co", "errors"].map((title, k) => ({
      title,
      points: Array.from({ length: 48 }, (_, i): [number, number | null] => [T0 + i * HOUR, i === 10 ? null : 100 * (k + 1) + i]),
      anomalies: [T0 + 47 * HOUR],
      note: "+3% vs last week",
    }));
    const svg = smallMultiplesSvg(panels, { title: "Daily digest", columns: 2 });
    expect(svg).toContain("revenue &#60;usd&#62;");
    expect(svg.match(/<g transform/g)).toHaveLength(4);
    const png = renderSmallMultiples(panels, { title: "Daily digest", columns: 2, scale: 1 });
    expect(pngSize(png)).toEqual({ w: 536, h: 262 });
    expect(pngSize(renderSmallMultiples([], { scale: 1 })).w).toBeGreaterThan(0);
  });
});

describe("ticks", () => {
  it("are round numbers and round times", () => {
    expect(niceTicks(0, 97, 5)).toEqual([0, 20, 40, 60, 80]);
    expect(niceTicks(5, 5).length).toBeGreaterThan(1);
    expect(timeTicks(T0 + 1000, T0 + 24 * HOUR, 6).every((t) => t % (3 * HOUR) === 0)).toBe(true);
  });
});
