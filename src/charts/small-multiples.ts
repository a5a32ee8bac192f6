/**
 * Several metrics as small sparkline panels in one image (the digest's chart): one PNG per
 * message keeps a digest within one chat message on every platform.
 */
import { fmtNum } from "../model/format.js";
import { svgToPng } from "./render-png.js";
import { clip, escapeXml, linearScale, linePath } from "./svg.js";

export interface SparkPanel {
  title: string;
  /** [start ms, value or null] in time order. */
  points: Array<[number, number | null]>;
  /** Times of anomalous buckets, drawn in red. */
  anomalies?: number[];
  /** Text under the title, e.g. "+12% vs last week". */
  note?: string;
}

export interface SmallMultiplesOptions {
  title?: string;
  columns?: number;
  panelWidth?: number;
  panelHeight?: number;
  scale?: number;
}

export function smallMultiplesSvg(panels: readonly SparkPanel[], opts: SmallMultiplesOptions = {}): string {
  const cols = Math.max(1, Math.min(opts.columns ?? 3, panels.length || 1));
  const pw = opts.panelWidth ?? 260;
  const ph = opts.panelHeight ?? 110;
  const head = opts.title ? 34 : 8;
  const rows = Math.max(1, Math.ceil(panels.length / cols));
  const W = cols * pw + 16;
  const H = head + rows * ph + 8;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
  ];
  if (opts.title)
    out.push(
      `<text x="12" y="22" font-size="15" font-weight="bold" fill="#1f2328">${escapeXml(clip(opts.title, Math.floor(W / 9.5)))}</text>`,
    );
  if (panels.length === 0) out.push(`<text x="${W / 2}" y="${head + 50}" text-anchor="middle" fill="#57606a">no metrics</text>`);
  const chars = Math.floor((pw - 24) / 7);
  panels.forEach((p, i) => {
    const ox = 8 + (i % cols) * pw;
    const oy = head + Math.floor(i / cols) * ph;
    out.push(`<g transform="translate(${ox},${oy})">`);
    out.push(`<rect x="2" y="2" width="${pw - 4}" height="${ph - 4}" rx="6" fill="#f6f8fa" stroke="#d0d7de"/>`);
    out.push(`<text x="10" y="18" font-weight="bold" fill="#1f2328">${escapeXml(clip(p.title, chars))}</text>`);
    const vals = p.points.map(([, v]) => v).filter((v): v is number => v !== null && Number.isFinite(v));
    const last = vals[vals.length - 1];
    const note = [last !== undefined ? fmtNum(last) : "no data", p.note ?? ""].filter(Boolean).join(" · ");
    out.push(`<text x="10" y="33" fill="#57606a">${escapeXml(clip(note, chars + 4))}</text>`);
    if (vals.length > 0 && p.points.length > 0) {
      const lo = Math.min(...vals);
      const hi = Math.max(...vals);
      const t0 = p.points[0]![0];
      const t1 = Math.max(p.points[p.points.length - 1]![0], t0 + 1);
      const x = linearScale(t0, t1, 10, pw - 10);
      const y = linearScale(lo, hi === lo ? lo + 1 : hi, ph - 12, 42);
      const d = linePath(p.points.map(([t, v]) => (v !== null && Number.isFinite(v) ? [x(t), y(v)] : null)));
      if (d) out.push(`<path d="${d}" fill="none" stroke="#1f6feb" stroke-width="1.5" stroke-linejoin="round"/>`);
      const bad = new Set(p.anomalies ?? []);
      for (const [t, v] of p.points) {
        if (bad.has(t) && v !== null && Number.isFinite(v))
          out.push(`<circle cx="${x(t).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" fill="#d1242f"/>`);
      }
    }
    out.push("</g>");
  });
  out.push("</svg>");
  return out.join("");
}

export function renderSmallMultiples(panels: readonly SparkPanel[], opts: SmallMultiplesOptions = {}): Buffer {
  return svgToPng(smallMultiplesSvg(panels, opts), { scale: opts.scale ?? 1.5 });
}
