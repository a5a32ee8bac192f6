/** `vigil demo [--duration SECONDS]`. */
import { runDemo } from "../demo/demo.js";

export async function demoCommand(opts: { durationS?: number }): Promise<number> {
  if (opts.durationS !== undefined && !(opts.durationS > 0)) {
    process.stderr.write("vigil demo: --duration takes a positive number of seconds\n");
    return 2;
  }
  return runDemo({ durationS: opts.durationS });
}
