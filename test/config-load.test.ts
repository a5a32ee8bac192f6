import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { detectorTypes } from "../detectors/registry.js";
import { validateCommand } from "../src/cli/validate-command.js";
import { diffConfigs } from "../src/config/diff-configs.js";
import { interpolate } from "../src/config/interpolate.js";
import { defaultConfigPath, loadConfig, loadConfigFile, loadConfigText } from "../src/config/load.js";
import { ConfigError, formatProblem } from "../src/config/problem.js";
import { redactedConfigSummary } from "../src/config/redact.js";
import type { VigilConfig } from "../src/config/types.js";
import { buildDetectors } from "../src/engine/build-detectors.js";

const FIXTURES = "test/fixtures/config";
const SECRETS = {
  TELEGRAM_BOT_TOKEN: "123456:TELEGRAM-SECRET",
  SLACK_BOT_TOKEN: "xoxb-SLACK-SECRET",
  SLACK_APP_TOKEN: "xapp-APP-SECRET",
  HOOK_TOKEN: "HOOK-SECRET",
};

function mustLoad(text: string, env: Record<string, string> = {}): VigilConfig {
  const res = loadConfigText(text, "test.yaml", env);
  if (!res.ok) throw new Error(res.problems.map(formatProblem).join("\n"));
  return res.config;
}

async function mustLoadFile(path: string, env: Record<string, string> = {}): Promise<VigilConfig> {
  const res = await loadConfigFile(path, env);
  if (!res.ok) throw new Error(res.problems.map(formatProblem).join("\n"));
  return res.config;
}

function captured() {
  const out = { stdout: "", stderr: "" };
  return {
    out,
    streams: {
      stdout: { write: (s: string) => (out.stdout += s) },
      stderr: { write: (s: string) => (out.stderr += s) },
    },
  };
}

describe("built-in defaults", () => {
  it("fill every option of a minimal metric", async () => {
    const c = await mustLoadFile(`${FIXTURES}/minimal.yaml`);
    expect(c.file).toBe(resolve(FIXTURES, "minimal.yaml"));
    expect(c.timezone).toBe("UTC");
    expect(c.http).toEqual({ port: 9464, host: "0.0.0.0" });
    expect(c.database).toEqual({});
    expect(c.defaults).toEqual({ schedule: "*/5 * * * *", notify: [], severity_channels: {}, storm_limit: 10 });
    expect(c.metrics[0]).toEqual({
      name: "signups",
      query: "SELECT t, value FROM signups WHERE t >= $1 AND t < $2",
      granularityMs: 3_600_000,
      lookbackMs: 14 * 86_400_000,
      delayMs: 0,
      detectors: [],
      direction: "both",
      minChange: null,
      for: 1,
      severity: "warning",
      repeatEveryMs: null,
      resolveAfter: 2,
      notify: [],
      schedule: "*/5 * * * *",
      mute: [],
      fill: "none",
      minRows: null,
      rowCounts: false,
      calendar: null,
    });
  });

  it("a metric that notifies nowhere is a warning, not an error", async () => {
    const res = await loadConfigFile(`${FIXTURES}/minimal.yaml`, {});
    expect(res.ok).toBe(true);
    if (res.ok)
      expect(res.warnings.map(formatProblem)).toEqual([
        `${FIXTURES}/minimal.yaml:2:5: metrics[0]: metric 'signups' notifies no channel (set notify: here or in defaults)`,
      ]);
  });
});

describe("defaults inheritance", () => {
  it("every metric inherits defaults, and its own value wins", async () => {
    const c = await mustLoadFile(`${FIXTURES}/defaults.yaml`);
    const [inherits, overrides] = c.metrics;
    expect(inherits).toMatchObject({
      schedule: "*/10 * * * *",
      notify: ["ops"],
      lookbackMs: 7 * 86_400_000,
      delayMs: 300_000,
      direction: "down",
      minChange: { kind: "relative", value: 0.1 },
      for: 3,
      severity: "critical",
      repeatEveryMs: 7_200_000,
      resolveAfter: 4,
      granularityMs: 900_000,
      detectors: [{ type: "threshold", min: 1 }],
      mute: [{ cron: "0 3 * * *", durationMs: 1_800_000 }],
    });
    expect(overrides).toMatchObject({
      schedule: "0 * * * *",
      notify: ["pager"],
      lookbackMs: 28 * 86_400_000,
      delayMs: 0,
      direction: "both",
      minChange: { kind: "absolute", value: 3 },
      for: 1,
      severity: "info",
      repeatEveryMs: null,
      resolveAfter: 1,
      granularityMs: 86_400_000,
      detectors: [],
      mute: [],
      source: { table: "events", time_column: "ts", value: "count(*)", split_by: ["platform"], dimensions: [] },
    });
    expect(c.defaults).toEqual({
      schedule: "*/10 * * * *",
      notify: ["ops"],
      severity_channels: { critical: ["pager"] },
      storm_limit: 5,
    });
  });

  it("a daily metric keeps 120 days by default, and {type: ensemble} leaves its time-dependent parameters to the bucket size", () => {
    const c = mustLoad(
      'metrics:\n  - {name: d, query: "q", granularity: 1d, detectors: [{type: ensemble}]}\n  - {name: e, query: "q", granularity: 1d, detectors: [{type: ensemble, refractory: 30}]}\n  - {name: h, query: "q"}\n',
    );
    const [d, e, h] = c.metrics;
    expect(d!.lookbackMs).toBe(120 * 86_400_000);
    expect(h!.lookbackMs).toBe(14 * 86_400_000);
    expect(d!.detectors[0]).not.toHaveProperty("refractory");
    expect(buildDetectors(d!)[0]!.params).toMatchObject({ window: 180, history: 180, warmup: 28, refractory: 7, novelty: 1.1 });
    expect(buildDetectors(e!)[0]!.params).toMatchObject({ history: 180, refractory: 30 });
    expect(buildDetectors(h!)[0]!.params).toMatchObject({ window: 1000, history: 1000, warmup: 72, refractory: 24 });
    // still checked when given
    const bad = loadConfigText('metrics:\n  - {name: d, query: "q", detectors: [{type: ensemble, window: 5}]}\n', "t.yaml", {});
    expect(bad.ok).toBe(false);
  });

  it("warns when a lookback is too short for the ensemble to warm up on", () => {
    const res = loadConfigText(
      'channels: {o: {type: console}}\nmetrics:\n  - {name: d, query: "q", granularity: 1d, lookback: 14d, notify: [o]}\n  - {name: e, query: "q", granularity: 1d, notify: [o]}\n  - {name: z, query: "q", granularity: 1d, lookback: 14d, notify: [o], detectors: [{type: zscore}]}\n',
      "t.yaml",
      {},
    );
    expect(res.ok).toBe(true);
    if (res.ok) {
      expect(res.warnings.map(formatProblem)).toEqual([
        "t.yaml:3:5: metrics[0]: metric 'd': its lookback holds 14 buckets and the ensemble needs 28 to warm up, so after every start it alerts only once 14d have passed (set lookback: 28d or more)",
      ]);
    }
  });

  it("detector parameters get their detector's defaults", () => {
    const c = mustLoad('metrics:\n  - {name: m, query: "q", detectors: [{type: zscore, k: 4}]}\n');
    expect(c.metrics[0]!.detectors[0]).toMatchObject({ type: "zscore", k: 4, window: 48 });
  });
});

describe("interpolation", () => {
  it("substitutes ${VAR}, ${VAR:-default} and keeps $${ literal", () => {
    const env = { HOST: "db.internal", EMPTY: "" };
    expect(interpolate("postgres://${HOST}:5432/app", env)).toEqual({ ok: true, value: "postgres://db.internal:5432/app" });
    expect(interpolate("${MISSING:-fallback}", env)).toEqual({ ok: true, value: "fallback" });
    expect(interpolate("${EMPTY:-fallback}", env)).toEqual({ ok: true, value: "fallback" });
    expect(interpolate("${EMPTY-fallback}", env)).toEqual({ ok: true, value: "" });
    expect(interpolate("${MISSING:-}", env)).toEqual({ ok: true, value: "" });
    expect(interpolate("cost: $5, $${HOST}", env)).toEqual({ ok: true, value: "cost: $5, ${HOST}" });
    expect(interpolate("${MISSING}", env)).toEqual({
      ok: false,
      message: "environment variable MISSING is not set (use ${MISSING:-default} to give a default)",
    });
    expect(interpolate("${MISSING:?set it in .env}", env)).toEqual({
      ok: false,
      message: "environment variable MISSING is not set: set it in .env",
    });
  });

  it("a value that is wholly one ${..} validates as a number where a number is wanted", () => {
    const text = 'http:\n  port: ${PORT:-9464}\n  host: "${HOST:-127.0.0.1}"\nmetrics:\n  - {name: m, query: "q", for: "${FOR}"}\n';
    expect(mustLoad(text, { FOR: "3" })).toMatchObject({ http: { port: 9464, host: "127.0.0.1" }, metrics: [{ for: 3 }] });
    expect(mustLoad(text, { PORT: "8080", FOR: "1" }).http.port).toBe(8080);
  });

  it("and stays a string where a string is wanted", () => {
    const text =
      'telegram:\n  token: "${TOKEN}"\n  allowed_users: [1]\nchannels:\n  t: {type: telegram, chat_id: "${CHAT}"}\nmetrics:\n  - {name: m, query: "q", notify: [t]}\n';
    const c = mustLoad(text, { TOKEN: "123456", CHAT: "-1001234567890" });
    expect(c.telegram?.token).toBe("123456");
    expect(c.channels.t).toEqual({ type: "telegram", chat_id: "-1001234567890", send_resolved: true });
  });

  it("an empty database url means the environment's, then PGlite", () => {
    const text = 'database: {url: "${DATABASE_URL:-}"}\nmetrics: [{name: m, query: q}]\n';
    expect(mustLoad(text).database).toEqual({});
    expect(mustLoad(text, { DATABASE_URL: "postgres://u:p@h/db" }).database.url).toBe("postgres://u:p@h/db");
    expect(mustLoad("metrics: [{name: m, query: q}]\n", { VIGIL_STATE_URL: "postgresql://s/db" }).database).toEqual({
      state_url: "postgresql://s/db",
    });
    const bad = loadConfigText("metrics: [{name: m, query: q}]\n", "t.yaml", { DATABASE_URL: "mysql://x" });
    expect(bad.ok ? [] : bad.problems.map((p) => p.message)).toEqual(["DATABASE_URL must be a postgres:// or postgresql:// URL"]);
  });

  it("winsorize_over: nonzero reaches the guardrail; without it the quantile is over all values", () => {
    const guardrail = (extra: string) =>
      mustLoad(`experiments:
  - name: e
    variants: {a: 0.5, b: 0.5}
    control: a
    assignments: {table: t, unit_column: u, variant_column: v, time_column: at}
    guardrails:
      - {name: g, events: {table: e, unit_column: u, time_column: t, value: x}, aggregate: sum, bad_direction: increase, winsorize: 0.999${extra}}
`).experiments[0]!.guardrails[0]!;
    expect(guardrail(", winsorize_over: nonzero")).toMatchObject({ winsorize: 0.999, winsorize_over: "nonzero" });
    expect(guardrail(", winsorize_over: all").winsorize_over).toBeUndefined();
    expect(guardrail("").winsorize_over).toBeUndefined();
  });

  it("top-level x-* keys hold anchors and are otherwise ignored", () => {
    const c = mustLoad("x-common: &common {for: 3, severity: critical}\nmetrics:\n  - {<<: *common, name: m, query: q}\n");
    expect(c.metrics[0]).toMatchObject({ for: 3, severity: "critical" });
  });
});

describe("the shipped configs", () => {
  it("config/vigil.yaml validates with no environment at all", async () => {
    const c = await mustLoadFile("config/vigil.yaml", {});
    expect(c.database.url).toBeUndefined();
    expect(Object.values(c.channels).map((ch) => ch.type)).toEqual(["console"]);
    expect(c.metrics.length).toBeGreaterThanOrEqual(2);
    for (const m of c.metrics) expect(m.source?.table).toBe("events");
  });

  it("config/example.yaml (the full contract example) validates once the tokens are set", async () => {
    const c = await mustLoadFile("config/example.yaml", SECRETS);
    expect(Object.keys(c.channels).sort()).toEqual(["oncall", "pager", "stdout", "team"]);
    expect(c.telegram).toEqual({ token: SECRETS.TELEGRAM_BOT_TOKEN, allowed_users: [123456789] });
    expect(c.slack?.app_token).toBe(SECRETS.SLACK_APP_TOKEN);
    expect(c.channels.pager).toMatchObject({ type: "webhook", headers: { Authorization: "Bearer HOOK-SECRET" }, send_resolved: false });
    const dau = c.metrics.find((m) => m.name === "dau")!;
    expect(dau).toMatchObject({
      delayMs: 300_000,
      for: 2,
      severity: "critical",
      repeatEveryMs: 14_400_000,
      minChange: { kind: "relative", value: 0.05 },
    });
    expect(dau.detectors.map((d) => d.type)).toEqual(["control_limits", "moving_average", "seasonal", "threshold", "missing"]);
    const exp = c.experiments[0]!;
    expect(exp).toMatchObject({ name: "new_recs", control: "control", alpha: 0.05, srm_alpha: 0.001, min_units: 1000, notify: ["team"] });
    expect(exp.guardrails[0]).toMatchObject({
      name: "skip_rate",
      aggregate: "mean",
      margin: 0.02,
      winsorize: 0.999,
      bad_direction: "increase",
    });
    expect(exp.guardrails[1]).toMatchObject({ aggregate: "ratio", numerator: "errored::int", denominator: "1" });
    expect(c.digest).toEqual([{ schedule: "0 9 * * *", notify: ["team"], metrics: ["dau"], experiments: true }]);
    expect(c.mute).toEqual([{ cron: "0 0 25 12 *", durationMs: 86_400_000 }]);
  });

  it("config/example.yaml without the tokens names each unset variable", async () => {
    const res = await loadConfigFile("config/example.yaml", {});
    expect(res.ok).toBe(false);
    const text = res.ok ? "" : res.problems.map(formatProblem).join("\n");
    for (const v of Object.keys(SECRETS)) expect(text).toContain(`environment variable ${v} is not set`);
  });

  it("every detector named in the example is registered", async () => {
    const text = await readFile("config/example.yaml", "utf8");
    for (const m of text.matchAll(/type: (\w+),/g)) {
      if (!["telegram", "slack", "console", "webhook"].includes(m[1]!)) expect(detectorTypes()).toContain(m[1]);
    }
  });
});

describe("secrets stay out of logs", () => {
  it("redactedConfigSummary has no token, header value or password", async () => {
    const c = await mustLoadFile("config/example.yaml", { ...SECRETS, DATABASE_URL: "postgres://vigil:DB-SECRET@db:5432/app" });
    const json = JSON.stringify(redactedConfigSummary(c));
    for (const secret of [...Object.values(SECRETS), "DB-SECRET", "hooks.example.com/vigil"]) expect(json).not.toContain(secret);
    expect(json).toContain("postgres://vigil:***@db:5432/app");
    expect(json).toContain("https://hooks.example.com/…");
  });
});

describe("vigil validate", () => {
  it("exits 0 with a one-line summary", async () => {
    const { out, streams } = captured();
    expect(await validateCommand("config/example.yaml", streams, SECRETS)).toBe(0);
    expect(out.stdout).toBe("config/example.yaml: OK — 3 metrics, 1 experiment, 4 channels, 1 digest\n");
  });

  it("prints warnings but still exits 0", async () => {
    const { out, streams } = captured();
    expect(await validateCommand(`${FIXTURES}/minimal.yaml`, streams, {})).toBe(0);
    expect(out.stderr).toContain("minimal.yaml:2:5: metrics[0]: warning: metric 'signups' notifies no channel");
    expect(out.stdout).toBe(`${FIXTURES}/minimal.yaml: OK — 1 metric, 0 experiments, 0 channels, 0 digests\n`);
  });

  it("exits 2 and prints every problem as FILE:LINE:COL", async () => {
    const { out, streams } = captured();
    expect(await validateCommand(`${FIXTURES}/invalid.yaml`, streams, {})).toBe(2);
    expect(out.stdout).toBe("");
    expect(out.stderr.trim().split("\n")).toEqual([
      `${FIXTURES}/invalid.yaml:6:14: metrics[0].notify[0]: unknown channel 'pagr' (channels: team)`,
      `${FIXTURES}/invalid.yaml:7:15: metrics[0].lookback: expected a duration like 90s, 5m, 1h30m, 14d, got '2 weeks'`,
    ]);
  });

  it("exits 2 for a missing file", async () => {
    const { out, streams } = captured();
    expect(await validateCommand(`${FIXTURES}/nope.yaml`, streams, {})).toBe(2);
    expect(out.stderr).toContain("nope.yaml: cannot read config file: no such file");
  });

  it("loadConfig throws a ConfigError carrying every problem", async () => {
    const err = await loadConfig(`${FIXTURES}/invalid.yaml`, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toHaveLength(2);
  });

  it("the default path honours $VIGIL_CONFIG", () => {
    expect(defaultConfigPath({})).toBe("config/vigil.yaml");
    expect(defaultConfigPath({ VIGIL_CONFIG: "/etc/vigil.yaml" })).toBe("/etc/vigil.yaml");
  });
});

describe("diffConfigs", () => {
  it("names added, removed and changed metrics, experiments and channels", async () => {
    const a = await mustLoadFile("config/example.yaml", SECRETS);
    const text = (await readFile("config/example.yaml", "utf8"))
      .replace("min_change: 5%", "min_change: 7%")
      .replace("  - name: checkout_errors", "  - name: checkout_failures")
      .replace("  stdout: {type: console}\n", "");
    const b = mustLoad(text, SECRETS);
    const d = diffConfigs(a, b);
    expect(d.metrics).toEqual({ added: ["checkout_failures"], removed: ["checkout_errors"], changed: ["dau"] });
    expect(d.experiments).toEqual({ added: [], removed: [], changed: [] });
    expect(d.channels).toEqual({ added: [], removed: ["stdout"], changed: [] });
    expect(d.settings).toEqual(["file"]);
  });
});
