/**
 * Start a worker thread on a module next to the caller: the .js file when built, the .ts file run
 * from source (tsx, vitest), where a worker does not inherit tsx's loader and registers it first.
 */
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker, type WorkerOptions } from "node:worker_threads";

/** `base`: the caller's import.meta.url; `name`: the worker module's file name without extension. */
export function spawnWorker(base: string, name: string, options: Omit<WorkerOptions, "eval">): Worker {
  if (!base.endsWith(".ts")) return new Worker(new URL(`./${name}.js`, base), options);
  const tsx = pathToFileURL(createRequire(base).resolve("tsx/esm/api")).href.replace(/\.cjs$/, ".mjs");
  const worker = new URL(`./${name}.ts`, base).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(worker)}); });`;
  return new Worker(boot, { ...options, eval: true });
}
