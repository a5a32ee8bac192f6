/**
 * Hot reload. Watches the config file's directory rather than the file: editors and config
 * management replace files by rename (and Kubernetes swaps a symlinked directory), which a watch on
 * the old inode would never see. Every event is debounced, then the file is re-read; unchanged text
 * is ignored, so editor swap files and repeated events cost one read.
 */
import { EventEmitter } from "node:events";
import { type FSWatcher, watch } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { type ConfigDiff, diffConfigs } from "./diff-configs.js";
import type { Env } from "./interpolate.js";
import { loadConfigText } from "./load.js";
import type { ConfigProblem } from "./problem.js";
import type { VigilConfig } from "./types.js";

export interface ConfigReloadEvent {
  config: VigilConfig;
  diff: ConfigDiff;
}

export interface ConfigInvalidEvent {
  problems: ConfigProblem[];
}

export interface ConfigWatcherEvents {
  /** A valid config that differs from the last one (or the first valid one after an invalid state). */
  reload: [ConfigReloadEvent];
  /** The file changed and is not valid; keep running on the last good config. */
  invalid: [ConfigInvalidEvent];
  /** The watch itself failed (only emitted when someone listens). */
  error: [Error];
}

export interface ConfigWatcherOptions {
  env?: Env;
  /** Quiet time after the last file event before re-reading. Default 200 ms. */
  debounceMs?: number;
  /** The config already in use; when absent the watcher loads the file once as its baseline (see `ready`). */
  initial?: VigilConfig;
}

export class ConfigWatcher extends EventEmitter<ConfigWatcherEvents> {
  /** Resolves once the baseline is known, so a change after this is compared with it. */
  readonly ready: Promise<void>;
  private readonly file: string;
  private readonly env: Env;
  private readonly debounceMs: number;
  private readonly fsWatcher: FSWatcher;
  private timer: NodeJS.Timeout | undefined;
  private current: VigilConfig | undefined;
  private lastText: string | undefined;
  private valid = true;
  private running = false;
  private rerun = false;
  private closed = false;

  constructor(file: string, opts: ConfigWatcherOptions = {}) {
    super();
    this.file = file;
    this.env = opts.env ?? process.env;
    this.debounceMs = opts.debounceMs ?? 200;
    this.current = opts.initial;
    // persistent: false — the watcher alone must not keep the process alive.
    this.fsWatcher = watch(dirname(resolve(file)), { persistent: false }, () => this.schedule());
    this.fsWatcher.on("error", (err) => this.fail(err));
    this.ready = opts.initial ? Promise.resolve() : this.check(true);
  }

  /** The config the watcher last accepted. */
  get config(): VigilConfig | undefined {
    return this.current;
  }

  /** Re-read now (e.g. on SIGHUP), bypassing the debounce; emits like a file change would. */
  reload(): Promise<void> {
    this.lastText = undefined;
    return this.check(false);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.fsWatcher.close();
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.check(false);
    }, this.debounceMs);
    this.timer.unref();
  }

  private fail(err: unknown): void {
    if (this.listenerCount("error") > 0) this.emit("error", err instanceof Error ? err : new Error(String(err)));
  }

  private async check(baseline: boolean): Promise<void> {
    if (this.closed) return;
    if (this.running) {
      // A change landed while we were reading: look again afterwards so the last write wins.
      this.rerun = true;
      return;
    }
    this.running = true;
    try {
      await this.evaluate(baseline);
    } catch (err) {
      this.fail(err);
    } finally {
      this.running = false;
      if (this.rerun && !this.closed) {
        this.rerun = false;
        this.schedule();
      }
    }
  }

  private async evaluate(baseline: boolean): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.file, "utf8");
    } catch (err) {
      if (this.closed) return;
      this.lastText = undefined;
      const reason = err instanceof Error && "code" in err && err.code === "ENOENT" ? "no such file" : String(err);
      this.markInvalid([{ file: this.file, line: 0, col: 0, path: "", message: `cannot read config file: ${reason}` }]);
      return;
    }
    if (this.closed || text === this.lastText) return;
    this.lastText = text;
    const res = loadConfigText(text, this.file, this.env);
    if (!res.ok) {
      this.markInvalid(res.problems);
      return;
    }
    const previous = this.current;
    const wasValid = this.valid;
    this.current = res.config;
    this.valid = true;
    if (baseline) return;
    if (wasValid && previous && isDeepStrictEqual(previous, res.config)) return;
    this.emit("reload", { config: res.config, diff: diffConfigs(previous, res.config) });
  }

  private markInvalid(problems: ConfigProblem[]): void {
    this.valid = false;
    this.emit("invalid", { problems });
  }
}
