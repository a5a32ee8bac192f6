/**
 * `vigil experiments [--json]`: every watched experiment with its SRM p-value and each guardrail's
 * status, estimate and interval, computed now from the metrics database. Read-only: it stores no
 * alert and sends nothing (the daemon does that on each experiment's schedule).
 */
import type { Command, Option } from "commander";
import { systemClock } from "../clock.js";
import { loadConfigFile } from "../config/load.js";
import { formatProblem } from "../config/problem.js";
import type { Database } from "../db/database.js";
import { openDatabase } from "../db/open.js";
import { evaluateExperiments } from "../experiments/evaluate.js";
import { experimentsJson, experimentsTable } from "../experiments/report-table.js";
import { createLogger, errorText } from "../log.js";
import { migrate } from "../store/migrations.js";
import { StateStore } from "../store/state-store.js";

export async function experimentsCommand(
  configPath: string,
  opts: { json: boolean; names?: string[] },
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const res = await loadConfigFile(configPath, env, { chatSecrets: "optional" });
  if (!res.ok) {
    for (const p of res.problems) process.stderr.write(`${formatProblem(p)}\n`);
    return 2;
  }
  const config = res.config;
  const unknown = (opts.names ?? []).filter((n) => !config.experiments.some((e) => e.name === n));
  if (unknown.length > 0) {
    process.stderr.write(`vigil experiments: no experiment named ${unknown.map((n) => `'${n}'`).join(", ")} in ${configPath}\n`);
    return 2;
  }
  const url = config.database.url || env.DATABASE_URL || undefined;
  const stateUrl = config.database.state_url || env.VIGIL_STATE_URL || undefined;
  let metricsDb: Database | null = null;
  let stateDb: Database | null = null;
  try {
    metricsDb = await openDatabase({ url, dataDir: env.VIGIL_DATA_DIR || undefined });
    // One embedded database cannot be opened twice: share it unless the state lives elsewhere.
    stateDb = stateUrl && stateUrl !== url ? await openDatabase({ url: stateUrl }) : metricsDb;
    await migrate(stateDb);
    const reports = await evaluateExperiments({
      db: metricsDb,
      store: new StateStore(stateDb),
      clock: systemClock,
      log: createLogger({ level: env.LOG_LEVEL ?? "warn", destination: process.stderr }),
      config,
      ...(opts.names && opts.names.length > 0 ? { names: opts.names } : {}),
      dryRun: true,
    });
    process.stdout.write(opts.json ? `${JSON.stringify(experimentsJson(reports), null, 2)}\n` : `${experimentsTable(reports)}\n`);
    return reports.some((r) => r.state === "error") ? 1 : 0;
  } catch (err) {
    process.stderr.write(`vigil experiments: ${errorText(err)}\n`);
    return 1;
  } finally {
    if (stateDb && stateDb !== metricsDb) await stateDb.close().catch(() => {});
    await metricsDb?.close().catch(() => {});
  }
}

export function registerExperimentCommands(program: Command, configOpt: () => Option, setExit: (code: number) => void): void {
  program
    .command("experiments")
    .description("every watched experiment: sample ratio p-value, and each guardrail's status, change and always-valid interval")
    .addOption(configOpt())
    .option("--json", "print JSON")
    .argument("[names...]", "only these experiments")
    .action(async (names: string[], o: { config: string; json?: boolean }) =>
      setExit(await experimentsCommand(o.config, { json: !!o.json, names })),
    );
}
