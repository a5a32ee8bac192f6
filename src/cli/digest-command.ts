/** `vigil digest --now [--channel NAME]`: build the daily digest and send it now. */

import { ConfigInvalidError } from "../daemon/options.js";
import { Daemon } from "../daemon.js";
import { createLogger, errorText } from "../log.js";

export async function digestCommand(configPath: string, opts: { now: boolean; channel?: string }): Promise<number> {
  if (!opts.now) {
    process.stderr.write("vigil digest: say --now to send the digest now (scheduled digests run inside `vigil run`)\n");
    return 2;
  }
  let daemon: Daemon;
  try {
    daemon = await Daemon.create({ configPath, log: createLogger(), http: false, watch: false });
  } catch (err) {
    if (err instanceof ConfigInvalidError) {
      for (const p of err.problems) process.stderr.write(`${p}\n`);
      return 2;
    }
    process.stderr.write(`vigil digest: ${errorText(err)}\n`);
    return 1;
  }
  try {
    if (opts.channel && !(opts.channel in daemon.getConfig().channels)) {
      process.stderr.write(
        `vigil digest: no channel '${opts.channel}' (channels: ${Object.keys(daemon.getConfig().channels).join(", ")})\n`,
      );
      return 2;
    }
    const n = await daemon.digestNow(opts.channel);
    const res = await daemon.dispatcher.drain(Date.now() + 30_000);
    process.stderr.write(
      `vigil digest: ${n} digest message${n === 1 ? "" : "s"} queued, ${res.sent} sent${res.retried ? `, ${res.retried} to retry` : ""}\n`,
    );
    return res.dead > 0 ? 1 : 0;
  } catch (err) {
    process.stderr.write(`vigil digest: ${errorText(err)}\n`);
    return 1;
  } finally {
    await daemon.stop(5000);
  }
}
