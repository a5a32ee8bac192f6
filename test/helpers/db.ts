/**
 * Databases for tests, isolated so that test files can run in parallel.
 *
 * With VIGIL_TEST_DATABASE_URL set (CI: postgres://postgres@127.0.0.1:5432/test) every call creates a
 * fresh database `vigil_t_<random>` on that server and drops it on close; otherwise every call gets
 * its own PGlite. Run the suite both ways: PGlite is what `vigil demo` uses, PostgreSQL what production does.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import type { Database } from "../../src/db/database.js";
import { PgDatabase } from "../../src/db/pg.js";
import { PgliteDatabase } from "../../src/db/pglite.js";

export interface TestDatabase {
  db: Database;
  /** Set on PostgreSQL: the fresh database's URL, e.g. to hand to a subprocess as DATABASE_URL. */
  url?: string;
  /** Set for `openTestDataDir`: the PGlite directory. */
  dataDir?: string;
  /** Close `db` (if still open) and drop the database or delete the directory. Idempotent. */
  close(): Promise<void>;
}

export const TEST_DATABASE_URL = process.env.VIGIL_TEST_DATABASE_URL?.trim() || undefined;

let template: Promise<Blob> | null = null;

/**
 * A new PGlite cluster's data directory, dumped: creating a cluster (initdb in WebAssembly) takes
 * 3-7 s on two busy cores, starting from this dump about 1 s, and the PGlite pass opens some thirty.
 * Made once and kept in the temporary directory, named by PGlite's version, for every worker and
 * run (written whole, then renamed: a worker never reads half of one). The tests of PGlite's own
 * start-up (db.test.ts) open clusters the ordinary way.
 */
function pgliteTemplate(): Promise<Blob> {
  template ??= (async () => {
    // (the package does not export its package.json)
    const manifest = new URL("../../node_modules/@electric-sql/pglite/package.json", import.meta.url);
    const { version } = JSON.parse(await readFile(manifest, "utf8")) as { version: string };
    const file = join(tmpdir(), `vigil-test-pglite-${version}.tar`);
    try {
      return new Blob([await readFile(file)]);
    } catch {
      const pg = await PGlite.create();
      const dump = await pg.dumpDataDir("none");
      await pg.close();
      const part = `${file}.${process.pid}.${randomBytes(4).toString("hex")}`;
      await writeFile(part, Buffer.from(await dump.arrayBuffer()));
      await rename(part, file);
      return dump;
    }
  })();
  return template;
}

/** Fresh and empty: a new PostgreSQL database when VIGIL_TEST_DATABASE_URL is set, else in-memory PGlite. */
export async function openTestDatabase(): Promise<TestDatabase> {
  if (TEST_DATABASE_URL) return createPgDatabase(TEST_DATABASE_URL);
  const db = await PgliteDatabase.open({ memory: true, template: await pgliteTemplate() });
  return { db, close: once(() => db.close()) };
}

/**
 * A PGlite database persisted in a fresh temporary directory, for tests that run vigil in a
 * subprocess: seed through `db`, call `db.close()` (PGlite allows one process per directory), then
 * start the subprocess on `dataDir`. `close()` removes the directory.
 */
export async function openTestDataDir(): Promise<TestDatabase & { dataDir: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), "vigil-pglite-"));
  const db = await PgliteDatabase.open({ dataDir, template: await pgliteTemplate() });
  return {
    db,
    dataDir,
    close: once(async () => {
      await db.close();
      await rm(dataDir, { recursive: true, force: true });
    }),
  };
}

/** For subprocess tests on either backend: a fresh PostgreSQL database (with `url`) or a PGlite directory (with `dataDir`). */
export async function openSubprocessDatabase(): Promise<TestDatabase> {
  return TEST_DATABASE_URL ? createPgDatabase(TEST_DATABASE_URL) : openTestDataDir();
}

async function createPgDatabase(adminUrl: string): Promise<TestDatabase> {
  const name = `vigil_t_${randomBytes(6).toString("hex")}`;
  await admin(adminUrl, `CREATE DATABASE ${name}`);
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  const db = new PgDatabase({ url, statementTimeoutMs: 60_000 });
  return {
    db,
    url,
    close: once(async () => {
      await db.close();
      // FORCE: a subprocess or a leaked connection must not keep test databases around.
      await admin(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }),
  };
}

/** CREATE/DROP DATABASE cannot run in a transaction or through the pool's session settings: use a plain client. */
async function admin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, application_name: "vigil-test" });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let p: Promise<void> | null = null;
  return () => {
    p ??= fn();
    return p;
  };
}

/** The environment that points a vigil subprocess at `t`: its PostgreSQL URL, or its PGlite directory. */
export function subprocessEnv(t: TestDatabase): Record<string, string> {
  return t.url ? { DATABASE_URL: t.url } : { VIGIL_DATA_DIR: t.dataDir ?? "", DATABASE_URL: "" };
}
