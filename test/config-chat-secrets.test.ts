/** Commands that never talk to a chat load a config whose bot tokens are unset: warnings, not errors. */
import { describe, expect, it } from "vitest";
import { loadConfigText } from "../src/config/load.js";
import { formatProblem } from "../src/config/problem.js";

const YAML = `telegram:
  token: "\${TELEGRAM_BOT_TOKEN}"
slack:
  token: "\${SLACK_BOT_TOKEN:-}"
  app_token: "\${SLACK_APP_TOKEN}"
channels:
  oncall: {type: telegram, chat_id: "-100123"}
  team: {type: slack, channel: C0123}
`;

describe("chatSecrets: optional", () => {
  it("turns unset and empty bot tokens into warnings at their place, one per cause", () => {
    const strict = loadConfigText(YAML, "v.yaml", {});
    expect(strict.ok).toBe(false);
    const res = loadConfigText(YAML, "v.yaml", {}, { chatSecrets: "optional" });
    if (!res.ok) throw new Error(res.problems.map(formatProblem).join("\n"));
    expect(Object.keys(res.config.channels)).toEqual(["oncall", "team"]);
    expect(res.config.telegram).toBeUndefined();
    const chat = res.warnings.map(formatProblem).filter((w) => w.includes("`vigil run` needs it"));
    expect(chat).toEqual([
      "v.yaml:2:10: telegram.token: environment variable TELEGRAM_BOT_TOKEN is not set (use ${TELEGRAM_BOT_TOKEN:-default} to give a default); `vigil run` needs it",
      "v.yaml:5:14: slack.app_token: environment variable SLACK_APP_TOKEN is not set (use ${SLACK_APP_TOKEN:-default} to give a default); `vigil run` needs it",
      "v.yaml:8:16: channels.team.type: channel 'team' is a slack channel but slack.token is empty (is SLACK_BOT_TOKEN set?); `vigil run` needs it",
    ]);
  });

  it("other unset variables and a chat channel without its bot section are still errors", () => {
    const res = loadConfigText(
      `channels:\n  oncall: {type: telegram, chat_id: "\${CHAT_ID}"}\n`,
      "v.yaml",
      {},
      { chatSecrets: "optional" },
    );
    expect(res.ok ? [] : res.problems.map((p) => p.message)).toEqual([
      "channel 'oncall' is a telegram channel but there is no top-level telegram: section with a token (token: \"${TELEGRAM_BOT_TOKEN}\")",
      "environment variable CHAT_ID is not set (use ${CHAT_ID:-default} to give a default)",
    ]);
  });
});
