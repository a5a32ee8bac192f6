import { globMatch } from "./glob.js";

/** A silence: alerts whose metric and series match the globs are not sent until endsAt. */
export interface Silence {
  id: number;
  metricGlob: string;
  seriesGlob: string;
  reason: string;
  createdBy: string;
  createdAt: number;
  endsAt: number;
  removedAt: number | null;
}

/** A silence to add: its patterns, why, who, from when (`at`) and until when. */
export type NewSilence = Pick<Silence, "metricGlob" | "seriesGlob" | "reason" | "createdBy" | "endsAt"> & { at: number };

/** The first silence whose globs match the alert's metric and series. */
export function silencedBy(silences: readonly Silence[], metric: string, series: string): Silence | undefined {
  return silences.find((s) => globMatch(s.metricGlob, metric) && globMatch(s.seriesGlob, series));
}
