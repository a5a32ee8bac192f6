/**
 * The pandas peer (bench/peer.py) run on the bench's own tables: what a team's Airflow-style job
 * costs per run against vigil's steady tick on the same database and series.
 */
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface PeerResult {
  sqlS: number;
  pandasS: number;
  series: number;
  flagged: number;
}

const script = join(dirname(fileURLToPath(import.meta.url)), import.meta.url.endsWith(".ts") ? "" : "../../bench", "peer.py");

/** The first Python that has pandas and psycopg2 (Debian's python3-pandas, python3-psycopg2), or null. */
export function peerPython(): string | null {
  for (const python of ["python3", "/usr/bin/python3"]) {
    try {
      execFileSync(python, ["-c", "import pandas, psycopg2"], { stdio: "ignore" });
      return python;
    } catch {
      // not this one
    }
  }
  return null;
}

export function runPeer(python: string, url: string, layout: "wide" | "long", tables: string[], endMs: number): PeerResult {
  const out = execFileSync(python, [script, "--url", url, "--layout", layout, "--tables", tables.join(","), "--end-ms", String(endMs)], {
    encoding: "utf8",
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out.trim().split("\n").at(-1)!) as PeerResult;
}
