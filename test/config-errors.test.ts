/**
 * Bad input -> the exact place and a readable message. Each case is a whole small file; `line` and
 * `col` are 1-based positions in it, counted by hand.
 */
import { describe, expect, it } from "vitest";
import { loadConfigText } from "../src/config/load.js";
import { type ConfigProblem, formatProblem } from "../src/config/problem.js";

/** A valid head that cases build on: two channels (lines 1-3), then `metrics:` on line 4. */
const HEAD = ["channels:", "  oncall: {type: console}", "  team: {type: console}", "metrics:"];
/** A valid metric body, for cases about something else. */
const METRIC = ["  - name: dau", '    source: {table: events, time_column: ts, value: "count(*)"}'];

function problemsOf(lines: string[], env: Record<string, string> = {}): ConfigProblem[] {
  const res = loadConfigText(`${lines.join("\n")}\n`, "vigil.yaml", env);
  if (res.ok) throw new Error("expected the config to be invalid, but it loaded");
  return res.problems;
}

interface Case {
  name: string;
  lines: string[];
  line: number;
  col: number;
  message: string;
  env?: Record<string, string>;
}

const cases: Case[] = [
  // --- YAML syntax ---
  { name: "bad indentation", lines: ["http:", "  port: 1", " host: x"], line: 3, col: 1, message: "same column" },
  { name: "unclosed double quote", lines: ['timezone: "UTC', "http: {port: 1}"], line: 1, col: 11, message: "unclosed quote" },
  {
    name: "unclosed flow sequence",
    lines: ["defaults:", "  notify: [oncall, team", "metrics: []"],
    line: 3,
    col: 1,
    message: "flow sequence",
  },
  { name: "tab as indentation", lines: ["http:", "\tport: 1"], line: 2, col: 1, message: "tabs are not allowed" },
  { name: "duplicate mapping key", lines: ["timezone: UTC", "timezone: UTC"], line: 2, col: 1, message: "unique" },
  { name: "two YAML documents", lines: ["timezone: UTC", "---", "timezone: UTC"], line: 2, col: 1, message: "one YAML document" },
  // --- unknown keys ---
  { name: "unknown top-level key", lines: ["timezon: UTC"], line: 1, col: 1, message: "unknown key 'timezon' (did you mean 'timezone'?)" },
  {
    name: "unknown key in a metric",
    lines: [...HEAD, ...METRIC, "    lookbak: 14d"],
    line: 7,
    col: 5,
    message: "unknown key 'lookbak' (did you mean 'lookback'?)",
  },
  {
    name: "unknown key in a source",
    lines: [
      ...HEAD,
      "  - name: dau",
      "    source:",
      "      table: events",
      "      time_column: ts",
      "      value: x",
      "      granularty: 1h",
    ],
    line: 10,
    col: 7,
    message: "unknown key 'granularty' (did you mean 'granularity'?)",
  },
  {
    name: "unknown detector parameter",
    lines: [...HEAD, ...METRIC, "    detectors:", "      - {type: zscore, windw: 48}"],
    line: 8,
    col: 24,
    message: "unknown key 'windw' (did you mean 'window'?)",
  },
  { name: "unknown key in http", lines: ["http:", "  port: 9464", "  hots: 127.0.0.1"], line: 3, col: 3, message: "did you mean 'host'?" },
  // --- wrong types and values ---
  { name: "string for a number", lines: ["http:", "  port: abc"], line: 2, col: 9, message: "expected an integer, got string 'abc'" },
  { name: "number for a list", lines: [...HEAD, ...METRIC, "    notify: 5"], line: 7, col: 13, message: "expected a list, got number 5" },
  {
    name: "string for a boolean",
    lines: ["channels:", "  c: {type: console, send_resolved: yes}"],
    line: 2,
    col: 37,
    message: "expected true or false",
  },
  {
    name: "bad enum value",
    lines: [...HEAD, ...METRIC, "    direction: sideways"],
    line: 7,
    col: 16,
    message: "expected one of up, down, both",
  },
  { name: "bad duration", lines: [...HEAD, ...METRIC, "    lookback: 14x"], line: 7, col: 15, message: "expected a duration like 90s" },
  {
    name: "bad min_change",
    lines: [...HEAD, ...METRIC, "    min_change: five percent"],
    line: 7,
    col: 17,
    message: "expected a percentage like 5%",
  },
  {
    name: "fraction for an integer",
    lines: [...HEAD, ...METRIC, "    for: 2.5"],
    line: 7,
    col: 10,
    message: "expected an integer, got number 2.5",
  },
  {
    name: "missing duration in a mute window",
    lines: [...HEAD, ...METRIC, "    mute:", '      - cron: "0 3 * * *"'],
    line: 8,
    col: 9,
    message: "missing required key 'duration'",
  },
  { name: "for below 1", lines: [...HEAD, ...METRIC, "    for: 0"], line: 7, col: 10, message: "must be at least 1" },
  { name: "bad cron", lines: ["defaults:", '  schedule: "61 * * * *"'], line: 2, col: 13, message: "invalid cron expression '61 * * * *'" },
  { name: "cron with 7 fields", lines: ["defaults:", '  schedule: "* * * * * * *"'], line: 2, col: 13, message: "got 7" },
  { name: "bad timezone", lines: ["timezone: Mars/Olympus_Mons"], line: 1, col: 11, message: "unknown time zone 'Mars/Olympus_Mons'" },
  {
    name: "database url not postgres",
    lines: ["database:", "  url: mysql://localhost/db"],
    line: 2,
    col: 8,
    message: "postgres:// or postgresql://",
  },
  {
    name: "missing required key points at the parent mapping",
    lines: [...HEAD, "  - name: dau", "    source:", "      time_column: ts", "      value: x"],
    line: 7,
    col: 7,
    message: "missing required key 'table'",
  },
  // --- references ---
  {
    name: "unknown channel in metric notify",
    lines: [...HEAD, ...METRIC, "    notify: [oncall, pagr]"],
    line: 7,
    col: 22,
    message: "unknown channel 'pagr' (channels: oncall, team)",
  },
  {
    name: "unknown channel in digest notify",
    lines: [...HEAD, ...METRIC, "digest:", "  - {notify: [tema]}"],
    line: 8,
    col: 15,
    message: "unknown channel 'tema' (channels: oncall, team) (did you mean 'team'?)",
  },
  {
    name: "unknown channel in severity_channels",
    lines: [...HEAD, ...METRIC, "defaults:", "  severity_channels:", "    critical: [pager]"],
    line: 9,
    col: 16,
    message: "unknown channel 'pager'",
  },
  {
    name: "digest naming an unknown metric",
    lines: [...HEAD, ...METRIC, "digest:", "  - {metrics: [dua]}"],
    line: 8,
    col: 16,
    message: "unknown metric 'dua' (metrics: dau)",
  },
  // --- detectors ---
  {
    name: "unknown detector type",
    lines: [...HEAD, ...METRIC, "    detectors:", "      - type: ewma"],
    line: 8,
    col: 15,
    message: "unknown detector 'ewma' (known: ",
  },
  {
    name: "bad detector parameter value",
    lines: [...HEAD, ...METRIC, "    detectors:", "      - type: zscore", "        k: -1"],
    line: 9,
    col: 12,
    message: "must be greater than 0",
  },
  {
    name: "detector parameter of the wrong type",
    lines: [...HEAD, ...METRIC, "    detectors:", "      - {type: zscore, window: lots}"],
    line: 8,
    col: 32,
    message: "expected an integer, got string 'lots'",
  },
  // --- metric structure ---
  {
    name: "both source and query",
    lines: [...HEAD, ...METRIC, '    query: "SELECT 1"'],
    line: 7,
    col: 5,
    message: "either source: or query:, not both",
  },
  { name: "neither source nor query", lines: [...HEAD, "  - name: dau", "    for: 2"], line: 5, col: 5, message: "needs a source:" },
  {
    name: "duplicate metric names",
    lines: [...HEAD, ...METRIC, "  - name: dau", '    query: "SELECT 1"'],
    line: 7,
    col: 11,
    message: "duplicate metric name 'dau'",
  },
  {
    name: "metric name with a slash",
    lines: [...HEAD, "  - name: a/b", '    query: "x"'],
    line: 5,
    col: 11,
    message: "metric names may use",
  },
  // --- interpolation ---
  {
    name: "unset environment variable without default",
    lines: ["telegram:", '  token: "${TELEGRAM_BOT_TOKEN}"'],
    line: 2,
    col: 10,
    message: "environment variable TELEGRAM_BOT_TOKEN is not set (use ${TELEGRAM_BOT_TOKEN:-default} to give a default)",
  },
  { name: "unclosed interpolation", lines: ['timezone: "${TZ"'], line: 1, col: 11, message: "unclosed '${'" },
  {
    name: "interpolated value of the wrong type",
    lines: ["http:", "  port: ${PORT}"],
    env: { PORT: "http" },
    line: 2,
    col: 9,
    message: "got string '${PORT}' (the value from the environment is not shown)",
  },
  // --- chat channels ---
  {
    name: "telegram channel without a telegram section",
    lines: ["channels:", '  oncall: {type: telegram, chat_id: "-100123"}'],
    line: 2,
    col: 18,
    message: "no top-level telegram: section",
  },
  {
    name: "slack channel with an empty token",
    lines: ["slack:", '  token: "${SLACK_BOT_TOKEN:-}"', "channels:", "  team: {type: slack, channel: C1}"],
    line: 4,
    col: 16,
    message: "slack.token is empty (is SLACK_BOT_TOKEN set?)",
  },
  { name: "unknown channel type", lines: ["channels:", "  x: {type: consle}"], line: 2, col: 13, message: "unknown channel type 'consle'" },
  // --- experiments ---
  ...experimentCases(),
];

function experimentCases(): Case[] {
  const exp = (variants: string, control: string, guardrailKeys = ""): string[] => [
    ...HEAD,
    ...METRIC,
    "experiments:",
    "  - name: recs",
    `    variants: ${variants}`,
    `    control: ${control}`,
    "    assignments: {table: a, unit_column: u, variant_column: v, time_column: t}",
    "    guardrails:",
    `      - {name: g, events: {table: e, unit_column: u, time_column: t, value: x}, bad_direction: increase${guardrailKeys}}`,
  ];
  return [
    {
      name: "experiment control not among the variants",
      lines: exp("{control: 0.5, treatment: 0.5}", "contrl"),
      line: 10,
      col: 14,
      message: "control 'contrl' is not one of the variants (control, treatment) (did you mean 'control'?)",
    },
    {
      name: "variant weights not summing to 1",
      lines: exp("{control: 0.5, treatment: 0.4}", "control"),
      line: 9,
      col: 15,
      message: "sum to 0.9",
    },
    {
      name: "winsorize_over without winsorize",
      lines: exp("{control: 0.5, treatment: 0.5}", "control", ", winsorize_over: nonzero"),
      line: 13,
      col: 106,
      message: "winsorize_over is only used with winsorize",
    },
    {
      name: "winsorize_over with an unknown value",
      lines: exp("{control: 0.5, treatment: 0.5}", "control", ", winsorize: 0.999, winsorize_over: zeros"),
      line: 13,
      col: 140,
      message: "expected one of all, nonzero, got string 'zeros'",
    },
  ];
}

describe("config problems name the place", () => {
  it("has at least 25 cases", () => expect(cases.length).toBeGreaterThanOrEqual(25));

  for (const c of cases) {
    it(c.name, () => {
      const problems = problemsOf(c.lines, c.env);
      const hit = problems.find((p) => p.line === c.line && p.col === c.col && p.message.includes(c.message));
      // On failure, show everything that was reported.
      expect(hit, problems.map(formatProblem).join("\n")).toBeDefined();
    });
  }

  it("reports every problem, not just the first, in document order", () => {
    const problems = problemsOf([
      ...HEAD,
      "  - name: dau",
      "    lookback: 14x",
      "    notify: [nope]",
      "    colour: red",
      "timezone: Nowhere",
    ]);
    expect(problems.map((p) => [p.line, p.col])).toEqual([
      [5, 5],
      [6, 15],
      [7, 14],
      [8, 5],
      [9, 11],
    ]);
  });

  it("formats as FILE:LINE:COL: path: message", () => {
    const [p] = problemsOf([...HEAD, ...METRIC, "    detectors:", "      - {type: zscore, k: x}"]);
    expect(formatProblem(p!)).toBe("vigil.yaml:8:27: metrics[0].detectors[0].k: expected a number, got string 'x'");
  });

  it("keeps the file name as given", () => {
    const res = loadConfigText("timezon: UTC\n", "config/my.yaml", {});
    expect(res.ok ? "" : formatProblem(res.problems[0]!)).toMatch(/^config\/my\.yaml:1:1: timezon: unknown key/);
  });

  it("shows an interpolated value as the ${VAR} it was written as, never the (possibly secret) value", () => {
    const problems = problemsOf(["channels:", '  hook: {type: webhook, url: "${HOOK_URL}"}'], {
      HOOK_URL: "ftp://user:s3cret@example.com",
    });
    expect(problems.map(formatProblem)).toEqual([
      "vigil.yaml:2:30: channels.hook.url: expected an http(s) URL, got '${HOOK_URL}' (the value from the environment is not shown)",
    ]);
  });

  it("does not pile a second message on a scalar whose interpolation failed", () => {
    const problems = problemsOf([...HEAD, ...METRIC, '    notify: ["${CHANNEL}"]']);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toContain("CHANNEL is not set");
  });
});
