/** What a tick tells its caller: per metric, whether it was evaluated, what it judged and which alert events it stored. */
import type { AlertChange } from "../model/alert.js";

export interface MetricReport {
  metric: string;
  ok: boolean;
  error?: string;
  series: number;
  points: number;
  anomalies: number;
  events: AlertChange[];
}

export interface TickReport {
  metrics: MetricReport[];
  failed: string[];
}

export function emptyReport(metric: string): MetricReport {
  return { metric, ok: true, series: 0, points: 0, anomalies: 0, events: [] };
}

export function failedReport(metric: string, error: string): MetricReport {
  return { metric, ok: false, error, series: 0, points: 0, anomalies: 0, events: [] };
}

/** One metric's report over the passes of a tick: a series judged in several passes counts once. */
export function mergeReports(prev: MetricReport, next: MetricReport): MetricReport {
  const error = next.error ?? prev.error;
  return {
    metric: next.metric,
    ok: prev.ok && next.ok,
    ...(error ? { error } : {}),
    series: Math.max(prev.series, next.series),
    points: prev.points + next.points,
    anomalies: prev.anomalies + next.anomalies,
    events: [...prev.events, ...next.events],
  };
}
