/** `vigil run [--once]`. */
import { ConfigInvalidError, Daemon } from "../daemon.js";
import { createLogger, errorText, } from "../log.js";

export async function runCommand(configPath: string, opts: { once: boolean }): Promise<number> {
  const log = createLogger();
  let daemon: Daemon;
  try {
    daemon = await Daemon.create({ configPath, log, http: !opts.once });
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
  if (opts.once) {
    const report = await daemon.runOnce();
    await daemon.stop();
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
