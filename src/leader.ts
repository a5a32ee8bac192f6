/**
 * Leader election over a PostgreSQL session advisory lock held on a dedicated connection: exactly
 * one replica holds it; if that process dies or its connection drops, PostgreSQL releases the lock
 * and a standby that keeps trying takes over. PGlite is one process, so it is always the leader.
 */
import { EventEmitter } from "node:events";
import type { Database, DedicatedConnection } from "./db/database.js";
import type { Logger } from "./log.js";
import { errorText, scrubSecrets } from "./log.js";
import { nameBucket } from "./name-hash.js";

/** Stable 63-bit lock key from a name (FNV-1a), the same in every replica: the leader's lock and each shard's. */
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
      this.lose(errorText(err));
    } finally {
      this.busy = false;
      // a connection opened while `stop` ran would keep the process alive with nothing to close it
      if (this.stopped) void this.release();
      this.schedule();
    }
  }

  /** Ends the session (and so the lock): its close never throws. */
  private release(): Promise<void> {
    const conn = this.conn;
    this.conn = null;
    return conn ? conn.close().catch(() => {}) : Promise.resolve();
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
    void this.release();
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
    this.leader = false;
    // Closing the session releases the lock at once, so a standby takes over without waiting.
    await this.release();
  }
}

/** The shard (0..shards-1) of a metric: a stable hash of its name, the same in every replica and release. */
export function shardOf(name: string, shards: number): number {
  return nameBucket(name, shards);
}

/** Lock keys (two-int form) that say "a replica is here": pg_locks counts them, so each knows its fair share. */
const PRESENCE_CLASS = 0x76676c; // "vgl"

export interface ShardOptions {
  db: Database;
  log: Logger;
  shards: number;
  /** How often shard locks are balanced and retried (ms). */
  retryMs?: number;
  /** Resolves when no tick is in flight: a shard is released only between ticks. */
  idle?: () => Promise<unknown>;
}

/**
 * Metric shards over advisory locks, `vigil:shard:<i>` each, held on one dedicated connection. Every
 * replica also holds a presence lock, so each sees how many replicas there are and holds its fair
 * share, ceil(shards / replicas): a replica that joins gets shards handed over, and when one dies
 * PostgreSQL drops its locks and the survivors take its shards within `retryMs`.
 */
export class ShardManager extends EventEmitter<{ changed: [held: ReadonlySet<number>] }> {
  private conn: DedicatedConnection | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private busy = false;
  private readonly held = new Set<number>();
  private readonly keys: bigint[];
  private readonly retryMs: number;
  private readonly me = 1 + Math.floor(Math.random() * 0x7ffffffe);

  constructor(private readonly o: ShardOptions) {
    super();
    this.keys = Array.from({ length: o.shards }, (_, i) => lockKey(`vigil:shard:${i}`));
    this.retryMs = o.retryMs ?? 1000;
  }

  get shards(): ReadonlySet<number> {
    return this.held;
  }

  start(): void {
    if (this.o.db.kind === "pglite") {
      for (let i = 0; i < this.o.shards; i++) this.held.add(i);
      queueMicrotask(() => this.emit("changed", this.held));
      return;
    }
    void this.attempt();
  }

  private async attempt(): Promise<void> {
    if (this.stopped || this.busy) return;
    this.busy = true;
    try {
      if (!this.conn) {
        const conn = await this.o.db.dedicated();
        conn.onLost((err) => this.lose(`shard connection lost: ${scrubSecrets(err.message)}`));
        this.conn = conn;
        await conn.query("SELECT pg_advisory_lock($1::int, $2::int)", [PRESENCE_CLASS, this.me]);
      }
      const conn = this.conn;
      const { rows } = await conn.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks
         WHERE locktype = 'advisory' AND granted AND objsubid = 2 AND classid = $1::int::oid
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        [PRESENCE_CLASS],
      );
      const replicas = Math.max(1, Number(rows[0]?.n ?? 1));
      const fair = Math.ceil(this.o.shards / replicas);
      let changed = false;
      if (this.held.size > fair) {
        await this.o.idle?.();
        for (const i of [...this.held].sort((a, b) => b - a).slice(0, this.held.size - fair)) {
          await conn.query("SELECT pg_advisory_unlock($1::bigint)", [this.keys[i]!.toString()]);
          this.held.delete(i);
          changed = true;
        }
      }
      // Start at a different shard in each replica, so that two newcomers do not race for the same ones.
      for (let k = 0; k < this.o.shards && this.held.size < fair && !this.stopped; k++) {
        const i = (this.me + k) % this.o.shards;
        if (this.held.has(i)) continue;
        const r = await conn.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1::bigint) AS ok", [this.keys[i]!.toString()]);
        if (r.rows[0]?.ok === true) {
          this.held.add(i);
          changed = true;
        }
      }
      if (changed) {
        this.o.log.info({ shards: [...this.held].sort((a, b) => a - b), replicas }, "metric shards held");
        this.emit("changed", this.held);
      }
    } catch (err) {
      this.lose(errorText(err));
    } finally {
      this.busy = false;
      if (this.stopped) {
        // a connection opened while `stop` ran (as in LeaderElector)
        this.held.clear();
        void this.release();
      } else {
        this.timer = setTimeout(() => void this.attempt(), this.retryMs);
        this.timer.unref();
      }
    }
  }

  /** Ends the session, which releases every shard lock held on it. */
  private release(): Promise<void> {
    const conn = this.conn;
    this.conn = null;
    return conn ? conn.close().catch(() => {}) : Promise.resolve();
  }

  private lose(reason: string): void {
    void this.release();
    if (this.held.size === 0) return;
    this.held.clear();
    this.o.log.warn({ reason }, "metric shards lost");
    this.emit("changed", this.held);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.held.clear();
    await this.release();
  }
}
