/**
 * The chart under an alert: the recent history, the detector's expected line and band, the
 * anomalous points in red and static thresholds, drawn as SVG and rendered to PNG.
 */
import type { ChartData, ChartRow } from "../model/notification.js";
import { svgToPng } from "./render-png.js";
import { bandPaths, clip, escapeXml, linearScale, linePath, niceTicks, shortNumber, timeLabel, timeTicks } from "./svg.js";

export interface AlertChartOptions {
  title: string;
  /** Second line under the title (detector, window...). */
  subtitle?: string;
  width?: number;
  height?: number;
  /** Output pixels per SVG unit (2 = sharp on phones). */
  scale?: number;
}

const COLORS = {
  value: "#1f6feb",
  expected: "#6e7781",
  band: "#8fb8f0",
  anomaly: "#d1242f",
  threshold: "#bf8700",
  grid: "#e6e8eb",
  axis: "#57606a",
  text: "#1f2328",
};

export function alertChartSvg(chart: ChartData, opts: AlertChartOptions): string {
  const W = opts.width ?? 800;
  const H = opts.height ?? 360;
  const m = { top: opts.subtitle ? 56 : 38, right: 20, bottom: 50, left: 64 };
  // Bold 15px DejaVu is about 9.5px per character: clip the title to the width instead of overflowing.
  const titleChars = Math.max(10, Math.floor((W - m.left - 10) / 9.5));
  const rows = chart.rows;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${m.left}" y="22" font-size="15" font-weight="bold" fill="${COLORS.text}">${escapeXml(clip(opts.title, titleChars))}</text>`,
  );
  if (opts.subtitle) {
    out.push(`<text x="${m.left}" y="41" fill="${COLORS.axis}">${escapeXml(clip(opts.subtitle, Math.floor(titleChars * 1.2)))}</text>`);
  }
  const ys: number[] = [];
  for (const [, v, e, lo, hi] of rows) for (const x of [v, e, lo, hi]) if (x !== null && Number.isFinite(x)) ys.push(x);
  for (const x of [chart.thresholds?.min, chart.thresholds?.max]) if (x !== undefined && Number.isFinite(x)) ys.push(x);
  if (rows.length === 0 || ys.length === 0) {
    out.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle" fill="${COLORS.axis}">no data</text></svg>`);
    return out.join("");
  }
  let lo = Math.min(...ys);
  let hi = Math.max(...ys);
  const pad = (hi - lo) * 0.08 || Math.abs(hi) * 0.1 || 1;
  lo -= pad;
  hi += pad;
  const yTicks = niceTicks(lo, hi, 5);
  lo = Math.min(lo, yTicks[0] ?? lo);
  hi = Math.max(hi, yTicks[yTicks.length - 1] ?? hi);
  const t0 = rows[0]![0];
  // The last bucket spans a full granularity: the x range covers it so the last point is not on the edge.
  const t1 = Math.max(rows[rows.length - 1]![0] + (chart.granularityMs || 0), t0 + 1);
  const x = linearScale(t0, t1, m.left, W - m.right);
  const y = linearScale(lo, hi, H - m.bottom, m.top);
  // Points sit in the middle of their bucket.
  const half = (chart.granularityMs || 0) / 2;
  const px = (t: number) => x(t + half);
  const frame: Frame = { width: W, height: H, margin: m, y, px };
  drawAxes(out, frame, yTicks, x, t0, t1);
  const finite = isFiniteNumber;
  for (const d of bandPaths(rows.map(([t, , , l, u]) => (finite(l) && finite(u) ? { x: px(t), lo: y(l), hi: y(u) } : null)))) {
    out.push(`<path d="${d}" fill="${COLORS.band}" fill-opacity="0.35" stroke="none"/>`);
  }
  drawThresholds(out, frame, chart);
  const expected = linePath(rows.map(([t, , e]) => (finite(e) ? [px(t), y(e)] : null)));
  if (expected) out.push(`<path d="${expected}" fill="none" stroke="${COLORS.expected}" stroke-width="1.5" stroke-dasharray="4 3"/>`);
  const values = linePath(rows.map(([t, v]) => (finite(v) ? [px(t), y(v)] : null)));
  if (values) out.push(`<path d="${values}" fill="none" stroke="${COLORS.value}" stroke-width="2" stroke-linejoin="round"/>`);
  drawPoints(out, frame, rows);
  out.push(legend(m.left, H - 8));
  out.push("</svg>");
  return out.join("");
}

interface Margin {
  top: number;
  right: number;
  bottom: number;
  left: number;
}

/** The plot area and its scales, shared by the drawing steps. */
interface Frame {
  width: number;
  height: number;
  margin: Margin;
  y: (v: number) => number;
  /** x of a bucket's point (the middle of the bucket). */
  px: (t: number) => number;
}

const isFiniteNumber = (v: number | null): v is number => v !== null && Number.isFinite(v);

function drawAxes(out: string[], frame: Frame, yTicks: number[], x: (t: number) => number, t0: number, t1: number): void {
  const { width: W, height: H, margin: m, y } = frame;
  for (const v of yTicks) {
    const yy = y(v).toFixed(1);
    out.push(`<line x1="${m.left}" x2="${W - m.right}" y1="${yy}" y2="${yy}" stroke="${COLORS.grid}"/>`);
    out.push(`<text x="${m.left - 6}" y="${yy}" dy="4" text-anchor="end" fill="${COLORS.axis}">${escapeXml(shortNumber(v))}</text>`);
  }
  const span = t1 - t0;
  for (const t of timeTicks(t0, t1, Math.max(2, Math.floor((W - m.left - m.right) / 110)))) {
    const xx = x(t).toFixed(1);
    out.push(`<line x1="${xx}" x2="${xx}" y1="${H - m.bottom}" y2="${H - m.bottom + 4}" stroke="${COLORS.axis}"/>`);
    out.push(`<text x="${xx}" y="${H - m.bottom + 17}" text-anchor="middle" fill="${COLORS.axis}">${timeLabel(t, span)}</text>`);
  }
  out.push(`<line x1="${m.left}" x2="${W - m.right}" y1="${H - m.bottom}" y2="${H - m.bottom}" stroke="${COLORS.axis}"/>`);
  out.push(`<text x="${W - m.right}" y="${H - 4}" text-anchor="end" font-size="10" fill="${COLORS.axis}">UTC</text>`);
}

function drawThresholds(out: string[], frame: Frame, chart: ChartData): void {
  const { width: W, margin: m, y } = frame;
  const thresholds: Array<[string, number | undefined]> = [
    ["min", chart.thresholds?.min],
    ["max", chart.thresholds?.max],
  ];
  for (const [label, v] of thresholds) {
    if (v === undefined || !Number.isFinite(v)) continue;
    const yy = y(v).toFixed(1);
    out.push(
      `<line x1="${m.left}" x2="${W - m.right}" y1="${yy}" y2="${yy}" stroke="${COLORS.threshold}" stroke-width="1.5" stroke-dasharray="6 4"/>`,
    );
    out.push(
      `<text x="${m.left + 4}" y="${yy}" dy="-4" font-size="11" fill="${COLORS.threshold}">${label} ${escapeXml(shortNumber(v))}</text>`,
    );
  }
}

/** Lone points between gaps as dots, then the anomalous buckets in red. */
function drawPoints(out: string[], frame: Frame, rows: ChartRow[]): void {
  const { height: H, margin: m, y, px } = frame;
  const finite = isFiniteNumber;
  rows.forEach(([t, v], i) => {
    const prev = rows[i - 1]?.[1] ?? null;
    const next = rows[i + 1]?.[1] ?? null;
    if (finite(v) && !finite(prev) && !finite(next))
      out.push(`<circle cx="${px(t).toFixed(1)}" cy="${y(v).toFixed(1)}" r="2.5" fill="${COLORS.value}"/>`);
  });
  for (const [t, v, , , , bad] of rows) {
    if (bad !== 1) continue;
    if (finite(v))
      out.push(
        `<circle cx="${px(t).toFixed(1)}" cy="${y(v).toFixed(1)}" r="4.5" fill="${COLORS.anomaly}" stroke="#ffffff" stroke-width="1.5"/>`,
      );
    else {
      // an anomalous bucket without a value (missing data) is marked on the time axis
      const cx = px(t);
      const base = H - m.bottom;
      out.push(
        `<path d="M${(cx - 5).toFixed(1)},${base}L${(cx + 5).toFixed(1)},${base}L${cx.toFixed(1)},${base - 8}Z" fill="${COLORS.anomaly}"/>`,
      );
    }
  }
}

function legend(left: number, baseline: number): string {
  const items: Array<[string, string]> = [
    ["value", `<line x1="0" x2="18" y1="-4" y2="-4" stroke="${COLORS.value}" stroke-width="2"/>`],
    ["expected", `<line x1="0" x2="18" y1="-4" y2="-4" stroke="${COLORS.expected}" stroke-width="1.5" stroke-dasharray="4 3"/>`],
    ["band", `<rect x="0" y="-10" width="18" height="10" fill="${COLORS.band}" fill-opacity="0.35"/>`],
    ["anomaly", `<circle cx="9" cy="-4" r="4" fill="${COLORS.anomaly}"/>`],
  ];
  const widths = items.map(([label]) => 24 + label.length * 7 + 12);
  let x = left;
  const parts: string[] = [];
  items.forEach(([label, mark], i) => {
    parts.push(`<g transform="translate(${x},${baseline})">${mark}<text x="24" fill="${COLORS.axis}" font-size="11">${label}</text></g>`);
    x += widths[i]!;
  });
  return parts.join("");
}

/** PNG bytes of the alert chart. */
export function renderAlertChart(chart: ChartData, opts: AlertChartOptions): Buffer {
  return svgToPng(alertChartSvg(chart, opts), { scale: opts.scale ?? 1.5 });
}
