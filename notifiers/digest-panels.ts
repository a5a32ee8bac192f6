/**
 * The digest's chart panels ride on a text notification as `panels` (the digest builder adds
 * them); they come back from the outbox as JSON, so they are checked before use.
 */
import type { SparkPanel } from "../src/charts/small-multiples.js";
import type { TextNotification } from "../src/model/notification.js";

export function digestPanels(n: TextNotification): SparkPanel[] | null {
  const raw: unknown = (n as TextNotification & { panels?: unknown }).panels;
  if (!Array.isArray(raw) || raw.length === 0) return null;
  const out: SparkPanel[] = [];
  for (const p of raw) {
    if (!p || typeof p !== "object") continue;
    const o = p as Record<string, unknown>;
    if (typeof o.title !== "string" || !Array.isArray(o.points)) continue;
    const points: Array<[number, number | null]> = [];
    for (const pt of o.points) {
      if (Array.isArray(pt) && typeof pt[0] === "number" && (typeof pt[1] === "number" || pt[1] === null)) points.push([pt[0], pt[1]]);
    }
    const panel: SparkPanel = { title: o.title, points };
    if (Array.isArray(o.anomalies)) panel.anomalies = o.anomalies.filter((t): t is number => typeof t === "number");
    if (typeof o.note === "string") panel.note = o.note;
    out.push(panel);
  }
  return out.length > 0 ? out.slice(0, 24) : null;
}
