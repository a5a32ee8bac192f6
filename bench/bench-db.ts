/** The PostgreSQL the scale benches run on: the admin connection, and a database of their own for each run. */
import pg from "pg";

export interface BenchServer {
  admin: string;
  client: pg.Client;
  /** A fresh database: its URL. */
  create(name: string): Promise<string>;
  drop(name: string): Promise<void>;
  end(): Promise<void>;
}

/** Connects to VIGIL_BENCH_DATABASE_URL (an admin URL), or prints why `what` is skipped and returns null. */
export async function benchServer(what: string, why = "needs PostgreSQL (set VIGIL_BENCH_DATABASE_URL)"): Promise<BenchServer | null> {
  const admin = process.env.VIGIL_BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const client = new pg.Client({ connectionString: admin, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
  } catch {
    console.log(`${what} — skipped: ${why}`);
    await client.end().catch(() => {});
    return null;
  }
  return {
    admin,
    client,
    async create(name) {
      await client.query(`CREATE DATABASE ${name}`);
      return Object.assign(new URL(admin), { pathname: `/${name}` }).toString();
    },
    async drop(name) {
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
    end: () => client.end(),
  };
}
