/**
 * A local Slack: the Web API methods vigil uses (chat.postMessage, chat.update,
 * chat.postEphemeral, the files.uploadV2 flow, auth.test, apps.connections.open) validating Block
 * Kit limits the way Slack does (`invalid_blocks` with json-pointer errors), plus a Socket Mode
 * WebSocket server (hello, envelopes, acks) to deliver slash commands and button presses. Faults
 * (429 with Retry-After, 5xx, platform errors, hangs) can be scripted.
 */
import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type WebSocket, WebSocketServer } from "ws";
import { parseBody } from "./telegram-server.js";

export const SLACK_BOT_TOKEN = "xoxb-test-bot-token";
export const SLACK_APP_TOKEN = "xapp-test-app-token";

export type SlackFault =
  | { kind: "429"; retryAfter: number }
  | { kind: "status"; status: number }
  | { kind: "platform"; error: string }
  | { kind: "hang" };

export interface SlackMessage {
  channel: string;
  ts: string;
  text: string;
  blocks: Array<Record<string, unknown>>;
  thread_ts?: string;
  reply_broadcast?: boolean;
  edits: number;
}

export interface SlackFile {
  id: string;
  filename: string;
  title?: string;
  bytes?: Buffer;
  completed: boolean;
  shares: Array<{ channel: string; thread_ts?: string }>;
}

export interface SlackCall {
  method: string;
  params: Record<string, string>;
  ok: boolean;
  error?: string;
  status: number;
}

export interface Ack {
  envelope_id: string;
  payload?: Record<string, unknown>;
  ms: number;
}

class SlackError extends Error {
  constructor(
    readonly error: string,
    readonly errors?: string[],
  ) {
    super(error);
  }
}

export class FakeSlackServer extends EventEmitter {
  readonly calls: SlackCall[] = [];
  readonly messages: SlackMessage[] = [];
  readonly ephemeral: Array<{ channel: string; user: string; text: string; blocks?: unknown }> = [];
  readonly files = new Map<string, SlackFile>();
  /** mrkdwn text with `<` that is not a link or mention: data that escaped escaping. */
  readonly markupLeaks: string[] = [];
  readonly acks: Ack[] = [];
  private faults: Array<{ method?: string; fault: SlackFault }> = [];
  private server: Server | null = null;
  private wss: WebSocketServer | null = null;
  private sockets = new Set<WebSocket>();
  private readonly hanging = new Set<ServerResponse>();
  private seq = 0;
  url = "";

  constructor(readonly channels = new Set<string>(["C0TEAM"])) {
    super();
    this.setMaxListeners(100);
  }

  /** What vigil's config `slack.api_url` should be. */
  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => res.writeHead(500).end(String(err)));
    });
    this.wss = new WebSocketServer({ noServer: true });
    this.server.on("upgrade", (req, socket, head) => {
      if (!(req.url ?? "").startsWith("/link")) return void socket.destroy();
      this.wss!.handleUpgrade(req, socket, head, (ws) => this.onSocket(ws));
    });
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.terminate();
    for (const r of this.hanging) r.destroy();
    this.wss?.close();
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }

  fail(fault: SlackFault, method?: string, times = 1): void {
    for (let i = 0; i < times; i++) this.faults.push(method ? { method, fault } : { fault });
  }

  roots(channel: string): SlackMessage[] {
    return this.messages.filter((m) => m.channel === channel && !m.thread_ts);
  }

  thread(channel: string, ts: string): SlackMessage[] {
    return this.messages.filter((m) => m.channel === channel && m.thread_ts === ts);
  }

  get connected(): number {
    return this.sockets.size;
  }

  waitFor(pred: () => boolean, what = "condition", timeoutMs = 15_000): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!pred()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(
            `fake Slack: timed out waiting for ${what}; calls: ${this.calls.map((c) => `${c.method}:${c.error ?? c.status}`).join(", ")}`,
          ),
        );
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.off("change", check);
      };
      this.on("change", check);
    });
  }

  /** Send an envelope over Socket Mode; resolves with the client's ack. */
  sendEnvelope(type: "slash_commands" | "interactive", payload: Record<string, unknown>): Promise<Ack> {
    const ws = [...this.sockets][0];
    if (!ws) throw new Error("fake Slack: no Socket Mode client connected");
    const envelope_id = randomUUID();
    const sentAt = Date.now();
    return new Promise((resolve) => {
      const onAck = (ack: Ack) => {
        if (ack.envelope_id !== envelope_id) return;
        this.off("ack", onAck);
        resolve({ ...ack, ms: ack.ms - sentAt });
      };
      this.on("ack", onAck);
      ws.send(JSON.stringify({ envelope_id, type, payload, accepts_response_payload: type === "slash_commands" }));
    });
  }

  slashCommand(o: { user: string; channel: string; text: string }): Promise<Ack> {
    return this.sendEnvelope("slash_commands", {
      token: "legacy",
      team_id: "T1",
      channel_id: o.channel,
      channel_name: "team",
      user_id: o.user,
      user_name: o.user.toLowerCase(),
      command: "/vigil",
      text: o.text,
      response_url: `${this.url}/respond/${++this.seq}`,
      trigger_id: `tr${this.seq}`,
    });
  }

  blockAction(o: { user: string; channel: string; ts: string; actionId: string; value: string }): Promise<Ack> {
    return this.sendEnvelope("interactive", {
      type: "block_actions",
      team: { id: "T1" },
      user: { id: o.user, username: o.user.toLowerCase() },
      channel: { id: o.channel, name: "team" },
      container: { type: "message", message_ts: o.ts, channel_id: o.channel },
      message: { ts: o.ts, type: "message" },
      actions: [{ type: "button", action_id: o.actionId, value: o.value, block_id: "b", action_ts: String(Date.now() / 1000) }],
      trigger_id: `tr${++this.seq}`,
      response_url: `${this.url}/respond/${this.seq}`,
    });
  }

  private onSocket(ws: WebSocket): void {
    this.sockets.add(ws);
    ws.on("message", (data) => {
      const msg = JSON.parse(String(data)) as { envelope_id?: string; payload?: Record<string, unknown> };
      if (msg.envelope_id) {
        const ack: Ack = { envelope_id: msg.envelope_id, ms: Date.now(), ...(msg.payload ? { payload: msg.payload } : {}) };
        this.acks.push(ack);
        this.emit("ack", ack);
        this.emit("change");
      }
    });
    ws.on("close", () => {
      this.sockets.delete(ws);
      this.emit("change");
    });
    ws.send(JSON.stringify({ type: "hello", num_connections: 1, connection_info: { app_id: "A1" }, debug_info: { host: "fake" } }));
    this.emit("change");
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const up = /^\/upload\/(F\w+)$/.exec(path);
    if (up) {
      const file = this.files.get(up[1]!);
      if (!file) return void res.writeHead(404).end("not found");
      const { files } = await parseBody(req.headers["content-type"] ?? "", raw);
      file.bytes = Object.values(files)[0] ?? raw;
      res.writeHead(200).end(`OK - ${file.bytes.length}`);
      return;
    }
    const m = /^\/api\/([a-zA-Z.]+)$/.exec(path);
    if (!m) return void res.writeHead(404).end("not found");
    const method = m[1]!;
    const { params } = await parseBody(req.headers["content-type"] ?? "", raw);
    const call: SlackCall = { method, params, ok: true, status: 200 };
    const fi = this.faults.findIndex((f) => !f.method || f.method === method);
    if (fi >= 0 && method !== "apps.connections.open") {
      const { fault } = this.faults.splice(fi, 1)[0]!;
      if (fault.kind === "hang") {
        this.hanging.add(res);
        return this.record({ ...call, ok: false, error: "hang", status: 0 });
      }
      if (fault.kind === "429") {
        res
          .writeHead(429, { "retry-after": String(fault.retryAfter), "content-type": "application/json" })
          .end(JSON.stringify({ ok: false, error: "ratelimited" }));
        return this.record({ ...call, ok: false, error: "ratelimited", status: 429 });
      }
      if (fault.kind === "status") {
        res.writeHead(fault.status).end("upstream trouble");
        return this.record({ ...call, ok: false, status: fault.status });
      }
      json(res, { ok: false, error: fault.error });
      return this.record({ ...call, ok: false, error: fault.error });
    }
    const token = (req.headers.authorization ?? "").replace(/^Bearer /, "") || params.token || "";
    try {
      const result = this.dispatch(method, params, token);
      json(res, { ok: true, ...result });
      this.record(call);
    } catch (err) {
      if (!(err instanceof SlackError)) throw err;
      json(res, {
        ok: false,
        error: err.error,
        ...(err.errors ? { errors: err.errors, response_metadata: { messages: err.errors.map((e) => `[ERROR] ${e}`) } } : {}),
      });
      this.record({ ...call, ok: false, error: err.errors ? `${err.error}: ${err.errors.join("; ")}` : err.error });
    }
  }

  private record(call: SlackCall): void {
    this.calls.push(call);
    this.emit("change");
  }

  private dispatch(method: string, p: Record<string, string>, token: string): Record<string, unknown> {
    if (method === "apps.connections.open") {
      if (token !== SLACK_APP_TOKEN) throw new SlackError(token.startsWith("xoxb-") ? "not_allowed_token_type" : "invalid_auth");
      return { url: `${this.url.replace(/^http/, "ws")}/link?ticket=${randomUUID()}` };
    }
    if (token !== SLACK_BOT_TOKEN) throw new SlackError("invalid_auth");
    switch (method) {
      case "auth.test":
        return { url: "https://fake.slack.com/", team: "fake", user: "vigil", team_id: "T1", user_id: "UBOT", bot_id: "BBOT" };
      case "chat.postMessage": {
        const channel = this.channel(p);
        const { blocks, text } = this.content(p);
        const msg: SlackMessage = { channel, ts: this.ts(), text, blocks, edits: 0 };
        if (p.thread_ts) {
          if (!this.messages.some((x) => x.channel === channel && x.ts === p.thread_ts)) throw new SlackError("thread_not_found");
          msg.thread_ts = p.thread_ts;
          if (p.reply_broadcast === "true") msg.reply_broadcast = true;
        }
        this.messages.push(msg);
        return { channel, ts: msg.ts, message: { text, blocks } };
      }
      case "chat.update": {
        const channel = this.channel(p);
        const msg = this.messages.find((x) => x.channel === channel && x.ts === p.ts);
        if (!msg) throw new SlackError("message_not_found");
        const { blocks, text } = this.content(p);
        Object.assign(msg, { blocks, text, edits: msg.edits + 1 });
        return { channel, ts: msg.ts, text };
      }
      case "chat.postEphemeral": {
        const channel = this.channel(p);
        if (!p.user) throw new SlackError("user_not_in_channel");
        const { blocks, text } = this.content(p);
        this.ephemeral.push({ channel, user: p.user, text, ...(blocks.length ? { blocks } : {}) });
        return { message_ts: this.ts() };
      }
      case "files.getUploadURLExternal": {
        if (!p.filename) throw new SlackError("invalid_arguments");
        if (!(Number(p.length) > 0)) throw new SlackError("invalid_arguments");
        const id = `F${String(++this.seq).padStart(6, "0")}`;
        this.files.set(id, { id, filename: p.filename, completed: false, shares: [] });
        return { upload_url: `${this.url}/upload/${id}`, file_id: id };
      }
      case "files.completeUploadExternal": {
        const list = JSON.parse(p.files ?? "[]") as Array<{ id: string; title?: string }>;
        const out = [];
        for (const f of list) {
          const file = this.files.get(f.id);
          if (!file?.bytes) throw new SlackError("file_not_found");
          file.completed = true;
          if (f.title) file.title = f.title;
          if (p.channel_id) {
            this.channel({ channel: p.channel_id });
            file.shares.push({ channel: p.channel_id, ...(p.thread_ts ? { thread_ts: p.thread_ts } : {}) });
          }
          out.push({ id: file.id, name: file.filename, title: file.title ?? file.filename, mimetype: "image/png" });
        }
        return { files: out };
      }
      default:
        throw new SlackError("unknown_method");
    }
  }

  private channel(p: Record<string, string>): string {
    const c = p.channel ?? "";
    if (!this.channels.has(c)) throw new SlackError("channel_not_found");
    return c;
  }

  private ts(): string {
    return `${1_700_000_000 + ++this.seq}.${String(this.seq).padStart(6, "0")}`;
  }

  private content(p: Record<string, string>): { blocks: Array<Record<string, unknown>>; text: string } {
    const text = p.text ?? "";
    const blocks = p.blocks ? (JSON.parse(p.blocks) as Array<Record<string, unknown>>) : [];
    if (!text && blocks.length === 0) throw new SlackError("no_text");
    if (text.length > 40_000) throw new SlackError("msg_too_long");
    const errors = this.validateBlocks(blocks);
    if (errors.length) throw new SlackError("invalid_blocks", errors);
    return { blocks, text };
  }

  /** Block Kit limits as Slack checks them. */
  validateBlocks(blocks: Array<Record<string, unknown>>): string[] {
    const errs: string[] = [];
    const at = (path: string, msg: string) => errs.push(`${msg} [json-pointer:/blocks${path}]`);
    if (blocks.length > 50) at("", "must contain no more than 50 items");
    const ids = new Set<string>();
    blocks.forEach((b, i) => {
      const id = b.block_id;
      if (typeof id === "string") {
        if (ids.has(id) || id.length > 255) at(`/${i}/block_id`, "duplicate or too long block_id");
        ids.add(id);
      }
      switch (b.type) {
        case "header":
          this.text(b.text, `/${i}/text`, 150, at, "plain_text");
          break;
        case "section": {
          if (!b.text && !b.fields) at(`/${i}`, "must provide text or fields");
          if (b.text) this.text(b.text, `/${i}/text`, 3000, at);
          if (b.fields) {
            const f = b.fields as unknown[];
            if (f.length > 10) at(`/${i}/fields`, "must contain no more than 10 items");
            for (const [k, x] of f.entries()) this.text(x, `/${i}/fields/${k}`, 2000, at);
          }
          break;
        }
        case "context": {
          const els = (b.elements as unknown[]) ?? [];
          if (els.length < 1 || els.length > 10) at(`/${i}/elements`, "must contain between 1 and 10 items");
          for (const [k, x] of els.entries()) this.text(x, `/${i}/elements/${k}`, 3000, at);
          break;
        }
        case "image": {
          const alt = b.alt_text;
          if (typeof alt !== "string" || alt.length < 1 || alt.length > 2000) at(`/${i}/alt_text`, "must be between 1 and 2000 characters");
          const sf = b.slack_file as { id?: string } | undefined;
          if (sf?.id) {
            if (!this.files.get(sf.id)?.completed) at(`/${i}/slack_file`, "invalid slack file");
          } else if (typeof b.image_url !== "string") at(`/${i}`, "must provide image_url or slack_file");
          break;
        }
        case "actions": {
          const els = (b.elements as Array<Record<string, unknown>>) ?? [];
          if (els.length < 1 || els.length > 25) at(`/${i}/elements`, "must contain between 1 and 25 items");
          const actionIds = new Set<string>();
          for (const [k, e] of els.entries()) {
            const p = `/${i}/elements/${k}`;
            if (e.type !== "button") {
              at(p, "unsupported element in the fake");
              continue;
            }
            this.text(e.text, `${p}/text`, 75, at, "plain_text");
            const aid = String(e.action_id ?? "");
            if (!aid || aid.length > 255 || actionIds.has(aid)) at(`${p}/action_id`, "must be unique and at most 255 characters");
            actionIds.add(aid);
            if (typeof e.value === "string" && e.value.length > 2000) at(`${p}/value`, "must be less than 2001 characters");
            if (e.style !== undefined && e.style !== "primary" && e.style !== "danger") at(`${p}/style`, "must be primary or danger");
          }
          break;
        }
        case "divider":
          break;
        default:
          at(`/${i}/type`, `unknown block type ${String(b.type)}`);
      }
    });
    return errs;
  }

  private text(obj: unknown, path: string, max: number, at: (p: string, m: string) => void, only?: "plain_text"): void {
    const o = obj as { type?: string; text?: unknown } | undefined;
    if (!o || (o.type !== "plain_text" && o.type !== "mrkdwn") || (only && o.type !== only))
      return void at(path, `must be a ${only ?? "text"} object`);
    if (typeof o.text !== "string" || o.text.length < 1) return void at(`${path}/text`, "must be at least 1 character");
    if (o.text.length > max) at(`${path}/text`, `must be less than ${max + 1} characters`);
    if (o.type === "mrkdwn") {
      for (const m of o.text.matchAll(/<([^>]*)>?/g)) {
        if (!/^(?:@[UW]\w+|#C\w+|https?:\/\/[^|>]+(?:\|[^>]*)?)$/.test(m[1] ?? "") || !m[0].endsWith(">"))
          this.markupLeaks.push(o.text.slice(0, 200));
      }
      if (/&(?!(?:amp|lt|gt);)/.test(o.text)) this.markupLeaks.push(o.text.slice(0, 200));
    }
  }
}

function json(res: ServerResponse, body: unknown): void {
  res.writeHead(200, { "content-type": "application/json; charset=utf-8" });
  res.end(JSON.stringify(body));
}
