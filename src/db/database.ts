/**
 * The one narrow seam between vigil and a PostgreSQL-speaking database (pg Pool or PGlite).
 * Values are always bound parameters; identifiers are quoted with `quoteIdent`.
 */
export type Row = Record<string, unknown>;

export interface QueryResult<R extends Row = Row> {
  rows: R[];
}

export interface Queryable {
  query<R extends Row = Row>(text: string, values?: readonly unknown[]): Promise<QueryResult<R>>;
}

export interface Database extends Queryable {
  readonly kind: "pg" | "pglite";
  /** Run `fn` in one transaction (BEGIN/COMMIT, ROLLBACK on throw) on one connection. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Quote an SQL identifier, allowing a dotted `schema.table` path. */
export function quoteIdent(name: string): string {
  return name
    .split(".")
    .map((part) => `"${part.replace(/"/g, '""')}"`)
    .join(".");
}
