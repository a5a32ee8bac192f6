/**
 * The one narrow seam between vigil and a PostgreSQL-speaking database (pg Pool or PGlite).
 * Values are always bound parameters; identifiers are quoted with `quoteIdent`.
 *
 * Both adapters return the same domain values: int8 and numeric as JS numbers (int8 beyond 2^53
 * loses precision; vigil only ever uses them as measurements or counters), float NaN/Infinity as
 * such, timestamptz as Date, and `timestamp`/`date` (no zone) as Date read as UTC. The pg adapter
 * pins the session TimeZone to UTC so that PGlite and PostgreSQL agree on naive timestamps.
 */
export type Row = Record<string, unknown>;

/** A result column: name and PostgreSQL type OID (e.g. 1184 = timestamptz, 25 = text). */
export interface FieldInfo {
  name: string;
  dataTypeID: number;
}

export interface QueryResult<R extends Row = Row> {
  rows: R[];
  /** Column descriptions in select-list order; set by both adapters (optional only for fakes). */
  fields?: FieldInfo[];
}

export interface QueryOptions {
  /** Server-side limit for this statement (PostgreSQL's statement_timeout); PGlite runs in-process and ignores it. */
  timeoutMs?: number;
}

export interface Queryable {
  query<R extends Row = Row>(text: string, values?: readonly unknown[], opts?: QueryOptions): Promise<QueryResult<R>>;
}

/** A transaction's connection: `query`, plus `exec` for a script of several statements without parameters. */
export interface Transaction extends Queryable {
  exec(sql: string): Promise<void>;
}

/**
 * A connection of its own, outside the pool (pg) or the shared instance (PGlite), for session-scoped
 * state such as `pg_try_advisory_lock` used by leader election: the lock lives exactly as long as this
 * connection, so losing the connection means losing the lock, and `onLost` says so.
 */
export interface DedicatedConnection extends Queryable {
  /** Called once if the connection drops unexpectedly (not after `close`). PGlite never drops. */
  onLost(listener: (err: Error) => void): void;
  /** Ends the session, which releases every session-level advisory lock taken on it. Idempotent. */
  close(): Promise<void>;
}

export interface Database extends Queryable {
  readonly kind: "pg" | "pglite";
  /** Where it points, password redacted: for logs and error messages. */
  readonly target: string;
  /**
   * Run `fn` in one transaction (BEGIN/COMMIT, ROLLBACK on throw) on one connection. Inside `fn` use
   * only `tx`: on PGlite (one connection) a call to the outer database would wait for the transaction
   * to end, so the adapter rejects it with an error instead of deadlocking.
   */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
  /** Run a script of several statements without parameters (e.g. a migration file). */
  exec(sql: string): Promise<void>;
  /** See `DedicatedConnection`. Each call opens a new one on pg; the caller closes it. */
  dedicated(): Promise<DedicatedConnection>;
  /** Closes the pool or instance and every dedicated connection still open. Idempotent. */
  close(): Promise<void>;
}

/**
 * Every failure from either adapter. `kind` separates "the database is not there" (retry later,
 * readiness fails) from "this SQL is wrong" (the operator's query or a bug; retrying will not help).
 * Messages never contain a password.
 */
export class DatabaseError extends Error {
  override readonly name = "DatabaseError";
  constructor(
    message: string,
    readonly kind: "connection" | "query",
    readonly details: {
      /** SQLSTATE for server errors (e.g. "42P01"), errno code for socket errors (e.g. "ECONNREFUSED"). */
      code?: string;
      detail?: string;
      hint?: string;
      /** 1-based character offset of the error in the query text, when the server reports one. */
      position?: number;
      cause?: unknown;
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
  }

  get code(): string | undefined {
    return this.details.code;
  }

  toJSON(): Record<string, unknown> {
    const { cause: _cause, ...rest } = this.details;
    return { name: this.name, kind: this.kind, message: this.message, ...rest };
  }
}

interface ServerErrorShape {
  message: string;
  code: string;
  severity?: string;
  detail?: string;
  hint?: string;
  position?: string;
}

/** The database is not there (down, unreachable, connection lost): worth retrying later, unlike wrong SQL. */
export function isConnectionError(err: unknown): err is DatabaseError {
  return err instanceof DatabaseError && err.kind === "connection";
}

/** An error reported by the PostgreSQL server (pg and PGlite both use pg-protocol's DatabaseError). */
export function isServerError(err: unknown): err is Error & ServerErrorShape {
  if (!(err instanceof Error)) return false;
  const e = err as Error & Partial<ServerErrorShape>;
  return typeof e.code === "string" && /^[0-9A-Z]{5}$/.test(e.code) && typeof e.severity === "string";
}

/** SQLSTATE classes that mean the session or server went away rather than the SQL being wrong. */
const CONNECTION_SQLSTATE = /^(08|57P0[1-3]|53300)/;

/** Translate a server error into a DatabaseError; `prefix` names the target for connection-level ones. */
export function fromServerError(err: Error & ServerErrorShape, prefix: string): DatabaseError {
  const position = err.position === undefined ? undefined : Number(err.position);
  const details = {
    code: err.code,
    ...(err.detail === undefined ? {} : { detail: err.detail }),
    ...(err.hint === undefined ? {} : { hint: err.hint }),
    ...(position === undefined || !Number.isFinite(position) ? {} : { position }),
    cause: err,
  };
  const hint = err.hint ? ` (hint: ${err.hint})` : "";
  // Login-time refusals (bad password, unknown database) and shutdowns are about reaching the database.
  if (CONNECTION_SQLSTATE.test(err.code) || err.code.startsWith("28") || err.code === "3D000") {
    return new DatabaseError(`${prefix}: ${err.message}${hint} [SQLSTATE ${err.code}]`, "connection", details);
  }
  return new DatabaseError(`${err.message}${hint} [SQLSTATE ${err.code}]`, "query", details);
}

/** Quote an SQL identifier, allowing a dotted `schema.table` path. */
export function quoteIdent(name: string): string {
  return name
    .split(".")
    .map((part) => `"${part.replace(/"/g, '""')}"`)
    .join(".");
}
