/**
 * Leader election over a PostgreSQL session advisory lock held on a dedicated connection: exactly
 * one replica holds it; if that process dies or its connection drops, PostgreSQL releases the lock
 * and a standby that keeps trying takes over. PGlite is one process, so it is always the leader.
 */
import { EventEmitter } from "node:events";
import type { Database, DedicatedConnection } from "./db/database.js";
import type { Logger } from "./log.js";
import { scrubSecrets } from "./log.js";

/** Stable 63-bit lock key from a name (FNV-1a), so shards can have their own locks later. */
export function lockKey(name: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (const c of Buffer.from(name, "utf8")) {
    h ^= BigInt(c);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return BigInt.asIntN(64, h & 0x7fffffffffffffffn);
}

export interface LeaderEvents {
  elected: [];
  lost: [reason: string];
}

export interface LeaderOptions {
  db: Database;
  log: Logger;
  name?: string;
  /** How often a standby tries to take the lock, and the leader checks its connection. */
  retryMs?: number;
}

export class LeaderElector extends EventEmitter<LeaderEvents> {
  private conn: DedicatedConnection | null = null;
  private timer: NodeJS.Timeout | null = null;
  private leader = false;
  private stopped = false;
  private busy = false;
  readonly key: bigint;
  private readonly retryMs: number;

  constructor(private readonly o: LeaderOptions) {
    super();
    this.key = lockKey(o.name ?? "vigil:leader");
    this.retryMs = o.retryMs ?? 1000;
  }

  get isLeader(): boolean {
    return this.leader;
  }

  start(): void {
    if (this.o.db.kind === "pglite") {
      this.leader = true;
      queueMicrotask(() => this.emit("elected"));
      return;
    }
    void this.attempt();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.attempt(), this.retryMs);
    this.timer.unref();
  }

  private async attempt(): Promise<void> {
    if (this.stopped || this.busy) return;
    this.busy = true;
    try {
      if (this.leader) {
        // The lock lives exactly as long as the connection: check the connection is still there.
        await this.withTimeout(this.conn!.query("SELECT 1"), "leader connection check timed out");
      } else {
        if (!this.conn) {
          const conn = await this.o.db.dedicated();
          conn.onLost((err) => this.lose(`leader connection lost: ${scrubSecrets(err.message)}`));
          this.conn = conn;
        }
        const { rows } = await this.withTimeout(
          this.conn.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1::bigint) AS ok", [this.key.toString()]),
          "lock attempt timed out",
        );
        if (rows[0]?.ok === true && !this.stopped) {
          this.leader = true;
          this.o.log.info({ key: this.key.toString() }, "this replica is now the leader");
          this.emit("elected");
        }
      }
    } catch (err) {
      this.lose(scrubSecrets(err instanceof Error ? err.message : String(err)));
    } finally {
      this.busy = false;
      this.schedule();
    }
  }

  private withTimeout<T>(p: Promise<T>, message: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(message)), Math.max(this.retryMs * 2, 2000));
      t.unref();
      p.then(
        (v) => {
          clearTimeout(t);
          resolve(v);
        },
        (e: unknown) => {
          clearTimeout(t);
          reject(e);
        },
      );
    });
  }

  private lose(reason: string): void {
    const conn = this.conn;
    this.conn = null;
    void conn?.close().catch(() => {});
    if (this.leader) {
      this.leader = false;
      this.o.log.warn({ reason }, "leadership lost; standing by");
      this.emit("lost", reason);
    } else {
      this.o.log.debug({ reason }, "leader election attempt failed");
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const conn = this.conn;
    this.conn = null;
    this.leader = false;
    // Closing the session releases the lock at once, so a standby takes over without waiting.
    await conn?.close().catch(() => {});
  }
}
