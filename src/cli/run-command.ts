/** `vigil run [--once]`. */

import { ConfigInvalidError, loadDaemonConfig } from "../daemon/options.js";
import { Daemon } from "../daemon.js";
import { createLogger, errorText } from "../log.js";
import { untilReachable } from "../until-reachable.js";
import { detectorNames, JudgedCollector, judgedReport } from "./judged-series.js";

export async function runCommand(configPath: string, opts: { once: boolean }): Promise<number> {
  const log = createLogger();
  // The daemon waits for a database that is not reachable yet (until stopped); --once fails at once.
  // Its signal handlers stay from here to the exit: one removed while another signal is pending
  // would let the default action kill the process in between.
  const stop = new AbortController();
  let firstSignal: number | null = null;
  const onSignal = (sig: NodeJS.Signals) => {
    if (firstSignal === null) {
      firstSignal = Date.now();
      log.info({ signal: sig }, "shutting down");
      stop.abort();
    } else if (Date.now() - firstSignal > 2000) {
      // a second signal while stopping means "now"; one within 2 s is the same stop delivered twice
      // (to the launcher and to its child, as a terminal or systemd signals the whole group)
      process.exit(sig === "SIGINT" ? 130 : 143);
    }
  };
  if (!opts.once) {
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  }
  let daemon: Daemon | null;
  const judged = new JudgedCollector();
  try {
    // read once: every attempt to start, and the HTTP standby while the database is away, use this config
    const config = await loadDaemonConfig(configPath, process.env);
    const create = () =>
      Daemon.create({ configPath, config, watch: true, log, http: !opts.once, ...(opts.once ? { onJudged: judged.onJudged } : {}) });
    const standby = async () => ({ host: config.http.host, port: config.http.port });
    daemon = opts.once
      ? await create()
      : await untilReachable(create, { log, signal: stop.signal, standby, discard: (late) => late.stop() });
  } catch (err) {
    if (err instanceof ConfigInvalidError) {
      for (const p of err.problems) process.stderr.write(`${p}\n`);
      return 2;
    }
    const msg = errorText(err);
    log.fatal({ err: msg }, "cannot start");
    process.stderr.write(`vigil: cannot start: ${msg}\n`);
    return 1;
  }
  if (daemon === null) {
    log.info("stopped while waiting for the database");
    return 0;
  }
  if (stop.signal.aborted) {
    // told to stop while it was opening its databases
    await daemon.stop();
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
  const stopped = new Promise<void>((resolve) => stop.signal.addEventListener("abort", () => resolve(), { once: true }));
  await daemon.start();
  const onHup = () => void daemon.reloadConfig();
  process.on("SIGHUP", onHup);
  await stopped;
  process.off("SIGHUP", onHup);
  await daemon.stop();
  return 0;
}
