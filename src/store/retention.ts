/** Retention: what is old and closed is deleted, in batches, so that no statement holds locks for long. */
import type { Queryable } from "../db/database.js";
import { toDate, toNum } from "./rows.js";

/** Deletes, per kind of record, what closed before `before` (series idle since `idleBefore`): the counts deleted. */
export async function pruneClosed(
  db: Queryable,
  schema: string,
  before: number,
  idleBefore: number,
  batch: number,
): Promise<Record<string, number>> {
  const plans: Record<string, string> = {
    deliveries: `DELETE FROM ${schema}.deliveries WHERE id IN (SELECT id FROM ${schema}.deliveries WHERE status IN ('sent', 'dead') AND created_at < $1 LIMIT $2)`,
    alerts: `DELETE FROM ${schema}.alerts WHERE id IN (SELECT id FROM ${schema}.alerts WHERE state = 'resolved' AND resolved_at < $1 LIMIT $2)`,
    audit: `DELETE FROM ${schema}.audit_log WHERE id IN (SELECT id FROM ${schema}.audit_log WHERE at < $1 LIMIT $2)`,
    silences: `DELETE FROM ${schema}.silences WHERE id IN (SELECT id FROM ${schema}.silences WHERE coalesce(removed_at, ends_at) < $1 LIMIT $2)`,
    watermarks: `DELETE FROM ${schema}.series_state WHERE (metric, series) IN (SELECT metric, series FROM ${schema}.series_state WHERE updated_at < $1 LIMIT $2)`,
  };
  const deleted: Record<string, number> = {};
  for (const [what, sql] of Object.entries(plans)) {
    deleted[what] = 0;
    for (;;) {
      const at = toDate(what === "watermarks" ? idleBefore : before);
      const { rows } = await db.query(`WITH gone AS (${sql} RETURNING 1) SELECT count(*)::int AS n FROM gone`, [at, batch]);
      const count = toNum(rows[0]?.n) ?? 0;
      deleted[what] += count;
      if (count < batch) break;
    }
  }
  return deleted;
}
