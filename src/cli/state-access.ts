/**
 * The config and the state database for commands that only read or change state (alerts, migrate,
 * silence, ack...). They never talk to a chat, so the config loads without its bot tokens.
 */
import { AlertActions } from "../actions.js";
import { systemClock } from "../clock.js";
import { loadConfigFile } from "../config/load.js";
import { formatProblem } from "../config/problem.js";
import type { VigilConfig } from "../config/types.js";
import type { Database } from "../db/database.js";
import { openDatabase } from "../db/open.js";
import { migrate } from "../store/migrations.js";
import { StateStore } from "../store/state-store.js";

export async function loadConfigWithoutChat(configPath: string, env: NodeJS.ProcessEnv = process.env): Promise<VigilConfig> {
  const res = await loadConfigFile(configPath, env, { chatSecrets: "optional" });
  if (!res.ok) throw new Error(`invalid config:\n${res.problems.map(formatProblem).join("\n")}`);
  return res.config;
}

function openStateOf(config: VigilConfig, env: NodeJS.ProcessEnv): Promise<Database> {
  const url = config.database.state_url || env.VIGIL_STATE_URL || config.database.url || env.DATABASE_URL;
  return openDatabase({ url: url || undefined, dataDir: env.VIGIL_DATA_DIR || undefined });
}

export async function openStateDatabase(configPath: string, env: NodeJS.ProcessEnv = process.env): Promise<Database> {
  return openStateOf(await loadConfigWithoutChat(configPath, env), env);
}

export interface StateSession {
  config: VigilConfig;
  store: StateStore;
  /** What the chat buttons do, with the config's channels (so changes queue the same chat updates). */
  actions: AlertActions;
}

/** Run `fn` against the migrated state schema, then close the database. */
export async function withState<T>(
  configPath: string,
  fn: (s: StateSession) => Promise<T>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<T> {
  const config = await loadConfigWithoutChat(configPath, env);
  const db = await openStateOf(config, env);
  try {
    await migrate(db);
    const store = new StateStore(db);
    return await fn({ config, store, actions: new AlertActions(store, systemClock, () => config) });
  } finally {
    await db.close();
  }
}
