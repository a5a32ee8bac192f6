/**
 * The PostgreSQL adapter: a pg Pool for ordinary queries and transactions, plus dedicated Clients
 * outside the pool for session-scoped advisory locks. Every error leaves this file as a
 * DatabaseError whose message names the server (never the password).
 */
import pg from "pg";
import {
  type Database,
  DatabaseError,
  type DedicatedConnection,
  fromServerError,
  isServerError,
  type QueryOptions,
  type QueryResult,
  type Row,
  type Transaction,
} from "./database.js";

export interface PgDatabaseOptions {
  /** postgres://user:password@host:port/database[?params]; URL parameters win over the options below. */
  url: string;
  /**
   * Receives errors that happen outside any query: an idle pooled connection dropped by the server,
   * a dedicated connection lost. pg emits these as events that would crash the process if unhandled;
   * the daemon logs them (default: one line on stderr).
   */
  onError?: (err: DatabaseError) => void;
  /** Pool size (default 10). */
  max?: number;
  /** Give up opening a connection after this long (default 10 s), so a dead host fails a tick instead of hanging it. */
  connectTimeoutMs?: number;
  /** Server-side statement_timeout (default 5 min; null = none): one runaway metric query must not wedge the daemon. */
  statementTimeoutMs?: number | null;
  /** Close pooled connections idle this long (default 30 s). */
  idleTimeoutMs?: number;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_STATEMENT_TIMEOUT_MS = 300_000;

/** Socket-level failures: the server is not there (or not any more). */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "EPIPE",
  "ENOENT", // unix socket path missing
]);

/**
 * Parse numbers and naive times the same way PGlite does, per pool rather than through pg's global
 * `types` registry, so that vigil never changes how other code in the process sees pg values.
 */
const builtinParsers = pg.types;
// The typings only know scalar OIDs; array OIDs such as 1022 (float8[]) are just as valid.
const builtinParser = builtinParsers.getTypeParser as (oid: number, format?: "text" | "binary") => (s: string) => unknown;
const parseTimestamptz = builtinParser(1184, "text") as (s: string) => Date | number;
const parseFloatArray = builtinParser(1022, "text") as (s: string) => number[];

function parseNaiveAsUtc(text: string, suffix: string): Date | number {
  if (text === "infinity" || text === "-infinity") return parseTimestamptz(text);
  // BC dates put the era after the zone: "0044-03-15 00:00:00+00 BC".
  const bc = text.endsWith(" BC");
  const base = bc ? text.slice(0, -3) : text;
  return parseTimestamptz(`${base}${suffix}${bc ? " BC" : ""}`);
}

const TEXT_PARSERS: Record<number, (text: string) => unknown> = {
  20: Number, // int8
  1700: Number, // numeric: Number("NaN") and Number("Infinity") are what they say
  1016: parseFloatArray, // int8[]
  1231: parseFloatArray, // numeric[]
  1114: (s) => parseNaiveAsUtc(s, "+00"), // timestamp
  1082: (s) => parseNaiveAsUtc(s, " 00:00:00+00"), // date
};

const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") => {
    const custom = format === "binary" ? undefined : TEXT_PARSERS[oid];
    return custom ?? builtinParser(oid, format ?? "text");
  }) as typeof builtinParsers.getTypeParser,
};

/** The URL with its password replaced by "***" (for logs, messages and `target`). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    if (u.searchParams.has("password")) u.searchParams.set("password", "***");
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@]*@/, "//$1:***@").replace(/(password=)[^\s&]*/gi, "$1***");
  }
}

/** "host:port" (or the socket directory) for messages about reaching the server. */
function endpointOf(url: string): string {
  try {
    const u = new URL(url);
    const socketHost = u.searchParams.get("host");
    const host = u.hostname || socketHost || process.env.PGHOST || "localhost";
    return `${host}:${u.port || process.env.PGPORT || "5432"}`;
  } catch {
    return "the configured URL";
  }
}

function passwordOf(url: string): string {
  try {
    const u = new URL(url);
    return decodeURIComponent(u.password) || (u.searchParams.get("password") ?? "");
  } catch {
    return "";
  }
}

interface ErrnoLike {
  code?: unknown;
  syscall?: unknown;
  errors?: unknown;
}

/** Node reports "connect ECONNREFUSED 127.0.0.1:5432"; when both ::1 and 127.0.0.1 are tried it is an AggregateError with an empty message. */
function errnoOf(err: Error): { code: string; syscall: string } | null {
  const e = err as Error & ErrnoLike;
  const first = Array.isArray(e.errors) ? (e.errors[0] as ErrnoLike | undefined) : undefined;
  const code = typeof e.code === "string" ? e.code : typeof first?.code === "string" ? first.code : null;
  if (code === null || !NETWORK_CODES.has(code)) return null;
  const syscall = typeof e.syscall === "string" ? e.syscall : typeof first?.syscall === "string" ? first.syscall : "connect";
  return { code, syscall };
}

export class PgDatabase implements Database {
  readonly kind = "pg" as const;
  readonly target: string;
  private readonly pool: pg.Pool;
  private readonly config: pg.ClientConfig;
  private readonly endpoint: string;
  private readonly password: string;
  private readonly onError: (err: DatabaseError) => void;
  private readonly connectTimeoutMs: number;
  private readonly maxConnections: number;
  private readonly dedicatedOpen = new Set<PgDedicatedConnection>();
  private closing: Promise<void> | null = null;
  /** The pool's statement_timeout in ms (0 = none), and each pooled session's current one when a query changed it. */
  private readonly defaultStatementTimeout: number;
  private readonly sessionTimeout = new WeakMap<pg.PoolClient, number>();
  /** The options another thread needs to open the same database (everything but the callback). */
  readonly threadOptions: Omit<PgDatabaseOptions, "onError">;

  constructor(opts: PgDatabaseOptions) {
    const { onError: _onError, ...cloneable } = opts;
    this.threadOptions = cloneable;
    this.target = redactUrl(opts.url);
    this.endpoint = endpointOf(opts.url);
    this.password = passwordOf(opts.url);
    this.onError = opts.onError ?? ((err) => process.stderr.write(`vigil: database connection error: ${err.message}\n`));
    this.connectTimeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.maxConnections = opts.max ?? 10;
    const statementTimeout = opts.statementTimeoutMs === undefined ? DEFAULT_STATEMENT_TIMEOUT_MS : opts.statementTimeoutMs;
    this.defaultStatementTimeout = statementTimeout ?? 0;
    this.config = {
      connectionString: opts.url,
      application_name: "vigil",
      // Naive `timestamp` columns and date_bin on them are read as UTC, as PGlite does.
      options: "-c TimeZone=UTC",
      connectionTimeoutMillis: this.connectTimeoutMs,
      keepAlive: true,
      types: TYPES,
      ...(statementTimeout === null ? {} : { statement_timeout: statementTimeout }),
    };
    this.pool = new pg.Pool({
      ...this.config,
      max: this.maxConnections,
      idleTimeoutMillis: opts.idleTimeoutMs ?? 30_000,
    });
    // An idle client whose server went away is reported here; without a listener pg would crash the process.
    this.pool.on("error", (err) => this.onError(this.translate(err)));
  }

  async query<R extends Row = Row>(text: string, values?: readonly unknown[], opts?: QueryOptions): Promise<QueryResult<R>> {
    // Connect and query as two steps (rather than pool.query) so that a failure while connecting is
    // reported as "cannot reach" and one during the query as what it is.
    const client = await this.connect();
    let broken: Error | undefined;
    const onClientError = (err: Error): void => {
      broken = err;
    };
    client.on("error", onClientError);
    try {
      // The server cancels a statement past its timeout; a session keeps the last one set, so
      // metric queries of one timeout in a row cost no extra round trip.
      const timeout = Math.round(opts?.timeoutMs ?? this.defaultStatementTimeout);
      if ((this.sessionTimeout.get(client) ?? this.defaultStatementTimeout) !== timeout) {
        await client.query(`SET statement_timeout = ${timeout}`);
        this.sessionTimeout.set(client, timeout);
      }
      return toResult<R>(await client.query(text, values ? [...values] : undefined));
    } catch (err) {
      // A server-reported SQL error leaves the session usable; anything else may not have.
      if (!isServerError(err) || this.translate(err).kind === "connection") {
        broken ??= err instanceof Error ? err : new Error(String(err));
      }
      throw this.translate(err);
    } finally {
      client.off("error", onClientError);
      client.release(broken);
    }
  }

  async exec(sql: string): Promise<void> {
    // Without parameters pg uses the simple protocol, which runs several statements in one round trip.
    await this.query(sql);
  }

  async transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    const client = await this.connect();
    // A checked-out client has no pool listener: a dropped connection mid-transaction would otherwise be an unhandled 'error' event.
    let broken: Error | undefined;
    const onClientError = (err: Error): void => {
      broken = err;
      this.onError(this.translate(err));
    };
    client.on("error", onClientError);
    const tx = new PgTransaction(client, (err) => this.translate(err));
    try {
      await tx.query("BEGIN");
      const result = await fn(tx);
      await tx.query("COMMIT");
      return result;
    } catch (err) {
      try {
        await client.query("ROLLBACK");
      } catch (rollbackErr) {
        // The connection is unusable; the original error is the one worth reporting.
        broken ??= rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
      }
      throw err;
    } finally {
      tx.finish();
      client.off("error", onClientError);
      // Releasing with an error destroys the client instead of returning a broken one to the pool.
      client.release(broken);
    }
  }

  async dedicated(): Promise<DedicatedConnection> {
    if (this.closing) throw new DatabaseError("database connection is closed", "connection");
    const client = new pg.Client(this.config);
    const conn = new PgDedicatedConnection(
      client,
      (err) => this.translate(err),
      (err) => this.onError(err),
      () => this.dedicatedOpen.delete(conn),
    );
    const started = Date.now();
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => undefined);
      throw this.translateConnectError(err, Date.now() - started);
    }
    conn.arm();
    this.dedicatedOpen.add(conn);
    return conn;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.dedicatedOpen].map((c) => c.close()));
      await this.pool.end();
    })();
    return this.closing;
  }

  private async connect(): Promise<pg.PoolClient> {
    if (this.closing) throw new DatabaseError("database connection is closed", "connection");
    const started = Date.now();
    try {
      return await this.pool.connect();
    } catch (err) {
      throw this.translateConnectError(err, Date.now() - started);
    }
  }

  /**
   * Errors while opening a connection. pg reports its own connect timeout as "Connection terminated
   * unexpectedly" (it destroys the socket itself), so the elapsed time tells a timeout from a server
   * that hung up during startup.
   */
  private translateConnectError(err: unknown, elapsedMs: number): DatabaseError {
    const msg = err instanceof Error ? err.message : String(err);
    if (/timeout exceeded when trying to connect/i.test(msg)) {
      // pg-pool's own message when every pooled connection stayed busy for the whole timeout.
      return new DatabaseError(
        `no free connection to PostgreSQL at ${this.endpoint} within ${this.connectTimeoutMs} ms: all ${this.maxConnections} pooled connections are busy`,
        "connection",
        { code: "ETIMEDOUT", cause: err },
      );
    }
    if (/timeout expired|Connection terminated/i.test(msg)) {
      const timedOut = elapsedMs >= this.connectTimeoutMs * 0.9;
      return new DatabaseError(
        `cannot reach PostgreSQL at ${this.endpoint}: ${
          timedOut ? `no connection within ${this.connectTimeoutMs} ms` : "the server closed the connection during startup"
        }`,
        "connection",
        { code: timedOut ? "ETIMEDOUT" : "ECONNRESET", cause: err },
      );
    }
    return this.translate(err);
  }

  /** Turn anything pg throws into a DatabaseError naming the server, with the password scrubbed. */
  private translate(err: unknown): DatabaseError {
    if (err instanceof DatabaseError) return err;
    const scrub = (s: string): string => (this.password ? s.split(this.password).join("***") : s);
    if (!(err instanceof Error)) return new DatabaseError(scrub(String(err)), "query", { cause: err });
    if (isServerError(err)) {
      const translated = fromServerError(err, `cannot use PostgreSQL at ${this.endpoint}`);
      return new DatabaseError(scrub(translated.message), translated.kind, translated.details);
    }
    const errno = errnoOf(err);
    if (errno) {
      return new DatabaseError(`cannot reach PostgreSQL at ${this.endpoint}: ${errno.syscall} ${errno.code}`, "connection", {
        code: errno.code,
        cause: err,
      });
    }
    const msg = scrub(err.message);
    if (/Connection terminated|Client has encountered a connection error/i.test(msg)) {
      return new DatabaseError(`lost connection to PostgreSQL at ${this.endpoint}: ${msg}`, "connection", {
        cause: err,
      });
    }
    if (/after calling end on the pool|Client was closed/i.test(msg)) {
      return new DatabaseError("database connection is closed", "connection", { cause: err });
    }
    if (/SSL|certificate|SASL|password/i.test(msg)) {
      return new DatabaseError(`cannot use PostgreSQL at ${this.endpoint}: ${msg}`, "connection", { cause: err });
    }
    return new DatabaseError(msg, "query", { cause: err });
  }
}

function toResult<R extends Row>(res: pg.QueryResult | pg.QueryResult[]): QueryResult<R> {
  // A multi-statement script returns one result per statement; the last one is what a caller wants.
  const last = Array.isArray(res) ? res[res.length - 1] : res;
  if (!last) return { rows: [], fields: [] };
  return {
    rows: (last.rows ?? []) as R[],
    fields: (last.fields ?? []).map((f) => ({ name: f.name, dataTypeID: f.dataTypeID })),
  };
}

class PgTransaction implements Transaction {
  private done = false;

  constructor(
    private readonly client: pg.PoolClient,
    private readonly translate: (err: unknown) => DatabaseError,
  ) {}

  async query<R extends Row = Row>(text: string, values?: readonly unknown[]): Promise<QueryResult<R>> {
    // The client goes back to the pool afterwards; a late query would run in someone else's session.
    if (this.done) throw new DatabaseError("query on a transaction that has already ended", "query");
    try {
      return toResult<R>(await this.client.query(text, values ? [...values] : undefined));
    } catch (err) {
      throw this.translate(err);
    }
  }

  async exec(sql: string): Promise<void> {
    await this.query(sql);
  }

  finish(): void {
    this.done = true;
  }
}

class PgDedicatedConnection implements DedicatedConnection {
  private readonly lostListeners: ((err: Error) => void)[] = [];
  private closed = false;
  private lost = false;

  constructor(
    private readonly client: pg.Client,
    private readonly translate: (err: unknown) => DatabaseError,
    private readonly report: (err: DatabaseError) => void,
    private readonly forget: () => void,
  ) {
    // Until connected, failures arrive through connect()'s rejection; this only keeps a stray event from crashing.
    client.on("error", () => undefined);
  }

  /** Start watching for the session going away; only meaningful once connected. */
  arm(): void {
    const { client, report } = this;
    const markLost = (err: Error): void => {
      if (this.closed || this.lost) return;
      this.lost = true;
      this.forget();
      const translated = this.translate(err);
      report(translated);
      for (const listener of this.lostListeners) listener(translated);
    };
    client.on("error", markLost);
    client.on("end", () => markLost(new Error("Connection terminated unexpectedly")));
  }

  async query<R extends Row = Row>(text: string, values?: readonly unknown[]): Promise<QueryResult<R>> {
    try {
      return toResult<R>(await this.client.query(text, values ? [...values] : undefined));
    } catch (err) {
      throw this.translate(err);
    }
  }

  onLost(listener: (err: Error) => void): void {
    this.lostListeners.push(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.forget();
    await this.client.end().catch(() => undefined);
  }
}
