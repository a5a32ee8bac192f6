/** Opening the state database for commands that only read or change state (alerts, migrate, silence). */
import { loadConfigFile } from "../config/load.js";
import { formatProblem } from "../config/problem.js";
import type { Database } from "../db/database.js";
import { openDatabase } from "../db/open.js";

export async function openStateDatabase(configPath: string, env: NodeJS.ProcessEnv = process.env): Promise<Database> {
  const res = await loadConfigFile(configPath, env);
  if (!res.ok) throw new Error(`invalid config:\n${res.problems.map(formatProblem).join("\n")}`);
  const url = res.config.database.state_url || env.VIGIL_STATE_URL || res.config.database.url || env.DATABASE_URL;
  return openDatabase({ url: url || undefined, dataDir: env.VIGIL_DATA_DIR || undefined });
}
