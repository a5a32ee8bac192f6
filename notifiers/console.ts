/** The console channel: one readable block per notification on stdout (the demo's channel). */
import { notificationText } from "../src/model/format.js";
import type { Notification } from "../src/model/notification.js";
import type { Notifier, NotifierFactory, SendResult } from "./notifier.js";

export const createConsoleNotifier: NotifierFactory = (channel, _config, deps): Notifier => ({
  channel,
  type: "console",
  async send(n: Notification): Promise<SendResult> {
    const text = notificationText(n)
      .split("\n")
      .map((line, i) => (i === 0 ? line : `    ${line}`))
      .join("\n");
    deps.stdout.write(`${text}\n`);
    return {};
  },
});
