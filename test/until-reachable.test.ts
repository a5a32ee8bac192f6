/**
 * `vigil run` with a database that is not there yet: it waits with backoff (healthz 200, readyz 503
 * saying why), starts once the database answers, and stops cleanly on SIGTERM while waiting; a url
 * that is not PostgreSQL's, or `run --once`, fails at once.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DatabaseError } from "../src/db/database.js";
import { openDatabase } from "../src/db/open.js";
import { silentLogger } from "../src/log.js";
import { untilReachable } from "../src/until-reachable.js";
import { runCli, startCli, until, waitExit } from "./helpers/cli.js";
import { openTestDatabase, TEST_DATABASE_URL } from "./helpers/db.js";
import { freePort } from "./helpers/net.js";
import { TcpProxy } from "./helpers/tcp-proxy.js";
import { tempDirFor } from "./helpers/temp-dir.js";

const unreachable = () =>
  new DatabaseError("cannot reach PostgreSQL at 127.0.0.1:1: connect ECONNREFUSED", "connection", { code: "ECONNREFUSED" });

describe("untilReachable", () => {
  const noStandby = async () => null;

  it("retries an unreachable database with doubling waits, capped, and returns what the attempt made", async () => {
    const waits: number[] = [];
    let calls = 0;
    const r = await untilReachable(
      async () => {
        if (++calls < 7) throw unreachable();
        return "daemon";
      },
      {
        log: silentLogger(),
        signal: new AbortController().signal,
        standby: noStandby,
        sleep: async (ms) => void waits.push(ms),
        maxDelayMs: 10_000,
      },
    );
    expect(r).toBe("daemon");
    expect(waits).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
  });

  it("throws at once what waiting will not mend: wrong SQL, a url that is not PostgreSQL's, any other error", async () => {
    const opts = { log: silentLogger(), signal: new AbortController().signal, standby: noStandby, sleep: async () => {} };
    const badUrl = await openDatabase({ url: "mysql://root@127.0.0.1/test" }).catch((e: unknown) => e);
    expect(String(badUrl)).toMatch(/must start with postgres:\/\//);
    for (const err of [new DatabaseError("syntax error", "query"), badUrl, new Error("bug")]) {
      let calls = 0;
      await expect(
        untilReachable(async () => {
          calls++;
          throw err;
        }, opts),
      ).rejects.toBe(err);
      expect(calls).toBe(1);
    }
  });

  it("returns null when stopped while waiting", async () => {
    const stop = new AbortController();
    let calls = 0;
    const r = await untilReachable(
      async () => {
        calls++;
        throw unreachable();
      },
      {
        log: silentLogger(),
        signal: stop.signal,
        standby: noStandby,
        sleep: async () => {
          if (calls === 3) stop.abort();
        },
      },
    );
    expect(r).toBeNull();
    expect(calls).toBe(3);
  });
});

describe("untilReachable, stopped during an attempt", () => {
  it("does not wait for the attempt in flight, and discards what it makes later", async () => {
    const stop = new AbortController();
    let finish!: (v: string) => void;
    const discarded: string[] = [];
    const r = untilReachable(() => new Promise<string>((resolve) => (finish = resolve)), {
      log: silentLogger(),
      signal: stop.signal,
      standby: async () => null,
      discard: async (late) => void discarded.push(late),
    });
    stop.abort();
    expect(await r).toBeNull();
    finish("daemon made too late");
    await new Promise((resolve) => setImmediate(resolve));
    expect(discarded).toEqual(["daemon made too late"]);
  });

  it("leaves no abort listener behind after many attempts", async () => {
    const stop = new AbortController();
    let listeners = 0;
    const add = stop.signal.addEventListener.bind(stop.signal);
    const remove = stop.signal.removeEventListener.bind(stop.signal);
    stop.signal.addEventListener = ((...a: Parameters<typeof add>) => {
      listeners++;
      add(...a);
    }) as typeof add;
    stop.signal.removeEventListener = ((...a: Parameters<typeof remove>) => {
      listeners--;
      remove(...a);
    }) as typeof remove;
    let calls = 0;
    const r = await untilReachable(
      async () => {
        if (++calls < 50) throw unreachable();
        return "ok";
      },
      { log: silentLogger(), signal: stop.signal, standby: async () => null, sleep: async () => {} },
    );
    expect(r).toBe("ok");
    expect(listeners).toBe(0);
  });
});

function configYaml(url: string): string {
  return `database: {url: "${url}"}
http: {port: "\${VIGIL_PORT}", host: 127.0.0.1}
channels:
  out: {type: console}
defaults:
  notify: [out]
  schedule: "*/1 * * * *"
metrics:
  - name: m
    source: {table: wait_t, time_column: ts, value: count(*), granularity: 1h}
`;
}

describe("vigil run before its database is up (subprocess)", () => {
  const dir = tempDirFor("vigil-wait-");

  it("answers healthz 200 and readyz 503 with the reason while it waits, and exits 0 on SIGTERM", async () => {
    const cfg = join(dir(), "down.yaml");
    await writeFile(cfg, configYaml(`postgres://postgres@127.0.0.1:${await freePort()}/test`));
    const port = await freePort();
    const child = startCli(["run", "-c", cfg], { VIGIL_PORT: String(port) });
    const base = `http://127.0.0.1:${port}`;
    try {
      await until(async () => (await fetch(`${base}/healthz`).catch(() => null))?.ok, "healthz while waiting");
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.text()).toMatch(
        /^not ready: waiting for the database: cannot reach PostgreSQL at 127\.0\.0\.1:\d+: connect ECONNREFUSED/,
      );
      expect(child.out.stderr).toMatch(/database unreachable: waiting for it/);
    } finally {
      child.kill("SIGTERM");
    }
    const r = await waitExit(child);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/stopped while waiting for the database/);
  });

  it("run --once does not wait: exit 1 and the reason", async () => {
    const cfg = join(dir(), "once.yaml");
    await writeFile(cfg, configYaml(`postgres://postgres@127.0.0.1:${await freePort()}/test`));
    const r = await runCli(["run", "--once", "-c", cfg], { VIGIL_PORT: "0" });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/vigil: cannot start: cannot reach PostgreSQL at 127\.0\.0\.1:\d+: connect ECONNREFUSED/);
  });

  it("a url that is not PostgreSQL's is a config problem, not waited for", async () => {
    const cfg = join(dir(), "bad-url.yaml");
    await writeFile(cfg, configYaml("mysql://root@127.0.0.1/test"));
    const r = await runCli(["run", "-c", cfg], { VIGIL_PORT: "0" });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad-url\.yaml:1:\d+: database\.url: .*postgres:\/\//);
    // the same from the environment
    await writeFile(cfg, configYaml("").replace('database: {url: ""}\n', ""));
    const env = await runCli(["run", "-c", cfg], { VIGIL_PORT: "0", DATABASE_URL: "mysql://root@127.0.0.1/test" });
    expect(env.code).toBe(2);
    expect(env.stderr).toMatch(/DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL/);
  });

  it.runIf(TEST_DATABASE_URL)("starts by itself once the database answers (real PostgreSQL)", async () => {
    const t = await openTestDatabase();
    const proxy = new TcpProxy("127.0.0.1", 5432);
    const dbPort = await freePort();
    const url = new URL(t.url!);
    url.host = `127.0.0.1:${dbPort}`;
    const cfg = join(dir(), "later.yaml");
    await writeFile(cfg, configYaml(url.toString()));
    const port = await freePort();
    const child = startCli(["run", "-c", cfg], { VIGIL_PORT: String(port) });
    const base = `http://127.0.0.1:${port}`;
    try {
      await until(() => /database unreachable/.test(child.out.stderr), "a failed attempt");
      await proxy.start(dbPort); // the database comes up
      await until(async () => (await fetch(`${base}/readyz`).catch(() => null))?.status === 200, "ready once the database answers");
      expect(child.out.stderr).toMatch(/database reachable: starting/);
    } finally {
      child.kill("SIGTERM");
      await waitExit(child).catch(() => {});
      await proxy.stop();
      await t.close();
    }
  });
});
