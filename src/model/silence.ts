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
