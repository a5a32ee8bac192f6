/**
 * Memory of the daemon as a user starts it: `npx vigil run -c FILE` (npm's exec, then the launcher,
 * then the daemon it starts with the image's settings), 10,000 default-ensemble series of 5-minute
 * buckets on each layout (wide tables, a long-format table with a metric per name, one metric split
 * by [metric, host]), one daemon per layout and database, on the wall clock: the data ends at the
 * current bucket, and the bench writes each new bucket's rows when it starts, as a pipeline would.
 * Prints each process's resident memory after the steady ticks that follow the history load, and
 * its peak (VmHWM).
 *
 * Env: VIGIL_BENCH_DATABASE_URL (admin URL), INSTALLED_DAYS (history, default 2),
 * INSTALLED_BUCKETS (new buckets judged after the load, default 2).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { benchServer } from "./bench-db.js";
import { DAY, MIN5, PER_TABLE, REGIONS } from "./scale-shape.js";

type Layout = "wide" | "long" | "big";
const LAYOUTS: readonly Layout[] = ["wide", "long", "big"];
const NAMES = 1000;
const HOSTS = 10;
const COLUMNS = Array.from({ length: PER_TABLE }, (_, i) => `c${i}`);

const wave = (i: string) => `100 + (${i} % 7 + 1) * sin(b / 45.8 + ${i}) + random() * 3`;

/** Rows of buckets [from, to) (bucket numbers since the epoch) for a layout's tables. */
function insertSql(layout: Layout, from: number, to: number): string[] {
  const b = `generate_series(${from}, ${to - 1}) AS b`;
  if (layout !== "wide") {
    return [
      `INSERT INTO long_t SELECT to_timestamp(b::float8 * 300), 'm' || lpad(i::text, 4, '0'), 'h' || h, ${wave("i")}
       FROM ${b}, generate_series(0, ${NAMES - 1}) i, generate_series(0, ${HOSTS - 1}) h`,
    ];
  }
  return Array.from(
    { length: NAMES / PER_TABLE },
    (_, t) =>
      `INSERT INTO scale_t${t} SELECT to_timestamp(b::float8 * 300), 'r' || r, ${COLUMNS.map((_, i) => wave(String(i))).join(", ")}
       FROM ${b}, generate_series(0, ${REGIONS - 1}) AS r`,
  );
}

async function createData(url: string, layout: Layout, from: number, to: number): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const tables =
    layout === "wide"
      ? Array.from(
          { length: NAMES / PER_TABLE },
          (_, t) => `scale_t${t} (ts timestamptz NOT NULL, region text NOT NULL, ${COLUMNS.map((x) => `${x} float8`).join(", ")})`,
        )
      : ["long_t (ts timestamptz NOT NULL, metric text NOT NULL, host text NOT NULL, v float8)"];
  for (const t of tables) await c.query(`CREATE TABLE ${t}`);
  for (const q of insertSql(layout, from, to)) await c.query(q);
  for (const t of tables) {
    const name = t.slice(0, t.indexOf(" "));
    await c.query(`CREATE INDEX ON ${name} (ts)`);
    await c.query(`VACUUM ANALYZE ${name}`);
  }
  await c.end();
}

/** The config a user writes for the layout: no `detectors:` (the default ensemble), ticks every minute. */
function configYaml(layout: Layout, url: string, port: number, days: number): string {
  const head = [
    `database: {url: "${url}"}`,
    `http: {host: 127.0.0.1, port: ${port}}`,
    `defaults: {schedule: "* * * * *", notify: [], lookback: ${days}d}`,
    "metrics:",
  ];
  const metric = (name: string, source: string) => `  - {name: ${name}, source: {${source}, granularity: 5m}}`;
  if (layout === "big")
    return [...head, metric("all", "table: long_t, time_column: ts, value: avg(v), split_by: [metric, host]")].join("\n");
  const lines = Array.from({ length: NAMES }, (_, i) => {
    const name = `m${String(i).padStart(4, "0")}`;
    return layout === "long"
      ? metric(name, `table: long_t, time_column: ts, value: avg(v), where: "metric = '${name}'", split_by: [host]`)
      : metric(name, `table: scale_t${Math.floor(i / PER_TABLE)}, time_column: ts, value: "sum(c${i % PER_TABLE})", split_by: [region]`);
  });
  return [...head, ...lines].join("\n");
}

function status(pid: number): { rssMb: number; peakMb: number } | null {
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(s)?.[1] ?? Number.NaN);
    return { rssMb: kb("VmRSS") / 1000, peakMb: kb("VmHWM") / 1000 };
  } catch {
    return null;
  }
}

/** The processes under `root`, as [pid, command line]. */
function descendants(root: number): [number, string][] {
  const parent = new Map<number, number>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {}
  }
  const out: [number, string][] = [];
  const walk = (p: number) => {
    for (const [c, pp] of parent) {
      if (pp !== p) continue;
      try {
        out.push([c, readFileSync(`/proc/${c}/cmdline`, "utf8").replace(/\0/g, " ")]);
      } catch {}
      walk(c);
    }
  };
  walk(root);
  return out;
}

interface Watched {
  layout: Layout;
  proc: ChildProcess;
  ticksDone: number[];
  errors: string[];
  /** Resident memory of each role at its highest sample. */
  roles: Map<string, { pid: number; rssMb: number; maxRssMb: number; peakMb: number }>;
}

/** The launcher is `node …/.bin/vigil run …` (npm's link to bin/vigil.js); the daemon, the node it starts with the image's flags. */
function roleOf(cmd: string): string | null {
  if (!cmd.startsWith(process.execPath) && !/^node /.test(cmd)) return null;
  if (!/vigil(\.js)? run /.test(cmd)) return null;
  return cmd.includes("--max-semi-space-size") ? "daemon" : "launcher";
}

function sample(w: Watched): void {
  const top = w.proc.pid!;
  const procs: [number, string][] = [
    [top, "npm exec"],
    ...descendants(top).flatMap(([pid, cmd]): [number, string][] => {
      const role = roleOf(cmd);
      return role ? [[pid, role]] : [];
    }),
  ];
  for (const [pid, role] of procs) {
    const s = status(pid);
    if (!s) continue;
    const r = w.roles.get(role);
    w.roles.set(role, { pid, rssMb: s.rssMb, maxRssMb: Math.max(r?.maxRssMb ?? 0, s.rssMb), peakMb: s.peakMb });
  }
}

function start(layout: Layout, file: string, repo: string): Watched {
  const proc = spawn("npx", ["vigil", "run", "-c", file], {
    cwd: repo,
    env: { ...process.env, LOG_LEVEL: "debug" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const w: Watched = { layout, proc, ticksDone: [], errors: [], roles: new Map() };
  // the daemon logs JSON lines on stderr
  let buf = "";
  proc.stderr!.on("data", (d: Buffer) => {
    buf += d.toString();
    let nl = buf.indexOf("\n");
    while (nl >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      nl = buf.indexOf("\n");
      let j: { msg?: string; level?: string } = {};
      try {
        j = JSON.parse(line) as typeof j;
      } catch {
        if (line.trim() !== "" && w.errors.length < 5) w.errors.push(line.slice(0, 300));
      }
      if (j.msg === "tick done") w.ticksDone.push(Date.now());
      if ((j.level === "error" || j.level === "fatal") && w.errors.length < 5) w.errors.push(line.slice(0, 300));
    }
  });
  proc.stdout!.resume();
  return w;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function benchInstalled(): Promise<void> {
  const days = Number(process.env.INSTALLED_DAYS ?? 2);
  const newBuckets = Number(process.env.INSTALLED_BUCKETS ?? 2);
  const repo = join(dirname(fileURLToPath(import.meta.url)), import.meta.url.endsWith(".ts") ? ".." : "../..");
  const server = await benchServer("installed-daemon memory bench");
  if (!server) return;
  const names = LAYOUTS.map((l) => `vigil_inst_${l}_${process.pid}`);
  const urls: string[] = [];
  const watched: Watched[] = [];
  try {
    const now = Math.floor(Date.now() / MIN5);
    for (const [i, layout] of LAYOUTS.entries()) {
      urls.push(await server.create(names[i]!));
      // history up to and including the bucket now filling
      await createData(urls[i]!, layout, now - (days * DAY) / MIN5, now + 1);
    }
    console.log(
      `installed-daemon memory bench — \`npx vigil run\` as a user starts it, one daemon per layout, 10,000 default-ensemble series each, ${days} days of 5-minute history, then ${newBuckets} new buckets on the wall clock`,
    );
    for (const [i, layout] of LAYOUTS.entries()) {
      const file = join(tmpdir(), `vigil-installed-${layout}-${process.pid}.yaml`);
      writeFileSync(file, configYaml(layout, urls[i]!, 19_400 + i, days));
      watched.push(start(layout, file, repo));
    }
    // each new bucket's rows go in as it starts; the daemons judge it at the next boundary
    let next = (Math.floor(Date.now() / MIN5) + 1) * MIN5;
    const loaded = new Map<Layout, number>();
    const judgedAfter = new Map<Layout, number>();
    const deadline = Date.now() + 30 * 60_000;
    while (watched.some((w) => (judgedAfter.get(w.layout) ?? 0) < newBuckets) && Date.now() < deadline) {
      await sleep(1000);
      for (const w of watched) {
        sample(w);
        if (w.proc.exitCode !== null) throw new Error(`${w.layout}: the daemon exited (${w.proc.exitCode}): ${w.errors.join(" | ")}`);
        if (!loaded.has(w.layout) && w.ticksDone.length > 0) loaded.set(w.layout, w.ticksDone[0]!);
      }
      if (Date.now() >= next) {
        for (const [i, layout] of LAYOUTS.entries()) {
          const c = new pg.Client({ connectionString: urls[i] });
          await c.connect();
          for (const q of insertSql(layout, next / MIN5, next / MIN5 + 1)) await c.query(q);
          await c.end();
        }
        // a tick done after this boundary (and after the load) judged the bucket that just closed
        const boundary = next;
        for (const w of watched) {
          const at = loaded.get(w.layout);
          if (at !== undefined && at < boundary)
            void waitTick(w, boundary).then(() => judgedAfter.set(w.layout, (judgedAfter.get(w.layout) ?? 0) + 1));
        }
        next += MIN5;
      }
    }
    for (const w of watched) sample(w);
    for (const w of watched) {
      const d = w.roles.get("daemon");
      const l = w.roles.get("launcher");
      const n = w.roles.get("npm exec");
      const what = {
        wide: "wide tables, 1,000 metrics",
        long: "long-format, 1,000 metrics, one per name",
        big: "long-format, 1 metric split by [metric, host]",
      }[w.layout];
      console.log(
        `  ${what.padEnd(46)} | daemon RSS after the ticks ${d?.rssMb.toFixed(0) ?? "?"} MB, peak ${d?.peakMb.toFixed(0) ?? "?"} MB | the launcher ${l?.maxRssMb.toFixed(0) ?? "?"} MB, npm exec ${n?.maxRssMb.toFixed(0) ?? "?"} MB${w.errors.length > 0 ? ` | errors: ${w.errors.slice(0, 2).join(" | ")}` : ""}`,
      );
    }
  } finally {
    for (const w of watched) {
      // npm exec may not pass the signal on: the launcher and the daemon get it themselves
      for (const [pid] of descendants(w.proc.pid!).reverse()) {
        try {
          process.kill(pid, "SIGTERM");
        } catch {}
      }
      w.proc.kill("SIGTERM");
    }
    await Promise.all(watched.map((w) => (w.proc.exitCode !== null ? null : new Promise((r) => w.proc.once("exit", r)))));
    for (const n of names) await server.drop(n);
    await server.end();
  }
}

/** Resolves at the first tick done after `boundary`. */
async function waitTick(w: Watched, boundary: number): Promise<void> {
  while (!w.ticksDone.some((t) => t > boundary)) await sleep(500);
}

if (import.meta.url === `file://${process.argv[1]}`) await benchInstalled();
