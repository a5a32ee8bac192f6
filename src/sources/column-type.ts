/**
 * What the database says a table's columns are, for checks that depend on a column's type (a
 * `timestamp without time zone` time column is read in `source.timezone`, default UTC). The table is
 * named as in the config: `events` (found on the search_path, first schema wins) or
 * `analytics.events`; names are bound values, compared exactly as `quoteIdent` would quote them.
 */
import type { Queryable } from "../db/database.js";

export interface TableColumns {
  schema: string;
  /** Column name -> `information_schema.columns.data_type`, e.g. "timestamp without time zone", "date". */
  types: Map<string, string>;
}

const COLUMNS_SQL = `SELECT c.table_schema::text AS schema, c.column_name::text AS name, c.data_type::text AS type
FROM information_schema.columns c
WHERE c.table_name = $2
  AND CASE WHEN $1::text IS NULL THEN c.table_schema = ANY (current_schemas(false)) ELSE c.table_schema = $1::text END
ORDER BY array_position(current_schemas(false), c.table_schema::name), c.ordinal_position`;

/** The table's columns and their types, or null when no such table (or view) is visible. */
export async function tableColumns(db: Queryable, table: string): Promise<TableColumns | null> {
  const parts = table.split(".");
  const name = parts[parts.length - 1]!;
  const schema = parts.length > 1 ? parts[parts.length - 2]! : null;
  const { rows } = await db.query(COLUMNS_SQL, [schema, name]);
  const first = rows[0];
  if (!first) return null;
  const types = new Map<string, string>();
  for (const r of rows) if (r.schema === first.schema) types.set(String(r.name), String(r.type));
  return { schema: String(first.schema), types };
}
