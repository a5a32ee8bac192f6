/**
 * The judge step between a detector's verdicts and the alert lifecycle: what an incident that goes
 * on (`ongoing`) may and may not do, and a new incident on the other side of an open alert.
 */
import { describe, expect, it } from "vitest";
import type { Verdict } from "../detectors/types.js";
import { type JudgeRules, judgeVerdicts } from "../src/engine/judge-step.js";
import { type DetectorInstance, SeriesRuntime } from "../src/engine/series-runtime.js";
import { TickOutcomes } from "../src/engine/tick-outcomes.js";
import type { Alert } from "../src/model/alert.js";
import { metric } from "./helpers/config.js";

const DAY = 86_400_000;
const ensemble = { family: "ensemble", type: "ensemble", def: {}, params: {} } as unknown as DetectorInstance;
const rules: JudgeRules = {
  config: metric({ name: "sales", granularityMs: DAY, detectors: [{ type: "ensemble" }] }),
  detectors: [ensemble],
  policy: { for: 1, resolveAfter: 2, severity: "warning", repeatEveryMs: null },
};

/** A verdict against an expected 100 ± 10: `fresh` a new anomaly, else an incident that goes on when beyond the band. */
function verdict(value: number, fresh: boolean): Verdict {
  const beyond = Math.abs(value - 100) > 10;
  return {
    expected: 100,
    lower: 90,
    upper: 110,
    score: fresh ? 1 : 0.3,
    anomaly: fresh,
    ongoing: !fresh && beyond,
    sigmas: (value - 100) / 3,
    reason: fresh ? `${value > 100 ? "above" : "below"} the rolling median` : "",
  };
}

/** Judge one bucket per value; every outcome of every step, in order. */
function judgeAll(steps: Array<[number, boolean]>, open: Alert[] = []): { book: TickOutcomes; series: SeriesRuntime } {
  const book = new TickOutcomes(open);
  const series = new SeriesRuntime("", {}, []);
  for (const [i, [v, fresh]] of steps.entries()) judgeVerdicts(rules, series, i * DAY, v, [verdict(v, fresh)], book, i * DAY + DAY);
  return { book, series };
}

function transitions(book: TickOutcomes): string[] {
  return book.list.flatMap((o) => o.events.map((e) => `${e.from ?? "new"}->${e.to}${e.notify ? ` (${e.notify})` : ""}`));
}

describe("judge step", () => {
  it("a crash after a level shift up that stayed is a new alert, not more of the open one", () => {
    // up 40% and staying there (the incident goes on for weeks), then a drop far below
    const { book } = judgeAll([[140, true], ...Array.from({ length: 30 }, (): [number, boolean] => [140, false]), [40, true]]);
    expect(transitions(book)).toEqual(["new->firing (firing)", "firing->resolved (resolved)", "new->firing (firing)"]);
    const [first, second] = book.list;
    expect(first!.events[1]!.note).toMatch(/^superseded by a new incident on the other side of the expected value: below/);
    expect(second!.alert).toMatchObject({ state: "firing", value: 40, firstBucket: 31 * DAY });
  });

  it("a fresh anomaly on the same side as the open alert goes on in it", () => {
    const { book } = judgeAll([
      [140, true],
      [140, false],
      [300, true],
    ]);
    expect(transitions(book)).toEqual(["new->firing (firing)"]);
    expect(book.list[0]!.alert).toMatchObject({ state: "firing", anomalousCount: 3 });
  });

  it("an incident that goes on keeps an open alert firing but never opens one: a resolved alert stays resolved", () => {
    const { book } = judgeAll([
      [140, true],
      [140, false],
    ]);
    const resolved: Alert = { ...book.list[0]!.alert!, id: 7, state: "resolved", resolvedAt: 2 * DAY };
    const after = judgeAll(
      Array.from({ length: 10 }, (): [number, boolean] => [140, false]),
      [resolved],
    );
    expect(transitions(after.book)).toEqual([]);
    // a fresh anomaly still opens one
    expect(
      transitions(
        judgeAll(
          [
            [140, false],
            [60, true],
          ],
          [resolved],
        ).book,
      ),
    ).toEqual(["new->firing (firing)"]);
  });

  it("on a public holiday the timezone implies, the seasonal view's anomaly raises nothing; any other view's still alerts", () => {
    const seasonal: Verdict = { ...verdict(40, true), seasonal: true, reason: "5.0σ below the expected value for Monday 08:00" };
    const judge = (v: Verdict, holiday: boolean) => {
      const book = new TickOutcomes([]);
      const n = judgeVerdicts(rules, new SeriesRuntime("", {}, []), 0, 40, [v], book, DAY, null, holiday);
      return { n, transitions: transitions(book) };
    };
    expect(judge(seasonal, true)).toEqual({ n: 0, transitions: [] });
    expect(judge(seasonal, false)).toEqual({ n: 1, transitions: ["new->firing (firing)"] });
    expect(judge(verdict(40, true), true)).toEqual({ n: 1, transitions: ["new->firing (firing)"] });
  });
});
