import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, DatabaseError } from "../src/db/database.js";
import { openDatabase } from "../src/db/open.js";
import { PgDatabase, redactUrl } from "../src/db/pg.js";
import { LOCK_STALE_MS, PgliteDatabase } from "../src/db/pglite.js";
import { openTestDatabase, type TestDatabase } from "./helpers/db.js";

let t: TestDatabase;
let db: Database;

// PGlite takes seconds to start, more when test files run in parallel.
const SLOW = 60_000;

beforeAll(async () => {
  t = await openTestDatabase();
  db = t.db;
}, SLOW);
afterAll(async () => {
  await t?.close();
}, SLOW);

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection");
}

describe("values", () => {
  it("returns domain numbers and UTC dates on both backends", async () => {
    const { rows, fields } = await db.query(
      `SELECT 12345678901::int8 AS big, 1.25::numeric AS num, 'NaN'::numeric AS num_nan,
              'Infinity'::float8 AS inf, 3::int4 AS small,
              '2024-03-01 12:00:00+00'::timestamptz AS tz,
              '2024-03-01 12:00:00'::timestamp AS naive,
              '2024-03-01'::date AS day,
              ARRAY[1, 2]::int8[] AS big_arr,
              current_setting('TimeZone') AS zone`,
    );
    const r = rows[0]!;
    expect(r.big).toBe(12345678901);
    expect(r.num).toBe(1.25);
    expect(r.num_nan).toBeNaN();
    expect(r.inf).toBe(Number.POSITIVE_INFINITY);
    expect(r.small).toBe(3);
    expect(r.tz).toEqual(new Date("2024-03-01T12:00:00Z"));
    expect(r.naive).toEqual(new Date("2024-03-01T12:00:00Z"));
    expect(r.day).toEqual(new Date("2024-03-01T00:00:00Z"));
    expect(r.big_arr).toEqual([1, 2]);
    expect(r.zone).toBe("UTC");
    expect(fields?.map((f) => f.name)).toContain("tz");
    expect(fields?.find((f) => f.name === "tz")?.dataTypeID).toBe(1184);
  });

  it("binds parameters", async () => {
    const { rows } = await db.query<{ s: string; n: number }>("SELECT $1::text AS s, $2::int AS n", ["it's; DROP", 7]);
    expect(rows).toEqual([{ s: "it's; DROP", n: 7 }]);
  });

  it("runs a multi-statement script with exec", async () => {
    await db.exec("CREATE TABLE exec_t (x int); INSERT INTO exec_t VALUES (1), (2);");
    const { rows } = await db.query("SELECT count(*)::int AS n FROM exec_t");
    expect(rows[0]!.n).toBe(2);
  });
});

describe("errors", () => {
  it("turns a failing query into a DatabaseError with the server's message and SQLSTATE", async () => {
    const err = await caught(db.query("SELECT * FROM no_such_table"));
    expect(err).toBeInstanceOf(DatabaseError);
    const e = err as DatabaseError;
    expect(e.kind).toBe("query");
    expect(e.code).toBe("42P01");
    expect(e.message).toMatch(/relation "no_such_table" does not exist/);
    expect(e.message).toMatch(/42P01/);
    expect(e.details.position).toBe(15);
    expect(JSON.parse(JSON.stringify(e))).toMatchObject({ name: "DatabaseError", kind: "query", code: "42P01" });
  });

  it("reports connection refused with the address and without the password", async () => {
    const bad = new PgDatabase({ url: "postgres://vigil:s3cr3t@127.0.0.1:1/x", connectTimeoutMs: 2000 });
    try {
      expect(bad.target).toBe("postgres://vigil:***@127.0.0.1:1/x");
      for (const attempt of [bad.query("SELECT 1"), bad.transaction(async () => 1), bad.dedicated()]) {
        const err = await caught(attempt);
        expect(err).toBeInstanceOf(DatabaseError);
        const e = err as DatabaseError;
        expect(e.kind).toBe("connection");
        expect(e.message).toBe("cannot reach PostgreSQL at 127.0.0.1:1: connect ECONNREFUSED");
        expect(JSON.stringify(e)).not.toContain("s3cr3t");
      }
    } finally {
      await bad.close();
    }
  });

  it("tells a server that never answers (connect timeout) from one that hangs up during startup", async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((sock) => sockets.add(sock));
    const rude = createServer((sock) => sock.destroy());
    try {
      const port = async (srv: Server): Promise<number> => {
        await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
        return (srv.address() as AddressInfo).port;
      };
      const silentPort = await port(silent);
      const rudePort = await port(rude);
      const a = new PgDatabase({ url: `postgres://u:pw@127.0.0.1:${silentPort}/x`, connectTimeoutMs: 300 });
      const b = new PgDatabase({ url: `postgres://u:pw@127.0.0.1:${rudePort}/x`, connectTimeoutMs: 5000 });
      try {
        const ea = (await caught(a.query("SELECT 1"))) as DatabaseError;
        expect(ea.message).toBe(`cannot reach PostgreSQL at 127.0.0.1:${silentPort}: no connection within 300 ms`);
        expect(ea.kind).toBe("connection");
        const eb = (await caught(b.query("SELECT 1"))) as DatabaseError;
        expect(eb.message).toBe(`cannot reach PostgreSQL at 127.0.0.1:${rudePort}: the server closed the connection during startup`);
      } finally {
        await a.close();
        await b.close();
      }
    } finally {
      for (const sock of sockets) sock.destroy();
      silent.close();
      rude.close();
    }
  });

  it("refuses queries after close", async () => {
    const closed = new PgDatabase({ url: "postgres://u@127.0.0.1:1/x" });
    await closed.close();
    const err = (await caught(closed.query("SELECT 1"))) as DatabaseError;
    expect(err.message).toBe("database connection is closed");
  });

  it("redacts passwords in URLs", () => {
    expect(redactUrl("postgres://u:p%40ss@h:5432/d?sslmode=require")).toBe("postgres://u:***@h:5432/d?sslmode=require");
    expect(redactUrl("postgres://h/d?password=secret")).toBe("postgres://h/d?password=***");
    expect(redactUrl("postgres://u@h/d")).toBe("postgres://u@h/d");
  });
});

describe("transactions", () => {
  it("commits", async () => {
    await db.query("CREATE TABLE tx_commit (x int)");
    const out = await db.transaction(async (tx) => {
      await tx.query("INSERT INTO tx_commit VALUES ($1)", [1]);
      await tx.exec("INSERT INTO tx_commit VALUES (2); INSERT INTO tx_commit VALUES (3);");
      return "done";
    });
    expect(out).toBe("done");
    const { rows } = await db.query("SELECT count(*)::int AS n FROM tx_commit");
    expect(rows[0]!.n).toBe(3);
  });

  it("rolls back on a thrown error and rethrows it unchanged", async () => {
    await db.query("CREATE TABLE tx_rollback (x int)");
    const boom = new Error("boom");
    const err = await caught(
      db.transaction(async (tx) => {
        await tx.query("INSERT INTO tx_rollback VALUES (1)");
        throw boom;
      }),
    );
    expect(err).toBe(boom);
    const { rows } = await db.query("SELECT count(*)::int AS n FROM tx_rollback");
    expect(rows[0]!.n).toBe(0);
  });

  it("rolls back on a failing statement", async () => {
    await db.query("CREATE TABLE tx_fail (x int PRIMARY KEY)");
    const err = await caught(
      db.transaction(async (tx) => {
        await tx.query("INSERT INTO tx_fail VALUES (1)");
        await tx.query("INSERT INTO tx_fail VALUES (1)");
      }),
    );
    expect(err).toBeInstanceOf(DatabaseError);
    expect((err as DatabaseError).code).toBe("23505");
    const { rows } = await db.query("SELECT count(*)::int AS n FROM tx_fail");
    expect(rows[0]!.n).toBe(0);
    // The database is still usable afterwards.
    await db.transaction(async (tx) => tx.query("INSERT INTO tx_fail VALUES (2)"));
  });

  it("serializes concurrent transactions", async () => {
    await db.query("CREATE TABLE tx_counter (n int)");
    await db.query("INSERT INTO tx_counter VALUES (0)");
    await Promise.all(
      Array.from({ length: 8 }, () =>
        db.transaction(async (tx) => {
          const { rows } = await tx.query<{ n: number }>("SELECT n FROM tx_counter FOR UPDATE");
          await tx.query("UPDATE tx_counter SET n = $1", [rows[0]!.n + 1]);
        }),
      ),
    );
    const { rows } = await db.query("SELECT n FROM tx_counter");
    expect(rows[0]!.n).toBe(8);
  });

  it("refuses a transaction handle used after it ended", async () => {
    let leaked: { query: (s: string) => Promise<unknown> } | undefined;
    await db.transaction(async (tx) => {
      leaked = tx;
    });
    const err = await caught(leaked!.query("SELECT 1"));
    expect((err as Error).message).toMatch(/already ended/);
  });

  it.runIf(process.env.VIGIL_TEST_DATABASE_URL === undefined)(
    "PGlite: using the database inside its own transaction is an error, not a deadlock",
    async () => {
      const err = await caught(db.transaction(async () => db.query("SELECT 1")));
      expect((err as Error).message).toMatch(/use the tx argument/);
      // Work started inside a transaction but run after it is fine.
      let later: Promise<unknown> = Promise.resolve();
      await db.transaction(async () => {
        later = new Promise((r) => setTimeout(r, 5)).then(() => db.query("SELECT 1"));
      });
      await later;
    },
  );
});

describe("dedicated connections and advisory locks", () => {
  it("holds a session advisory lock until released or closed", async () => {
    const a = await db.dedicated();
    try {
      const got = await a.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1) AS ok", [4242]);
      expect(got.rows[0]!.ok).toBe(true);
      if (db.kind === "pg") {
        const b = await db.dedicated();
        try {
          const denied = await b.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1) AS ok", [4242]);
          expect(denied.rows[0]!.ok).toBe(false);
          await a.close();
          const granted = await b.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1) AS ok", [4242]);
          expect(granted.rows[0]!.ok).toBe(true);
        } finally {
          await b.close();
        }
      } else {
        const unlocked = await a.query<{ ok: boolean }>("SELECT pg_advisory_unlock($1) AS ok", [4242]);
        expect(unlocked.rows[0]!.ok).toBe(true);
      }
    } finally {
      await a.close();
    }
  });
});

describe.runIf(process.env.VIGIL_TEST_DATABASE_URL !== undefined)("pg specifics", () => {
  it("names itself vigil", async () => {
    const { rows } = await db.query("SELECT current_setting('application_name') AS app");
    expect(rows[0]!.app).toBe("vigil");
  });

  it("reports a dropped idle pooled connection through onError without crashing", async () => {
    const errors: DatabaseError[] = [];
    const own = new PgDatabase({ url: t.url!, onError: (e) => errors.push(e) });
    try {
      const { rows } = await own.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
      await db.query("SELECT pg_terminate_backend($1)", [rows[0]!.pid]);
      await waitFor(() => errors.length > 0);
      expect(errors[0]!.kind).toBe("connection");
      // The pool replaces the dead connection.
      const again = await own.query("SELECT 1 AS one");
      expect(again.rows[0]!.one).toBe(1);
    } finally {
      await own.close();
    }
  });

  it("tells the holder of a dedicated connection that it was lost", async () => {
    const errors: DatabaseError[] = [];
    const own = new PgDatabase({ url: t.url!, onError: (e) => errors.push(e) });
    try {
      const conn = await own.dedicated();
      const lost: Error[] = [];
      conn.onLost((e) => lost.push(e));
      const { rows } = await conn.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
      await db.query("SELECT pg_terminate_backend($1)", [rows[0]!.pid]);
      await waitFor(() => lost.length > 0);
      expect(lost).toHaveLength(1);
      expect(lost[0]).toBeInstanceOf(DatabaseError);
      expect(errors).toHaveLength(1);
      // Closing a lost connection is harmless, and queries on it fail clearly.
      await expect(conn.query("SELECT 1")).rejects.toBeInstanceOf(DatabaseError);
      await conn.close();
    } finally {
      await own.close();
    }
  });

  it("says so when every pooled connection is busy", async () => {
    const small = new PgDatabase({ url: t.url!, max: 1, connectTimeoutMs: 300 });
    try {
      let release!: () => void;
      const held = small.transaction(() => new Promise<void>((r) => (release = r)));
      const err = (await caught(small.query("SELECT 1"))) as DatabaseError;
      expect(err.message).toMatch(/no free connection to PostgreSQL at 127\.0\.0\.1:5432 within 300 ms: all 1 pooled connections are busy/);
      release();
      await held;
      expect((await small.query("SELECT 1 AS one")).rows[0]!.one).toBe(1);
    } finally {
      await small.close();
    }
  });

  it("reports an unknown database as a connection error", async () => {
    const u = new URL(t.url!);
    u.pathname = "/vigil_no_such_db";
    u.password = "hunter2";
    const bad = new PgDatabase({ url: u.toString() });
    try {
      const err = (await caught(bad.query("SELECT 1"))) as DatabaseError;
      expect(err.kind).toBe("connection");
      expect(err.message).toMatch(/cannot use PostgreSQL at 127\.0\.0\.1:5432: database "vigil_no_such_db" does not exist/);
      expect(err.message).not.toContain("hunter2");
    } finally {
      await bad.close();
    }
  });
});

describe("openDatabase", () => {
  it(
    "uses PGlite without a url (an empty one counts as unset) and pg with one",
    async () => {
      const lite = await openDatabase({ url: "", memory: true });
      try {
        expect(lite.kind).toBe("pglite");
        expect(lite.target).toBe("pglite:memory");
      } finally {
        await lite.close();
      }
      const remote = await openDatabase({ url: "postgres://u:pw@127.0.0.1:1/db" });
      expect(remote.kind).toBe("pg");
      expect(remote.target).not.toContain("pw@");
      await remote.close();
      await remote.close();
    },
    SLOW,
  );

  it("rejects a url that is not postgres://", async () => {
    const err = (await caught(openDatabase({ url: "mysql://u:secret@h/d" }))) as DatabaseError;
    expect(err.message).toMatch(/must start with postgres:\/\//);
    expect(err.message).not.toContain("secret");
  });

  it(
    "persists PGlite in a directory across reopen",
    async () => {
      const dir = await mkdtemp(join(tmpdir(), "vigil-db-test-"));
      try {
        const first = await PgliteDatabase.open({ dataDir: join(dir, "nested", "pglite") });
        await first.query("CREATE TABLE kept (x int)");
        await first.query("INSERT INTO kept VALUES (42)");
        await first.close();
        const second = await openDatabase({ dataDir: join(dir, "nested", "pglite") });
        try {
          const { rows } = await second.query("SELECT x FROM kept");
          expect(rows).toEqual([{ x: 42 }]);
        } finally {
          await second.close();
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    SLOW,
  );
});

describe("PGlite template", () => {
  it(
    "starts a new database, in memory or in a directory, from a dumped data directory",
    async () => {
      const source = await PGlite.create();
      await source.exec("CREATE TABLE seeded (x int); INSERT INTO seeded VALUES (7)");
      const template = await source.dumpDataDir("none");
      await source.close();
      const memory = await PgliteDatabase.open({ memory: true, template });
      expect((await memory.query("SELECT x FROM seeded")).rows).toEqual([{ x: 7 }]);
      await memory.close();
      const dir = await mkdtemp(join(tmpdir(), "vigil-template-test-"));
      try {
        const first = await PgliteDatabase.open({ dataDir: join(dir, "pglite"), template });
        await first.query("INSERT INTO seeded VALUES (8)");
        await first.close();
        // reopened as any directory is: the template's contents and what was written since
        const again = await PgliteDatabase.open({ dataDir: join(dir, "pglite") });
        expect((await again.query("SELECT x FROM seeded ORDER BY x")).rows).toEqual([{ x: 7 }, { x: 8 }]);
        await again.close();
        // a template applies to a new database only: an existing one opens as it is
        const withTemplate = await PgliteDatabase.open({ dataDir: join(dir, "pglite"), template });
        expect((await withTemplate.query("SELECT x FROM seeded ORDER BY x")).rows).toEqual([{ x: 7 }, { x: 8 }]);
        await withTemplate.close();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    SLOW,
  );
});

describe("PGlite directory lock", () => {
  it(
    "refuses a second open of one directory while it is open, and allows it after close",
    async () => {
      const dir = await mkdtemp(join(tmpdir(), "vigil-lock-test-"));
      const dataDir = join(dir, "pglite");
      try {
        const first = await PgliteDatabase.open({ dataDir });
        const err = (await caught(PgliteDatabase.open({ dataDir }))) as DatabaseError;
        expect(err).toBeInstanceOf(DatabaseError);
        expect(err.message).toMatch(/is in use by this process; PGlite allows one process at a time/);
        expect(await readFile(`${dataDir}.lock`, "utf8")).toBe(`${hostname()} ${process.pid}\n`);
        await first.close();
        expect(existsSync(`${dataDir}.lock`)).toBe(false);
        const again = await PgliteDatabase.open({ dataDir });
        await again.close();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    SLOW,
  );

  it(
    "names a live holder process and takes over a stale lock",
    async () => {
      const dir = await mkdtemp(join(tmpdir(), "vigil-lock-test-"));
      const dataDir = join(dir, "pglite");
      const holder = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
      try {
        await writeFile(`${dataDir}.lock`, `${hostname()} ${holder.pid}\n`);
        const err = (await caught(PgliteDatabase.open({ dataDir }))) as DatabaseError;
        expect(err.message).toBe(
          `the embedded PGlite database at ${dataDir} is in use by process ${holder.pid}; PGlite allows one process at a time (stop the other one, or use PostgreSQL via DATABASE_URL)`,
        );
        holder.kill();
        await new Promise((r) => holder.once("exit", r));
        // The holder died without cleaning up: its lock is stale.
        const db = await PgliteDatabase.open({ dataDir });
        expect((await db.query("SELECT 1 AS one")).rows[0]!.one).toBe(1);
        await db.close();
      } finally {
        holder.kill();
        await rm(dir, { recursive: true, force: true });
      }
    },
    SLOW,
  );
});

describe("PGlite directory lock shared between hosts (containers on one volume)", () => {
  it(
    "refuses a lock another host refreshed within the last minute, and takes over one left untouched longer",
    async () => {
      const dir = await mkdtemp(join(tmpdir(), "vigil-lock-test-"));
      const dataDir = join(dir, "pglite");
      try {
        await writeFile(`${dataDir}.lock`, "other-container 1\n");
        const err = (await caught(PgliteDatabase.open({ dataDir }))) as DatabaseError;
        expect(err.message).toMatch(
          /is in use by process 1 on host other-container \(its lock was refreshed \d+ s ago; it is taken over 60 s after its last refresh\)/,
        );
        expect(await readFile(`${dataDir}.lock`, "utf8")).toBe("other-container 1\n");
        const old = new Date(Date.now() - LOCK_STALE_MS - 1000);
        await utimes(`${dataDir}.lock`, old, old);
        const db = await PgliteDatabase.open({ dataDir });
        expect(await readFile(`${dataDir}.lock`, "utf8")).toBe(`${hostname()} ${process.pid}\n`);
        await db.close();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    SLOW,
  );
});

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}
