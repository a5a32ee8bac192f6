/**
 * `vigil demo`: PGlite in memory, 30 days of synthetic product events, and the daemon on simulated
 * time running fast so that hourly metrics close a bucket every tick and an injected anomaly shows up within seconds.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Clock } from "../clock.js";
import { loadConfigFile } from "../config/load.js";
import { formatProblem } from "../config/problem.js";
import type { VigilConfig } from "../config/types.js";
import type { DaemonOptions } from "../daemon/options.js";
import { Daemon } from "../daemon.js";
import { PgliteDatabase } from "../db/pglite.js";
import { createLogger, type Logger } from "../log.js";
import { createDemoExperiment, createDemoTables, insertEvents } from "./seed.js";
import { type GenerateOptions, generateEvents, type Injection, rng } from "./synthetic.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * Simulated time running `speed` times faster than the wall clock from `simStart` once started; it stands
 * still while the demo seeds its database so that the first live anomaly still falls after the daemon's history load.
 */
export class SimClock implements Clock {
  private realStart: number | null = null;
  constructor(
    private readonly simStart: number,
    readonly speed: number,
  ) {}
  start(): void {
    this.realStart ??= Date.now();
  }
  now(): number {
    return this.realStart === null ? this.simStart : this.simStart + (Date.now() - this.realStart) * this.speed;
  }
}

export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("cannot find the vigil package root");
    dir = up;
  }
  return dir;
}

/** Past anomalies (part of the baseline history) and a repeating cycle of live ones. */
export function demoInjections(simStart: number): Injection[] {
  const out: Injection[] = [
    { from: simStart - 10 * DAY, to: simStart - 10 * DAY + HOUR, factor: 4, event: "signup", label: "signup spike" },
    { from: simStart - 6 * DAY, to: simStart - 6 * DAY + 3 * HOUR, factor: 0.3, platform: "android", label: "android drop" },
    {
      from: simStart - 3 * DAY,
      to: simStart + 365 * DAY,
      factor: 1.3,
      platform: "web",
      event: "purchase",
      label: "web revenue level shift",
    },
  ];
  // The first live anomaly lands in the first simulated hour, so it is judged soon after the start.
  const live: Array<Omit<Injection, "from" | "to"> & { hours: number }> = [
    { factor: 6, event: "signup", hours: 1, label: "signups spike ×6" },
    { factor: 0.25, platform: "android", hours: 3, label: "android users drop 75%" },
    { factor: 0.1, country: "BR", event: "purchase", hours: 2, label: "revenue from BR collapses" },
  ];
  for (let k = 0; k < 300; k++) {
    const kind = live[k % live.length]!;
    const from = simStart + (1 + 6 * k) * HOUR;
    out.push({ ...kind, from, to: from + kind.hours * HOUR });
  }
  return out;
}

export interface DemoOptions {
  durationS?: number;
  /** Real seconds per simulated hour. */
  secondsPerHour?: number;
  stdout?: NodeJS.WritableStream;
  /** Serve HTTP on the config's port (default true; a busy port only disables it). */
  http?: boolean;
}

export async function runDemo(opts: DemoOptions = {}): Promise<number> {
  const out = opts.stdout ?? process.stdout;
  const say = (s: string) => out.write(`${s}\n`);
  const log = createLogger({ level: process.env.LOG_LEVEL ?? "warn" });
  const secondsPerHour = opts.secondsPerHour ?? 3;
  const simStart = Math.floor(Date.now() / HOUR) * HOUR;
  const clock = new SimClock(simStart, 3600 / secondsPerHour);
  const configPath = join(packageRoot(), "config", "demo.yaml");
  const loaded = await loadConfigFile(configPath, process.env);
  if (!loaded.ok) {
    for (const p of loaded.problems) process.stderr.write(`${formatProblem(p)}\n`);
    return 2;
  }
  const chats = addChatChannels(loaded.config, process.env);

  say("vigil demo — embedded PostgreSQL (PGlite), synthetic product events, alerts below.");
  say(`Simulated time: one hour every ${secondsPerHour}s, starting ${new Date(simStart).toISOString()}. Ctrl-C to stop.`);
  const db = await PgliteDatabase.open({ memory: true });
  const injections = demoInjections(simStart);
  const rand = rng(42);
  const gen = { perHour: 300, users: 4000, injections, rand };
  await createDemoTables(db);
  await createDemoExperiment(db, simStart);
  const t0 = Date.now();
  const history = generateEvents(simStart - 30 * DAY, simStart, gen);
  await insertEvents(db, history);
  say(`Seeded ${history.length.toLocaleString("en-US")} events over 30 days in ${((Date.now() - t0) / 1000).toFixed(1)}s.`);
  say(`Metrics: ${loaded.config.metrics.map((m) => m.name).join(", ")}; anomalies are injected every 6 simulated hours.`);
  say(`Experiment: new_checkout (its treatment fails checkouts more often: a harmed guardrail).`);
  if (chats.length) say(`Also sending to: ${chats.join(", ")}.`);
  say("");

  const { daemon, http } = await startDaemon(
    { configPath, config: loaded.config, metricsDb: db, stateDb: db, clock, log, stdout: out, http: opts.http !== false, watch: false },
    clock,
    say,
  );
  if (http) say(`Prometheus metrics on http://localhost:${daemon.httpPort}/metrics`);
  const feeder = startFeeder(db, clock, gen, simStart, log);
  await untilStopped(opts.durationS);
  clearInterval(feeder);
  await daemon.stop(3000);
  await db.close();
  say("demo stopped.");
  return 0;
}

/** Starts the daemon; a busy HTTP port only costs the HTTP endpoints. */
async function startDaemon(
  options: DaemonOptions & { config: VigilConfig; http: boolean },
  clock: SimClock,
  say: (line: string) => void,
): Promise<{ daemon: Daemon; http: boolean }> {
  try {
    const daemon = await Daemon.create(options);
    clock.start();
    await daemon.start();
    return { daemon, http: options.http };
  } catch (err) {
    if (!(err instanceof Error && /EADDRINUSE/.test(err.message))) throw err;
    say(`(port ${options.config.http.port} is busy: running without the HTTP endpoints)`);
    const daemon = await Daemon.create({ ...options, http: false });
    await daemon.start();
    return { daemon, http: false };
  }
}

/** Keeps the table filling up to simulated now; the metrics' `delay` covers the generator's lag. */
function startFeeder(db: PgliteDatabase, clock: SimClock, gen: GenerateOptions, from: number, log: Logger): NodeJS.Timeout {
  let generatedTo = from;
  let busy = false;
  return setInterval(() => {
    if (busy) return;
    busy = true;
    const to = clock.now();
    const rows = generateEvents(generatedTo, to, gen);
    generatedTo = to;
    insertEvents(db, rows)
      .catch((err: unknown) => log.error({ err: String(err) }, "demo generator failed"))
      .finally(() => {
        busy = false;
      });
  }, 250);
}

/** Resolves after `durationS` seconds, or on SIGINT/SIGTERM. */
function untilStopped(durationS: number | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = durationS !== undefined ? setTimeout(resolve, durationS * 1000) : null;
    const onSignal = () => {
      if (timer) clearTimeout(timer);
      resolve();
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
  });
}

/**
 * The demo also posts to Telegram and/or Slack when their tokens and a destination are in the
 * environment: TELEGRAM_BOT_TOKEN + TELEGRAM_CHAT_ID (TELEGRAM_ALLOWED_USERS: ids that may press
 * buttons), SLACK_BOT_TOKEN + SLACK_CHANNEL (SLACK_APP_TOKEN for buttons, SLACK_ALLOWED_USERS).
 */
export function addChatChannels(config: VigilConfig, env: NodeJS.ProcessEnv): string[] {
  const added: string[] = [];
  const list = (v: string | undefined) =>
    (v ?? "")
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean);
  if (env.TELEGRAM_BOT_TOKEN && env.TELEGRAM_CHAT_ID) {
    config.telegram = {
      token: env.TELEGRAM_BOT_TOKEN,
      ...(env.TELEGRAM_API_URL ? { api_url: env.TELEGRAM_API_URL } : {}),
      allowed_users: list(env.TELEGRAM_ALLOWED_USERS).map(Number).filter(Number.isFinite),
    };
    config.channels.telegram = { type: "telegram", chat_id: env.TELEGRAM_CHAT_ID, send_resolved: true };
    added.push("telegram");
  }
  if (env.SLACK_BOT_TOKEN && env.SLACK_CHANNEL) {
    config.slack = {
      token: env.SLACK_BOT_TOKEN,
      ...(env.SLACK_APP_TOKEN ? { app_token: env.SLACK_APP_TOKEN } : {}),
      ...(env.SLACK_API_URL ? { api_url: env.SLACK_API_URL } : {}),
      allowed_users: list(env.SLACK_ALLOWED_USERS),
    };
    config.channels.slack = { type: "slack", channel: env.SLACK_CHANNEL, send_resolved: true };
    added.push("slack");
  }
  if (added.length) {
    config.defaults.notify = [...config.defaults.notify, ...added];
    for (const m of config.metrics) m.notify = [...m.notify, ...added];
    for (const e of config.experiments) e.notify = [...e.notify, ...added];
    for (const d of config.digest) d.notify = [...d.notify, ...added];
  }
  return added;
}
