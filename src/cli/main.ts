/** The `vigil` command line (commander). Every command returns its exit code instead of exiting. */
import { Command, CommanderError, Option } from "commander";
import { ALERT_STATES, type AlertState } from "../model/alert.js";
import { alertsCommand } from "./alerts-command.js";
import { backtestCommand, tuneCommand } from "./backtest-command.js";
import { demoCommand } from "./demo-command.js";
import { registerDetectCommands } from "./detect-commands.js";
import { digestCommand } from "./digest-command.js";
import { registerExperimentCommands } from "./experiments-command.js";
import { migrateCommand } from "./migrate-command.js";
import { registerOncallCommands } from "./oncall-commands.js";
import { runCommand } from "./run-command.js";
import { registerSilenceCommands } from "./silence-command.js";
import { validateCommand } from "./validate-command.js";

export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.VIGIL_CONFIG || "config/vigil.yaml";
}

export function buildProgram(setExit: SetExit): Command {
  const program = new Command("vigil")
    .description("Anomaly detection and alerting for product metrics and A/B experiments in PostgreSQL")
    .version("0.1.0")
    .showHelpAfterError()
    .exitOverride();
  const configOpt = () => new Option("-c, --config <file>", "config file").default(defaultConfigPath());
  // Registration order is the order `vigil --help` lists the commands in.
  registerDaemonCommands(program, configOpt, setExit);
  registerAlertsCommand(program, configOpt, setExit);
  registerOncallCommands(program, configOpt, setExit);
  registerDigestAndDemoCommands(program, configOpt, setExit);
  registerReplayCommands(program, configOpt, setExit);
  registerSilenceCommands(program, configOpt, setExit);
  registerExperimentCommands(program, configOpt, setExit);
  registerDetectCommands(program);
  return program;
}

type ConfigOption = () => Option;
type SetExit = (code: number) => void;

/** run, validate and migrate. */
function registerDaemonCommands(program: Command, configOpt: ConfigOption, setExit: SetExit): void {
  program
    .command("run")
    .description("run the daemon until SIGTERM/SIGINT (or evaluate once with --once)")
    .addOption(configOpt())
    .option("--once", "evaluate every metric once, deliver, exit (1 if a source failed)")
    .action(async (o: { config: string; once?: boolean }) => setExit(await runCommand(o.config, { once: !!o.once })));

  program
    .command("validate")
    .description("check a config file; print every problem as FILE:LINE:COL: message")
    .addOption(configOpt())
    .option("--db", "also run each metric's and experiment's query once against the database")
    .action(async (o: { config: string; db?: boolean }) =>
      setExit(await validateCommand(o.config, undefined, process.env, { db: !!o.db })),
    );

  program
    .command("migrate")
    .description("create or upgrade the vigil state schema")
    .addOption(configOpt())
    .action(async (o: { config: string }) => setExit(await migrateCommand(o.config)));
}

/** alerts: the list, or one alert with its history. */
function registerAlertsCommand(program: Command, configOpt: ConfigOption, setExit: SetExit): void {
  program
    .command("alerts")
    .description(
      "list alerts: id, metric, series, detector, state, severity, started_at, last value; or, given an id, one alert with its history and latest message",
    )
    .argument("[id]", "show this alert: its fields, who or what changed it and when, and the notifications about it")
    .addOption(configOpt())
    .option("--json", "print JSON")
    .addOption(new Option("--state <state>", "only alerts in this state").choices(ALERT_STATES as string[]))
    .option("--limit <n>", "at most this many", "100")
    .action(async (id: string | undefined, o: { config: string; json?: boolean; state?: AlertState; limit: string }) =>
      setExit(
        await alertsCommand(o.config, { json: !!o.json, state: o.state, limit: Number(o.limit), ...(id !== undefined ? { id } : {}) }),
      ),
    );
}

/** digest and demo. */
function registerDigestAndDemoCommands(program: Command, configOpt: ConfigOption, setExit: SetExit): void {
  program
    .command("digest")
    .description("build the daily digest and send it now")
    .addOption(configOpt())
    .option("--now", "send now")
    .option("--channel <name>", "only to this channel")
    .action(async (o: { config: string; now?: boolean; channel?: string }) =>
      setExit(await digestCommand(o.config, { now: !!o.now, channel: o.channel })),
    );

  program
    .command("demo")
    .description("zero set-up demo: embedded PostgreSQL, synthetic product data, alerts on the console")
    .option("--duration <seconds>", "stop after this many seconds")
    .option("--fresh", "reseed the demo database even if it exists", true)
    .action(async (o: { duration?: string }) =>
      setExit(await demoCommand({ durationS: o.duration === undefined ? undefined : Number(o.duration) })),
    );
}

/** backtest and tune: replays over stored history. */
function registerReplayCommands(program: Command, configOpt: ConfigOption, setExit: SetExit): void {
  program
    .command("backtest")
    .description("replay a metric's detectors and alert policy over stored history; print the alerts that would have fired")
    .addOption(configOpt())
    .requiredOption("--metric <name>", "the metric to replay")
    .option("--from <iso>", "start of the judged window (default: now - lookback); the lookback before it warms the detectors up")
    .option("--to <iso>", "end (default: the last closed bucket)")
    .option("--chart <out.png>", "also draw the first series with its band")
    .option("--json", "print one JSON object per alert")
    .action(async (o: { config: string; metric: string; from?: string; to?: string; chart?: string; json?: boolean }) =>
      setExit(await backtestCommand(o)),
    );

  program
    .command("tune")
    .description(
      "read a metric's alerts (missing data vs value) and propose the config that keeps it under an alert budget: calendar, holidays, fill, missing_after, min_rows, sensitivity",
    )
    .addOption(configOpt())
    .requiredOption("--metric <name>", "the metric to tune")
    .requiredOption("--max-alerts-per-week <n>", "alert budget")
    .option("--from <iso>", "start (default: now - lookback)")
    .option("--to <iso>", "end (default: the last closed bucket)")
    .option("--json", "print one JSON object: the alerts before, each fix tried, the sensitivity levels and the proposal")
    .action(async (o: { config: string; metric: string; from?: string; to?: string; maxAlertsPerWeek: string; json?: boolean }) =>
      setExit(await tuneCommand({ ...o, maxAlertsPerWeek: Number(o.maxAlertsPerWeek) })),
    );
}

export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const program = buildProgram((c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    process.stderr.write(`vigil: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  // Subcommands registered by other modules may report through process.exitCode.
  return code || (typeof process.exitCode === "number" ? process.exitCode : 0);
}
