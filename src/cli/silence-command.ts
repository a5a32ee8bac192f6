/** `vigil silence add|list|rm`: silences from the command line (the chat has /silence too). */
import type { Command, Option } from "commander";
import { errorText } from "../log.js";
import { parseDuration } from "../model/duration.js";
import { fmtTime } from "../model/format.js";
import type { Silence } from "../model/silence.js";
import { auditCli, cliActor, osUserName } from "./cli-actor.js";
import { withState } from "./state-access.js";
import { textTable } from "./text-table.js";

export function silenceTable(silences: readonly Silence[]): string {
  if (silences.length === 0) return "no active silences";
  const head = ["ID", "METRIC", "SERIES", "ENDS_AT", "BY", "REASON"];
  const rows = silences.map((s) => [`${s.id}`, s.metricGlob, s.seriesGlob, fmtTime(s.endsAt), s.createdBy, s.reason]);
  return textTable(head, rows);
}

function fail(what: string, err: unknown): number {
  process.stderr.write(`vigil silence ${what}: ${errorText(err)}\n`);
  return 1;
}

export function registerSilenceCommands(program: Command, configOpt: () => Option, setExit: (code: number) => void): void {
  const silence = program.command("silence").description("silence alerts by metric and series (globs), for a while");
  silence
    .command("add")
    .description("add a silence: matching alerts still change state but send nothing")
    .addOption(configOpt())
    .requiredOption("--metric <glob>", "metric name or glob (* and ?)")
    .option("--series <glob>", "series key or glob, e.g. 'platform=ios' (default: every series)", "*")
    .requiredOption("--for <duration>", "how long, e.g. 2h, 30m, 1d")
    .option("--reason <text>", "why (shown in listings)", "")
    .option("--by <name>", "who adds it (audit)", osUserName())
    .action(async (o: { config: string; metric: string; series: string; for: string; reason: string; by: string }) => {
      const ms = parseDuration(o.for);
      if (ms === null || ms <= 0) {
        process.stderr.write(`vigil silence add: --for takes a duration like 2h or 30m, got '${o.for}'\n`);
        return setExit(2);
      }
      try {
        const actor = `cli:${o.by}`;
        const s = await withState(o.config, async ({ store, actions }) => {
          const added = await actions.silence({ metric: o.metric, series: o.series, durationMs: ms, reason: o.reason, actor });
          await auditCli(store, {
            actor,
            action: "silence",
            target: `${o.metric}/${o.series}`,
            detail: { silence: added.id, duration: o.for },
          });
          return added;
        });
        process.stdout.write(`silence ${s.id} added: ${s.metricGlob} / ${s.seriesGlob} until ${fmtTime(s.endsAt)}\n`);
        setExit(0);
      } catch (err) {
        setExit(fail("add", err));
      }
    });
  silence
    .command("list")
    .description("list active silences (--all: also expired and removed ones)")
    .addOption(configOpt())
    .option("--all", "include expired and removed silences")
    .option("--json", "print JSON")
    .action(async (o: { config: string; all?: boolean; json?: boolean }) => {
      try {
        const list = await withState(o.config, ({ actions }) => actions.silences(!!o.all));
        process.stdout.write(o.json ? `${JSON.stringify(list, null, 2)}\n` : `${silenceTable(list)}\n`);
        setExit(0);
      } catch (err) {
        setExit(fail("list", err));
      }
    });
  silence
    .command("rm")
    .description("remove a silence by id")
    .addOption(configOpt())
    .argument("<id>", "silence id")
    .action(async (id: string, o: { config: string }) => {
      const n = Number(id);
      if (!Number.isInteger(n) || n <= 0) {
        process.stderr.write(`vigil silence rm: not a silence id: ${id}\n`);
        return setExit(2);
      }
      try {
        const removed = await withState(o.config, async ({ store, actions }) => {
          const ok = await actions.unsilence(n);
          await auditCli(store, { actor: cliActor(), action: "unsilence", target: `#${n}`, detail: { ok } });
          return ok;
        });
        if (!removed) {
          process.stderr.write(`vigil silence rm: no active silence ${n}\n`);
          return setExit(1);
        }
        process.stdout.write(`silence ${n} removed\n`);
        setExit(0);
      } catch (err) {
        setExit(fail("rm", err));
      }
    });
}
