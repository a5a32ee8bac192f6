/** The chat bots (Telegram, Slack) as a service the leader starts and stops, and a reload restarts. */
import { type ChatBotDeps, startChatBots } from "../bot/start-chat-bots.js";
import { scrubSecrets } from "../log.js";

export class ChatBots {
  private running: { stop(): Promise<void> } | null = null;

  constructor(private readonly deps: ChatBotDeps) {}

  /** A bot that cannot start is logged, not thrown: the rest of the leader's work goes on. */
  async start(): Promise<void> {
    try {
      this.running = await startChatBots(this.deps);
    } catch (err) {
      this.deps.log.error({ err: scrubSecrets(String(err)) }, "chat bots did not start");
    }
  }

  async stop(): Promise<void> {
    const bots = this.running;
    this.running = null;
    await bots?.stop().catch((err: unknown) => this.deps.log.warn({ err: scrubSecrets(String(err)) }, "stopping chat bots failed"));
  }

  /** Reconnects running bots, as changed tokens or API roots need. */
  async restart(): Promise<void> {
    if (!this.running) return;
    await this.stop();
    await this.start();
  }
}
