/** Runs the vigil CLI as a user would, in a subprocess (through tsx, so no build is needed). */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const ENTRY = join(ROOT, "src", "cli", "entry.ts");

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export type VigilProcess = ChildProcess & { out: { stdout: string; stderr: string } };

/** node with these arguments (a vigil entry and its arguments), its output collected. */
export function spawnNode(argv: string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT): VigilProcess {
  const child = spawn(process.execPath, argv, {
    cwd,
    env: { ...process.env, LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  }) as VigilProcess;
  child.out = { stdout: "", stderr: "" };
  child.stdout!.on("data", (c: Buffer) => {
    child.out.stdout += c.toString();
  });
  child.stderr!.on("data", (c: Buffer) => {
    child.out.stderr += c.toString();
  });
  return child;
}

export function startCli(args: string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT): VigilProcess {
  return spawnNode(["--import", "tsx", ENTRY, ...args], env, cwd);
}

/** A config for `vigil run` in a subprocess: its database from the environment, HTTP on `port`, alerts on the console. */
export async function daemonConfig(path: string, port: number, metrics: string, defaults = "{notify: [out]}"): Promise<string> {
  await writeFile(
    path,
    `database: {url: "\${DATABASE_URL:-}"}
http: {port: ${port}, host: 127.0.0.1}
channels:
  out: {type: console}
defaults: ${defaults}
metrics:
${metrics}`,
  );
  return path;
}

/** How long a subprocess or a condition may take before a test gives up: a user's CI is often a busy machine. */
export const PATIENCE_MS = 600_000;

export function waitExit(child: VigilProcess, timeoutMs = PATIENCE_MS): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode, stdout: child.out.stdout, stderr: child.out.stderr });
      return;
    }
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`vigil did not exit in ${timeoutMs}ms\nstdout:\n${child.out.stdout}\nstderr:\n${child.out.stderr}`));
    }, timeoutMs);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      // let the pipes drain
      setImmediate(() => resolve({ code, signal, stdout: child.out.stdout, stderr: child.out.stderr }));
    });
  });
}

export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = PATIENCE_MS): Promise<CliResult> {
  return waitExit(startCli(args, env), timeoutMs);
}

/** Poll until `check` returns a truthy value (waiting on a condition, not a fixed sleep). */
export async function until<T>(check: () => Promise<T> | T, what: string, timeoutMs = PATIENCE_MS, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
