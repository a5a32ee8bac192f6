/** The statements on audit_log: who did or tried what, allowed or not. */
import type { Queryable } from "../db/database.js";
import { toDate } from "./rows.js";

export interface AuditEntry {
  at: number;
  actor: string;
  action: string;
  target?: string;
  allowed: boolean;
  detail?: object;
}

export class AuditLog {
  constructor(
    private readonly db: Queryable,
    private readonly schema: string,
  ) {}

  async append(entry: AuditEntry): Promise<void> {
    await this.db.query(
      `INSERT INTO ${this.schema}.audit_log (at, actor, action, target, allowed, detail) VALUES ($1, $2, $3, $4, $5, $6)`,
      [toDate(entry.at), entry.actor, entry.action, entry.target ?? "", entry.allowed, JSON.stringify(entry.detail ?? {})],
    );
  }
}
