/**
 * The embedded adapter: PGlite (PostgreSQL compiled to WebAssembly) in a directory or in memory.
 * PGlite is one session: PGlite itself queues a query behind a running transaction, so transactions
 * are serialized; this file adds the values parsing that makes it agree with the pg adapter and turns
 * the one way to deadlock (using the database instead of `tx` inside a transaction) into an error.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { access, mkdir, open, readFile, stat, unlink, utimes } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, join, resolve } from "node:path";
import { PGlite, type Transaction as PgliteTransaction, type Results } from "@electric-sql/pglite";
import {
  type Database,
  DatabaseError,
  type DedicatedConnection,
  fromServerError,
  isServerError,
  type QueryResult,
  type Row,
  type Transaction,
} from "./database.js";

/**
 * PGlite answers in the same thread, and a chain of its queries resolves by microtasks alone, which
 * never let the event loop reach I/O: /healthz, timers and chat would wait for a whole history load.
 * Each query first waits one turn of the event loop.
 */
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Where `vigil` keeps its embedded database when neither DATABASE_URL nor database.url is set. */
export const DEFAULT_PGLITE_DIR = ".vigil/pglite";

export interface PgliteDatabaseOptions {
  /** Directory to persist in (created if missing; default `.vigil/pglite` under the working directory). */
  dataDir?: string;
  /** Keep everything in memory (tests, `vigil demo`); `dataDir` is then ignored. */
  memory?: boolean;
  /**
   * A new database starts from this dump of a data directory (PGlite's `dumpDataDir`) instead of
   * creating the cluster, which in WebAssembly takes several seconds (the tests' shared fresh
   * cluster). A directory that already holds a database opens as it is, as without one.
   */
  template?: Blob;
}

/** Whether a PGlite directory already holds a database (PostgreSQL writes PG_VERSION when it creates one). */
async function holdsDatabase(dir: string): Promise<boolean> {
  try {
    await access(join(dir, "PG_VERSION"));
    return true;
  } catch {
    return false;
  }
}

/** numeric arrives as text from PGlite; int8 is already a number there. */
const PARSERS = {
  1700: (value: string) => Number(value),
};

interface TxScope {
  active: boolean;
}

export class PgliteDatabase implements Database {
  readonly kind = "pglite" as const;
  private readonly txScope = new AsyncLocalStorage<TxScope>();
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly pg: PGlite,
    readonly target: string,
    private readonly lock: DirLock | null,
  ) {}

  static async open(opts: PgliteDatabaseOptions = {}): Promise<PgliteDatabase> {
    const dir = opts.memory ? undefined : resolve(opts.dataDir ?? DEFAULT_PGLITE_DIR);
    const target = dir === undefined ? "pglite:memory" : `pglite:${dir}`;
    let lock: DirLock | null = null;
    try {
      // (PGlite refuses to load a dump over an existing database)
      let template = opts.template;
      if (dir !== undefined) {
        await mkdir(dirname(dir), { recursive: true });
        lock = await DirLock.acquire(dir);
        await mkdir(dir, { recursive: true });
        if (template !== undefined && (await holdsDatabase(dir))) template = undefined;
      }
      const pg = new PGlite({
        ...(dir === undefined ? {} : { dataDir: dir }),
        ...(template === undefined ? {} : { loadDataDir: template }),
        parsers: PARSERS,
      });
      await pg.waitReady;
      return new PgliteDatabase(pg, target, lock);
    } catch (err) {
      await lock?.release();
      if (err instanceof DatabaseError) throw err;
      const msg = err instanceof Error ? err.message : String(err);
      throw new DatabaseError(`cannot open the embedded PGlite database at ${dir ?? "memory"}: ${msg}`, "connection", { cause: err });
    }
  }

  async query<R extends Row = Row>(text: string, values?: readonly unknown[]): Promise<QueryResult<R>> {
    this.assertOutsideTransaction();
    await turn();
    try {
      return toResult<R>(await this.pg.query<R>(text, values ? [...values] : undefined));
    } catch (err) {
      throw this.translate(err);
    }
  }

  async exec(sql: string): Promise<void> {
    this.assertOutsideTransaction();
    await turn();
    try {
      await this.pg.exec(sql);
    } catch (err) {
      throw this.translate(err);
    }
  }

  async transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    this.assertOutsideTransaction();
    const scope: TxScope = { active: true };
    try {
      return await this.pg.transaction((ptx) => this.txScope.run(scope, () => fn(new PgliteTx(ptx, scope, (err) => this.translate(err)))));
    } catch (err) {
      // Errors from tx.query are already DatabaseErrors; the caller's own errors pass through untouched.
      throw isServerError(err) ? this.translate(err) : err;
    } finally {
      scope.active = false;
    }
  }

  /** The same single session: an advisory lock taken here lasts until `close` of the whole database. */
  async dedicated(): Promise<DedicatedConnection> {
    return {
      query: (text, values) => this.query(text, values),
      onLost: () => undefined,
      close: async () => undefined,
    };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (!this.pg.closed) await this.pg.close();
      await this.lock?.release();
    })();
    return this.closing;
  }

  private assertOutsideTransaction(): void {
    if (this.txScope.getStore()?.active) {
      throw new DatabaseError(
        "database used directly inside its own transaction (use the tx argument): on PGlite this would deadlock",
        "query",
      );
    }
  }

  private translate(err: unknown): DatabaseError {
    if (err instanceof DatabaseError) return err;
    if (isServerError(err)) return fromServerError(err, `cannot use the embedded database ${this.target}`);
    const msg = err instanceof Error ? err.message : String(err);
    if (this.pg.closed || /closed/i.test(msg)) {
      return new DatabaseError(`the embedded database ${this.target} is closed`, "connection", { cause: err });
    }
    return new DatabaseError(msg, "query", { cause: err });
  }
}

function toResult<R extends Row>(res: Results<R>): QueryResult<R> {
  return { rows: res.rows, fields: res.fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID })) };
}

class PgliteTx implements Transaction {
  constructor(
    private readonly ptx: PgliteTransaction,
    private readonly scope: TxScope,
    private readonly translate: (err: unknown) => DatabaseError,
  ) {}

  async query<R extends Row = Row>(text: string, values?: readonly unknown[]): Promise<QueryResult<R>> {
    this.assertOpen();
    await turn();
    try {
      return toResult<R>(await this.ptx.query<R>(text, values ? [...values] : undefined));
    } catch (err) {
      throw this.translate(err);
    }
  }

  async exec(sql: string): Promise<void> {
    this.assertOpen();
    try {
      await this.ptx.exec(sql);
    } catch (err) {
      throw this.translate(err);
    }
  }

  private assertOpen(): void {
    // After the transaction ends the session is shared again; a late query would run outside it.
    if (!this.scope.active) throw new DatabaseError("query on a transaction that has already ended", "query");
  }
}

/** Directories this process holds, to tell a stale lock with our (reused) pid from a real second open. */
const heldHere = new Set<string>();

/** How often a holder touches its lock file, and how long untouched before another host may take it. */
export const LOCK_HEARTBEAT_MS = 10_000;
export const LOCK_STALE_MS = 60_000;

/**
 * PGlite has no inter-process locking: two processes on one directory (say `vigil run` and
 * `vigil alerts`) would both write and corrupt it. A lock file next to the directory (`<dir>.lock`,
 * holding host and pid) turns that into a clear error. On this host a lock whose process is gone is
 * stale; a lock written on another host (containers sharing a volume) cannot be checked that way, so
 * its holder touches the file every 10 s and it is stale only when untouched for a minute.
 */
class DirLock {
  private readonly heartbeat: NodeJS.Timeout;

  private constructor(
    private readonly dir: string,
    private readonly path: string,
    private readonly content: string,
  ) {
    this.heartbeat = setInterval(() => {
      const now = new Date();
      utimes(path, now, now).catch(() => undefined);
    }, LOCK_HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  static async acquire(dir: string): Promise<DirLock> {
    const path = `${dir}.lock`;
    const content = `${hostname()} ${process.pid}\n`;
    for (let attempt = 0; attempt < 2; attempt++) {
      if (heldHere.has(dir)) throw inUse(dir, "this process");
      try {
        const handle = await open(path, "wx");
        await handle.writeFile(content);
        await handle.close();
        heldHere.add(dir);
        return new DirLock(dir, path, content);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      const holder = await readFile(path, "utf8").catch(() => "");
      const [host, pidText] = holder.trim().split(" ");
      const pid = Number(pidText);
      if (host === hostname()) {
        if (Number.isInteger(pid) && pid !== process.pid && isAlive(pid)) throw inUse(dir, `process ${pid}`);
      } else if (host) {
        const touched = await stat(path).then(
          (st) => st.mtimeMs,
          () => 0,
        );
        const age = Date.now() - touched;
        if (age < LOCK_STALE_MS) {
          throw inUse(
            dir,
            `process ${pidText} on host ${host} (its lock was refreshed ${Math.max(0, Math.round(age / 1000))} s ago; it is taken over ${LOCK_STALE_MS / 1000} s after its last refresh)`,
          );
        }
      }
      await unlink(path).catch(() => undefined);
    }
    throw inUse(dir, "another process");
  }

  async release(): Promise<void> {
    clearInterval(this.heartbeat);
    heldHere.delete(this.dir);
    const now = await readFile(this.path, "utf8").catch(() => "");
    // Only remove our own lock: after a takeover the file belongs to someone else.
    if (now === this.content) await unlink(this.path).catch(() => undefined);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function inUse(dir: string, holder: string): DatabaseError {
  return new DatabaseError(
    `the embedded PGlite database at ${dir} is in use by ${holder}; PGlite allows one process at a time (stop the other one, or use PostgreSQL via DATABASE_URL)`,
    "connection",
  );
}
