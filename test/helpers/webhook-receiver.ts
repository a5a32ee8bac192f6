/** A local HTTP receiver for webhook deliveries that can fail on purpose: 500s, 429s, hangs, resets. */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export type Behaviour =
  | { kind: "ok" }
  | { kind: "status"; status: number; retryAfter?: string; body?: string }
  | { kind: "redirect"; status: number; location: string }
  | { kind: "hang" }
  | { kind: "reset" };

export interface Received {
  body: Record<string, unknown>;
  headers: IncomingHttpHeaders;
  at: number;
}

export class WebhookReceiver {
  readonly received: Received[] = [];
  /** Answers for the next requests, in order; when empty, 200. */
  readonly script: Behaviour[] = [];
  attempts = 0;
  /** Requests held open by a `hang` and not yet closed by the client. */
  hanging = 0;
  private server: Server | null = null;
  private waiters: Array<() => void> = [];
  url = "";

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      let raw = "";
      req.on("data", (c: Buffer) => {
        raw += c.toString("utf8");
      });
      req.on("end", () => {
        this.attempts++;
        const b = this.script.shift() ?? { kind: "ok" };
        if (b.kind === "hang") {
          // never answer: the client must time out
          this.hanging++;
          res.on("close", () => this.hanging--);
          return;
        }
        if (b.kind === "reset") {
          req.socket.destroy();
          return;
        }
        if (b.kind === "redirect") {
          res.writeHead(b.status, { location: b.location });
          res.end();
          return;
        }
        if (b.kind === "status") {
          const headers: Record<string, string> = { "content-type": "application/json" };
          if (b.retryAfter !== undefined) headers["retry-after"] = b.retryAfter;
          res.writeHead(b.status, headers);
          res.end(b.body ?? JSON.stringify({ error: `status ${b.status}` }));
          return;
        }
        this.received.push({ body: JSON.parse(raw) as Record<string, unknown>, headers: req.headers, at: Date.now() });
        res.writeHead(200, { "content-type": "application/json" });
        res.end("{}");
        for (const w of this.waiters.splice(0)) w();
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
    return this;
  }

  /** Resolves once at least n deliveries were accepted. */
  async waitFor(n: number, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < n) {
      if (Date.now() > deadline) throw new Error(`only ${this.received.length} of ${n} webhooks arrived`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200).unref();
      });
    }
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }
}
