/**
 * The embedded adapter: PGlite (PostgreSQL compiled to WebAssembly) in a directory or in memory.
 * PGlite is one session: PGlite itself queues a query behind a running transaction, so transactions
 * are serialized; this file adds the values parsing that makes it agree with the pg adapter and turns
 * the one way to deadlock (using the database instead of `tx` inside a transaction) into an error.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { PGlite, type Results, type Transaction as PgliteTransaction } from "@electric-sql/pglite";
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

/** Where `vigil` keeps its embedded database when neither DATABASE_URL nor database.url is set. */
export const DEFAULT_PGLITE_DIR = ".vigil/pglite";

export interface PgliteDatabaseOptions {
  /** Directory to persist in (created if missing; default `.vigil/pglite` under the working directory). */
  dataDir?: string;
  /** Keep everything in memory (tests, `vigil demo`); `dataDir` is then ignored. */
  memory?: boolean;
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
  ) {}

  static async open(opts: PgliteDatabaseOptions = {}): Promise<PgliteDatabase> {
    const dir = opts.memory ? undefined : resolve(opts.dataDir ?? DEFAULT_PGLITE_DIR);
    const target = dir === undefined ? "pglite:memory" : `pglite:${dir}`;
    try {
      if (dir !== undefined) await mkdir(dir, { recursive: true });
      const pg = new PGlite({ ...(dir === undefined ? {} : { dataDir: dir }), parsers: PARSERS });
      await pg.waitReady;
      return new PgliteDatabase(pg, target);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      throw new DatabaseError(
        `cannot open the embedded PGlite database at ${dir ?? "memory"}: ${msg}`,
        "connection",
        { cause: err },
      );
    }
  }

  async query<R extends Row = Row>(text: string, values?: readonly unknown[]): Promise<QueryResult<R>> {
    this.assertOutsideTransaction();
    try {
      return toResult<R>(await this.pg.query<R>(text, values ? [...values] : undefined));
    } catch (err) {
      throw this.translate(err);
    }
  }

  async exec(sql: string): Promise<void> {
    this.assertOutsideTransaction();
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
      return await this.pg.transaction((ptx) =>
        this.txScope.run(scope, () => fn(new PgliteTx(ptx, scope, (err) => this.translate(err)))),
      );
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
    this.closing ??= this.pg.closed ? Promise.resolve() : this.pg.close();
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
