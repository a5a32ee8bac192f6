/** How vigil runs and what it connects to: databases, time zone, HTTP endpoint, chat apps. */
import { z } from "zod";
import { zoneProblem } from "../../../detectors/local-time.js";

export function serviceShape() {
  return {
    database: z
      .strictObject({
        url: z
          .string()
          .refine((s) => s.trim() === "" || /^postgres(?:ql)?:\/\//.test(s.trim()), {
            error: "must be a postgres:// or postgresql:// URL (or empty for the embedded PGlite)",
          })
          .describe(
            "PostgreSQL holding the metric tables. Empty = $DATABASE_URL, and when that is unset too, embedded PGlite under .vigil/.",
          )
          .optional(),
        state_url: z
          .string()
          .refine((s) => s.trim() === "" || /^postgres(?:ql)?:\/\//.test(s.trim()), {
            error: "must be a postgres:// or postgresql:// URL (or empty)",
          })
          .describe("Where alert state lives (schema `vigil`) if not in `url`. Empty = $VIGIL_STATE_URL, else `url`.")
          .optional(),
      })
      .describe("Database connections.")
      .optional(),
    timezone: z
      .string()
      .check((ctx) => {
        const msg = zoneProblem(ctx.value);
        if (msg) ctx.issues.push({ code: "custom", message: msg, input: ctx.value });
      })
      .describe('IANA time zone for schedules, digests and "yesterday". Default UTC.')
      .optional(),
    http: z
      .strictObject({
        port: z.int().min(0).max(65535).describe("Port of /healthz, /readyz and /metrics. Default 9464; 0 = any free port.").optional(),
        host: z.string().min(1).describe("Interface to listen on. Default 0.0.0.0.").optional(),
      })
      .describe("The HTTP endpoint for health checks and Prometheus metrics.")
      .optional(),
    telegram: z
      .strictObject({
        token: z.string().describe(`Bot token; use "\${TELEGRAM_BOT_TOKEN}". Empty = Telegram disabled.`),
        api_url: z.string().describe("A self-hosted Bot API server or a test server; empty = Telegram's.").optional(),
        allowed_users: z.array(z.int()).describe("Telegram user ids allowed to press buttons and run commands.").optional(),
      })
      .describe("The Telegram bot used by telegram channels.")
      .optional(),
    slack: z
      .strictObject({
        token: z.string().describe(`Bot token (xoxb-...); use "\${SLACK_BOT_TOKEN}". Empty = Slack disabled.`),
        app_token: z.string().describe("App-level token (xapp-...) for Socket Mode: buttons and /vigil.").optional(),
        api_url: z.string().describe("Empty = Slack's.").optional(),
        allowed_users: z.array(z.string().min(1)).describe("Slack user ids allowed to press buttons and run commands.").optional(),
      })
      .describe("The Slack app used by slack channels.")
      .optional(),
  };
}
