/**
 * Detector choice and `--set key=value` overrides for `vigil detect`. Values are coerced through
 * the detector's own zod schema, so `--set k=3.5`, `--set cusum=true`, `--set period=1d` and
 * `--set rules=nelson` all land as the types the schema expects.
 */
import type { z } from "zod";
import { type AnyDetector, DEFAULT_DETECTORS, detectorTypes, getDetector, withTimeDefaults } from "../../../detectors/registry.js";

/** A bad `--detector` or `--set`; `vigil detect` prints it and exits 2. */
export class DetectParamError extends Error {
  override name = "DetectParamError";
}

function candidates(raw: string): unknown[] {
  const out: unknown[] = [];
  const t = raw.trim();
  if (t !== "") {
    try {
      out.push(JSON.parse(t));
    } catch {
      // not JSON: the raw text below is the only candidate
    }
    if (t.includes(",") && !t.startsWith("[")) out.push(t.split(",").map((x) => (x.trim() === "" ? x : tryNumber(x.trim()))));
  }
  out.push(raw);
  return out;
}

function tryNumber(x: string): unknown {
  const n = Number(x);
  return Number.isFinite(n) ? n : x;
}

function issueText(err: z.ZodError): string {
  return err.issues.map((i) => (i.path.length ? `${i.path.join(".")}: ${i.message}` : i.message)).join("; ");
}

/** Resolve the detector (default: the default ensemble) and its parsed parameters. */
export function resolveDetector(name: string | undefined, sets: readonly string[]): { detector: AnyDetector; params: unknown } {
  const type = name ?? DEFAULT_DETECTORS[0]!.type;
  const detector = getDetector(type);
  if (!detector) throw new DetectParamError(`unknown detector "${type}" (known: ${detectorTypes().join(", ")})`);
  const shape = detector.params.shape as Record<string, z.ZodType>;
  const given: Record<string, unknown> = {};
  for (const s of sets) {
    const eq = s.indexOf("=");
    if (eq <= 0) throw new DetectParamError(`--set expects key=value, got "${s}"`);
    const key = s.slice(0, eq).trim();
    const raw = s.slice(eq + 1);
    const field = shape[key];
    if (!field) {
      throw new DetectParamError(`${type}: unknown parameter "${key}" (known: ${Object.keys(shape).join(", ")})`);
    }
    let ok = false;
    let lastErr: z.ZodError | null = null;
    for (const c of candidates(raw)) {
      const r = field.safeParse(c);
      if (r.success) {
        given[key] = c;
        ok = true;
        break;
      }
      lastErr = r.error;
    }
    if (!ok) throw new DetectParamError(`${type}: --set ${key}=${raw}: ${lastErr ? issueText(lastErr) : "invalid value"}`);
  }
  // with --set granularity_ms the bucket size is known, as in the daemon: the same defaults follow from it
  const parsed = detector.params.strict().safeParse(withTimeDefaults(detector, given));
  if (!parsed.success) throw new DetectParamError(`${type}: ${issueText(parsed.error)}`);
  return { detector, params: parsed.data };
}
