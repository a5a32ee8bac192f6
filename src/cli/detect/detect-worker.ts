/**
 * The detector thread of `vigil detect`: holds the detector state and judges the batches the main
 * thread parses, in order, while the main thread reads and writes. Messages: in `{ t, v, n }`
 * (transferred), out `{ score, flag }` (transferred) or `{ error }`.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { AnyDetector } from "../../../detectors/registry.js";
import { detachOnce } from "./detach.js";
import { judgeColumns } from "./judge-columns.js";
import { warmUp } from "./warm-up.js";

export interface DetectJob {
  t: Float64Array;
  v: Float64Array;
  n: number;
}
export interface DetectResult {
  score: Float64Array;
  flag: Uint8Array;
}
export interface DetectWorkerData {
  type: string;
  params: unknown;
}

const port = parentPort;
if (port !== null) {
  detachOnce();
  const { type, params } = workerData as DetectWorkerData;
  // the default ensemble loads its step code alone: its parameters were parsed on the main thread, and the registry would load every schema first
  const detector: Pick<AnyDetector, "init" | "step" | "columns"> | undefined =
    type === "ensemble"
      ? ((await import("../../../detectors/ensemble-core.js")).ensembleCore as Pick<AnyDetector, "init" | "step" | "columns">)
      : (await import("../../../detectors/registry.js")).getDetector(type);
  if (detector === undefined) throw new Error(`unknown detector ${type}`);
  if (type === "ensemble") {
    try {
      warmUp(detector, params);
    } catch {
      // a warm-up only saves compile time: parameters it cannot run with are the real data's to report
    }
  }
  const state = detector.init(params);
  port.on("message", (job: DetectJob) => {
    try {
      const score = new Float64Array(job.n);
      const flag = new Uint8Array(job.n);
      judgeColumns(detector, state, params, job.t, job.v, job.n, score, flag);
      const out: DetectResult = { score, flag };
      port.postMessage(out, [score.buffer, flag.buffer]);
    } catch (e) {
      port.postMessage({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    }
  });
}
