/**
 * A stop while the leader (or shard) connection is still being opened: the connection that arrives
 * afterwards is closed, so that nothing keeps the process alive after `vigil run` stops. (Under load
 * a daemon stopped during its first election kept an idle connection and never exited.)
 */
import { describe, expect, it } from "vitest";
import type { Database, DedicatedConnection } from "../src/db/database.js";
import { LeaderElector, ShardManager } from "../src/leader.js";
import { silentLogger } from "../src/log.js";

function slowDatabase(): { db: Database; open: () => void; closed: () => number; queries: string[] } {
  let release = () => {};
  let closed = 0;
  const queries: string[] = [];
  const conn: DedicatedConnection = {
    query: async (text: string) => {
      queries.push(text);
      return { rows: [{ ok: true, n: 1 }], rowCount: 1 } as never;
    },
    onLost: () => {},
    close: async () => {
      closed++;
    },
  };
  const db = {
    kind: "pg",
    target: "postgres://test",
    dedicated: () => new Promise<DedicatedConnection>((resolve) => (release = () => resolve(conn))),
  } as unknown as Database;
  return { db, open: () => release(), closed: () => closed, queries };
}

const settle = () => new Promise((r) => setTimeout(r, 20));

describe("stopping while the connection opens", () => {
  it("the leader elector closes the late connection and is not elected", async () => {
    const s = slowDatabase();
    const e = new LeaderElector({ db: s.db, log: silentLogger(), retryMs: 10 });
    let elected = false;
    e.on("elected", () => (elected = true));
    e.start();
    await e.stop();
    s.open();
    await settle();
    expect(s.closed()).toBe(1);
    expect(elected).toBe(false);
    expect(e.isLeader).toBe(false);
  });

  it("the shard manager closes the late connection and holds no shard", async () => {
    const s = slowDatabase();
    const m = new ShardManager({ db: s.db, log: silentLogger(), shards: 2, retryMs: 10 });
    m.start();
    await m.stop();
    s.open();
    await settle();
    expect(s.closed()).toBe(1);
    expect(m.shards.size).toBe(0);
  });
});
