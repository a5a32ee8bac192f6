/** Small SVG building blocks shared by the charts: escaping, scales, ticks and time labels. */

/** Text from data goes into SVG text nodes and attributes: escape everything XML treats specially. */
export function escapeXml(text: string): string {
  // The bundled DejaVu font has no emoji: drop them (and their joiners/variation selectors) rather
  // than draw empty boxes.
  return text
    .replace(/\p{Extended_Pictographic}|[\u{1F1E6}-\u{1F1FF}]|\u200D|\uFE0F/gu, "")
    .replace(/^\s+/, "")
    .replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Clip to `max` code points with an ellipsis; never splits a surrogate pair. */
export function clip(text: string, max: number): string {
  const cps = Array.from(text);
  return cps.length <= max ? text : `${cps.slice(0, Math.max(0, max - 1)).join("")}…`;
}

export interface Scale {
  (v: number): number;
  domain: [number, number];
}

export function linearScale(d0: number, d1: number, r0: number, r1: number): Scale {
  const span = d1 - d0 || 1;
  const f = ((v: number) => r0 + ((v - d0) / span) * (r1 - r0)) as Scale;
  f.domain = [d0, d1];
  return f;
}

/** "Nice" tick values (1, 2, 5 × 10^k steps) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (lo === hi) {
    const pad = Math.abs(lo) * 0.1 || 1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm >= 5 ? 10 : norm >= 2 ? 5 : norm >= 1 ? 2 : 1) * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

/** Axis labels: 1.2k, 3.4M... so that long numbers do not crowd the axis. */
export function shortNumber(v: number): string {
  const a = Math.abs(v);
  const fmt = (x: number, s: string) => `${Number(x.toFixed(Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : 2))}${s}`;
  if (a >= 1e12) return v.toExponential(1);
  if (a >= 1e9) return fmt(v / 1e9, "G");
  if (a >= 1e6) return fmt(v / 1e6, "M");
  if (a >= 1e4) return fmt(v / 1e3, "k");
  if (a !== 0 && a < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}

const TIME_STEPS = [
  60_000,
  300_000,
  900_000,
  1_800_000,
  3_600_000,
  3 * 3_600_000,
  6 * 3_600_000,
  12 * 3_600_000,
  86_400_000,
  2 * 86_400_000,
  7 * 86_400_000,
  14 * 86_400_000,
  30 * 86_400_000,
];

/** Round time ticks (UTC) so labels read "06:00", "12:00" rather than arbitrary minutes. */
export function timeTicks(t0: number, t1: number, count = 6): number[] {
  if (!(t1 > t0)) return [t0];
  const want = (t1 - t0) / count;
  const step = TIME_STEPS.find((s) => s >= want) ?? TIME_STEPS[TIME_STEPS.length - 1]!;
  const out: number[] = [];
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) out.push(t);
  return out;
}

/** Labels for time ticks: time of day when the span is short, date otherwise (UTC, like the messages). */
export function timeLabel(t: number, spanMs: number): string {
  const iso = new Date(t).toISOString();
  if (spanMs <= 2 * 86_400_000) return iso.slice(11, 16);
  return iso.slice(5, 10);
}

/** A polyline path that breaks at missing values instead of drawing across gaps. */
export function linePath(points: Array<[number, number] | null>): string {
  let d = "";
  let pen = false;
  for (const p of points) {
    if (!p) {
      pen = false;
      continue;
    }
    d += `${pen ? "L" : "M"}${p[0].toFixed(1)},${p[1].toFixed(1)}`;
    pen = true;
  }
  return d;
}

/** Closed areas between an upper and a lower edge, one per run where both are known. */
export function bandPaths(points: Array<{ x: number; lo: number; hi: number } | null>): string[] {
  const out: string[] = [];
  let run: Array<{ x: number; lo: number; hi: number }> = [];
  const flush = () => {
    if (run.length >= 2) {
      const top = run.map((p, i) => `${i === 0 ? "M" : "L"}${p.x.toFixed(1)},${p.hi.toFixed(1)}`).join("");
      const bottom = [...run]
        .reverse()
        .map((p) => `L${p.x.toFixed(1)},${p.lo.toFixed(1)}`)
        .join("");
      out.push(`${top}${bottom}Z`);
    }
    run = [];
  };
  for (const p of points) {
    if (p) run.push(p);
    else flush();
  }
  flush();
  return out;
}
