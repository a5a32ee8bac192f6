/**
 * One database per test file (PGlite start-up is slow, a PostgreSQL database per file isolates
 * parallel files) and a fresh, migrated state schema per test. Registers its own hooks.
 */
import { afterAll, beforeAll } from "vitest";
import type { Database } from "../../src/db/database.js";
import { migrate } from "../../src/store/migrations.js";
import { StateStore } from "../../src/store/state-store.js";
import { openTestDatabase, type TestDatabase } from "./db.js";

export function useStateSchemas(prefix: string): { db: () => Database; freshStore: () => Promise<StateStore> } {
  let t: TestDatabase | null = null;
  let n = 0;
  beforeAll(async () => {
    t = await openTestDatabase();
  });
  afterAll(async () => {
    await t?.close();
  });
  const db = () => {
    if (!t) throw new Error("useStateSchemas: the database opens in beforeAll");
    return t.db;
  };
  return {
    db,
    freshStore: async () => {
      n++;
      await migrate(db(), `${prefix}${n}`);
      return new StateStore(db(), `${prefix}${n}`);
    },
  };
}
