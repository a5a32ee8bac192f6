import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, redactUrl, scrubSecrets } from "../src/log.js";

function capture() {
  const lines: string[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { lines, log: createLogger({ level: "info", destination: dest }) };
}

describe("logging never leaks secrets", () => {
  it("redacts tokens and auth headers at any depth", () => {
    const { lines, log } = capture();
    log.info(
      {
        telegram: { token: "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ" },
        config: {
          slack: { token: "xoxb-1-2-3", app_token: "xapp-1-A-2" },
          channels: { pager: { headers: { Authorization: "Bearer s3cret" } } },
        },
      },
      "config loaded",
    );
    const out = lines.join("");
    expect(out).not.toContain("ABCDEFGHIJ");
    expect(out).not.toContain("xoxb-1-2-3");
    expect(out).not.toContain("xapp-1-A-2");
    expect(out).not.toContain("s3cret");
    expect(out).toContain("[redacted]");
  });

  it("scrubs passwords and tokens out of free text", () => {
    expect(redactUrl("postgres://vigil:hunter2@db:5432/x")).toBe("postgres://vigil:***@db:5432/x");
    const msg = scrubSecrets(
      "POST https://api.telegram.org/bot123456:ABCDEFGHIJKLMNOPQRSTUVWX/sendMessage failed; xoxb-99-aa; postgresql://u:pw@h/db",
    );
    expect(msg).not.toMatch(/ABCDEFGHIJ|xoxb-99|:pw@/);
  });
});
