/** `vigil run [--once]`. */
import { ConfigInvalidError, Daemon } from "../daemon.js";
import { loadConfigFile } from "../config/load.js";
import { createLogger, errorText } from "../log.js";
import { untilReachable } from "../until-reachable.js";
import { detectorNames, JudgedCollector, judgedReport } from "./judged-series.js";

/** Where the config says to serve HTTP (for the wait for the database), or null. */
async function httpOf(configPath: string): Promise<{ host: string; port: number } | null> {
  const res = await loadConfigFile(configPath, process.env);
  return res.ok ? { host: res.config.http.host, port: res.config.http.port } : null;
}

export async function runCommand(configPath: string, opts: { once: boolean }): Promise<number> {
  const log = createLogger();
  // the daemon waits for a database that is not reachable yet (until stopped); --once fails at once
  const stop = new AbortController();
  const onStop = () => stop.abort();
  if (!opts.once) {
    process.once("SIGTERM", onStop);
    process.once("SIGINT", onStop);
  }
  let daemon: Daemon | null;
  const judged = new JudgedCollector();
  try {
    const create = () => Daemon.create({ configPath, log, http: !opts.once, ...(opts.once ? { onJudged: judged.onJudged } : {}) });
    daemon = opts.once ? await create() : await untilReachable(create, { log, signal: stop.signal, standby: () => httpOf(configPath), discard: (late) => late.stop() });
  } catch (err) {
    if (err instanceof ConfigInvalidError) {
      for (const p of err.problems) process.stderr.write(`${p}\n`);
      return 2;
    }
    const msg = errorText(err);
    log.fatal({ err: msg }, "cannot start");
    process.stderr.write(`vigil: cannot start: ${msg}\n`);
    return 1;
  } finally {
    process.off("SIGTERM", onStop);
    process.off("SIGINT", onStop);
  }
  if (daemon === null) {
    log.info("stopped while waiting for the database");
    return 0;
  }
  if (opts.once) {
    const report = await daemon.runOnce();
    const metrics = daemon.getConfig().metrics;
    await daemon.stop();
    process.stdout.write(`${judgedReport(judged.list(), report.metrics, { detectorsOf: detectorNames(metrics) })}\n`);
    for (const m of report.metrics) if (!m.ok) process.stderr.write(`vigil: metric ${m.metric} failed: ${m.error}\n`);
    return report.failed.length > 0 ? 1 : 0;
  }
  await daemon.start();
  const onHup = () => void daemon.reloadConfig();
  process.on("SIGHUP", onHup);
  await new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      log.info({ signal: sig }, "shutting down");
      // A second signal while stopping means "now".
      process.once("SIGINT", () => process.exit(130));
      process.once("SIGTERM", () => process.exit(143));
      resolve();
    };
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
  });
  process.off("SIGHUP", onHup);
  await daemon.stop();
  return 0;
}
