/**
 * A local Telegram Bot API server speaking the real wire protocol (`/bot<token>/<method>`,
 * urlencoded, JSON or multipart bodies, `{ok, result}` envelopes) and validating what Telegram
 * validates: HTML entities, text and caption limits, callback data size, edits of unknown
 * messages, "message is not modified". It can be scripted to answer 429 with retry_after, 5xx,
 * hang or reset, and updates (messages, button presses) can be injected into getUpdates.
 */
import { EventEmitter } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { parseTelegramHtml } from "./telegram-html-parse.js";

export type Fault = { kind: "429"; retryAfter: number } | { kind: "status"; status: number } | { kind: "hang" } | { kind: "reset" };

export interface FakeButton {
  text: string;
  callback_data?: string;
}

export interface FakeMessage {
  message_id: number;
  chat_id: string;
  kind: "text" | "photo";
  /** The raw text or caption as sent (HTML when parse_mode was HTML). */
  body: string;
  /** The visible text after entity parsing. */
  plain: string;
  parseMode?: string;
  keyboard: FakeButton[][];
  replyTo?: number;
  photo?: Buffer;
  edits: number;
  from_bot: boolean;
}

export interface Call {
  method: string;
  params: Record<string, string>;
  files: Record<string, Buffer>;
  status: number;
  description?: string;
}

export interface InjectedUser {
  id: number;
  username?: string;
  first_name?: string;
}

export const FAKE_TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuv";

class BadRequest extends Error {
  constructor(
    readonly description: string,
    readonly code = 400,
  ) {
    super(description);
  }
}

export class FakeTelegramServer extends EventEmitter {
  readonly calls: Call[] = [];
  readonly messages = new Map<string, FakeMessage>();
  readonly answered = new Map<string, { text?: string; show_alert?: boolean }>();
  commands: Array<{ command: string; description: string }> = [];
  lastAllowedUpdates: string[] | null = null;
  /** Faults for the next calls (getUpdates is never faulted unless a fault names it). */
  private faults: Array<{ method?: string; fault: Fault }> = [];
  private updates: Array<{ update_id: number } & Record<string, unknown>> = [];
  private nextUpdateId = 1;
  private nextMessageId = 100;
  private nextCallbackId = 1;
  private server: Server | null = null;
  private readonly hanging = new Set<ServerResponse>();
  url = "";

  constructor(readonly token = FAKE_TOKEN) {
    super();
    this.setMaxListeners(100);
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        res.writeHead(500).end(String(err));
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const r of this.hanging) r.destroy();
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }

  fail(fault: Fault, method?: string, times = 1): void {
    for (let i = 0; i < times; i++) this.faults.push(method ? { method, fault } : { fault });
  }

  /** Messages the bot sent to a chat, in order. */
  sent(chatId: string): FakeMessage[] {
    return [...this.messages.values()].filter((m) => m.chat_id === chatId && m.from_bot).sort((a, b) => a.message_id - b.message_id);
  }

  message(chatId: string, messageId: number): FakeMessage | undefined {
    return this.messages.get(`${chatId}:${messageId}`);
  }

  /** A user writes in a chat (a command, usually). */
  injectMessage(opts: { chatId: string; from: InjectedUser; text: string; chatType?: string }): number {
    const message_id = this.nextMessageId++;
    const chat = { id: Number(opts.chatId), type: opts.chatType ?? (opts.chatId.startsWith("-") ? "supergroup" : "private") };
    const entities = opts.text.startsWith("/") ? [{ type: "bot_command", offset: 0, length: opts.text.split(/\s/)[0]!.length }] : undefined;
    this.pushUpdate({
      message: {
        message_id,
        date: now(),
        chat,
        from: { is_bot: false, first_name: "U", ...opts.from },
        text: opts.text,
        ...(entities ? { entities } : {}),
      },
    });
    return message_id;
  }

  /** A user presses an inline button under a message; returns the callback query id. */
  injectCallback(opts: { chatId: string; messageId: number; from: InjectedUser; data: string }): string {
    const id = `cb${this.nextCallbackId++}`;
    const chat = { id: Number(opts.chatId), type: opts.chatId.startsWith("-") ? "supergroup" : "private" };
    this.pushUpdate({
      callback_query: {
        id,
        from: { is_bot: false, first_name: "U", ...opts.from },
        chat_instance: "ci",
        data: opts.data,
        message: { message_id: opts.messageId, date: now(), chat },
      },
    });
    return id;
  }

  private pushUpdate(u: Record<string, unknown>): void {
    this.updates.push({ update_id: this.nextUpdateId++, ...u });
    this.emit("update");
  }

  /** Resolves once `pred` holds, re-checked after every API call, injected update and started poll. */
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
          new Error(`fake Telegram: timed out waiting for ${what}; calls: ${this.calls.map((c) => `${c.method}:${c.status}`).join(", ")}`),
        );
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.off("call", check);
        this.off("update", check);
        this.off("poll", check);
      };
      this.on("call", check);
      this.on("update", check);
      this.on("poll", check);
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const m = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(new URL(req.url ?? "/", "http://x").pathname);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (!m) return void reply(res, 404, { ok: false, error_code: 404, description: "Not Found" });
    const [, token, method] = m as unknown as [string, string, string];
    const { params, files } = await parseBody(req.headers["content-type"] ?? "", Buffer.concat(chunks));
    const call: Call = { method, params, files, status: 200 };
    const faultIdx = this.faults.findIndex((f) => (f.method ? f.method === method : method !== "getUpdates"));
    if (faultIdx >= 0) {
      const { fault } = this.faults.splice(faultIdx, 1)[0]!;
      this.record(call, fault.kind === "429" ? 429 : fault.kind === "status" ? fault.status : 0, fault.kind);
      if (fault.kind === "hang") {
        this.hanging.add(res);
        return;
      }
      if (fault.kind === "reset") return void req.socket.destroy();
      if (fault.kind === "429") {
        return void reply(res, 429, {
          ok: false,
          error_code: 429,
          description: `Too Many Requests: retry after ${fault.retryAfter}`,
          parameters: { retry_after: fault.retryAfter },
        });
      }
      return void reply(res, fault.status, { ok: false, error_code: fault.status, description: "Internal Server Error" });
    }
    if (token !== this.token) {
      this.record(call, 401, "Unauthorized");
      return void reply(res, 401, { ok: false, error_code: 401, description: "Unauthorized" });
    }
    if (method === "getUpdates") {
      const result = await this.getUpdates(params, req);
      this.record(call, 200);
      return void reply(res, 200, { ok: true, result });
    }
    try {
      const result = this.dispatch(method, params, files);
      this.record(call, 200);
      reply(res, 200, { ok: true, result });
    } catch (err) {
      if (!(err instanceof BadRequest)) throw err;
      this.record(call, err.code, err.description);
      reply(res, err.code, { ok: false, error_code: err.code, description: err.description });
    }
  }

  private record(call: Call, status: number, description?: string): void {
    call.status = status;
    if (description !== undefined) call.description = description;
    this.calls.push(call);
    this.emit("call", call);
  }

  private async getUpdates(params: Record<string, string>, req: IncomingMessage): Promise<unknown[]> {
    const offset = Number(params.offset ?? 0);
    if (params.allowed_updates) this.lastAllowedUpdates = JSON.parse(params.allowed_updates) as string[];
    this.emit("poll");
    // A getUpdates offset confirms every update before it.
    if (offset > 0) this.updates = this.updates.filter((u) => u.update_id >= offset);
    const timeoutMs = Math.min(Number(params.timeout ?? 0), 5) * 1000;
    if (this.updates.length === 0 && timeoutMs > 0) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          this.off("update", done);
          req.off("close", done);
          resolve();
        };
        const t = setTimeout(done, timeoutMs);
        this.on("update", done);
        req.on("close", done);
      });
    }
    const allowed = this.lastAllowedUpdates;
    return this.updates
      .filter((u) => !allowed || allowed.length === 0 || allowed.some((k) => k in u))
      .slice(0, Number(params.limit ?? 100));
  }

  private dispatch(method: string, p: Record<string, string>, files: Record<string, Buffer>): unknown {
    switch (method) {
      case "getMe":
        return { id: 4242, is_bot: true, first_name: "vigil", username: "vigil_test_bot" };
      case "deleteWebhook":
        return true;
      case "setMyCommands": {
        const cmds = JSON.parse(required(p, "commands")) as Array<{ command: string; description: string }>;
        for (const c of cmds) {
          if (!/^[a-z0-9_]{1,32}$/.test(c.command)) throw new BadRequest("Bad Request: BOT_COMMAND_INVALID");
          if (!c.description || c.description.length > 256) throw new BadRequest("Bad Request: BOT_COMMAND_DESCRIPTION_INVALID");
        }
        this.commands = cmds;
        return true;
      }
      case "sendMessage": {
        const text = required(p, "text", "Bad Request: message text is empty");
        const plain = this.checkText(text, p.parse_mode, 4096, "Bad Request: message is too long");
        return this.store({ kind: "text", chat_id: required(p, "chat_id"), body: text, plain, p });
      }
      case "sendPhoto": {
        const photo = files.photo;
        if (!photo) throw new BadRequest("Bad Request: there is no photo in the request");
        if (photo.subarray(0, 8).toString("hex") !== "89504e470d0a1a0a") throw new BadRequest("Bad Request: IMAGE_PROCESS_FAILED");
        const caption = p.caption ?? "";
        const plain = caption ? this.checkText(caption, p.parse_mode, 1024, "Bad Request: message caption is too long") : "";
        return this.store({ kind: "photo", chat_id: required(p, "chat_id"), body: caption, plain, p, photo });
      }
      case "editMessageText":
      case "editMessageCaption": {
        const msg = this.messages.get(`${required(p, "chat_id")}:${required(p, "message_id")}`);
        if (!msg) throw new BadRequest("Bad Request: message to edit not found");
        const isText = method === "editMessageText";
        if (isText && msg.kind !== "text") throw new BadRequest("Bad Request: there is no text in the message to edit");
        if (!isText && msg.kind !== "photo") throw new BadRequest("Bad Request: there is no caption in the message to edit");
        const body = isText ? required(p, "text", "Bad Request: text must be non-empty") : (p.caption ?? "");
        const plain = isText
          ? this.checkText(body, p.parse_mode, 4096, "Bad Request: MESSAGE_TOO_LONG")
          : this.checkText(body, p.parse_mode, 1024, "Bad Request: message caption is too long");
        const keyboard = parseKeyboard(p.reply_markup);
        if (body === msg.body && JSON.stringify(keyboard) === JSON.stringify(msg.keyboard)) {
          throw new BadRequest(
            "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
          );
        }
        Object.assign(msg, { body, plain, keyboard, edits: msg.edits + 1, parseMode: p.parse_mode });
        return wire(msg);
      }
      case "answerCallbackQuery": {
        const id = required(p, "callback_query_id");
        if (!/^cb\d+$/.test(id) || this.answered.has(id)) {
          throw new BadRequest("Bad Request: query is too old and response timeout expired or query ID is invalid");
        }
        if ((p.text ?? "").length > 200) throw new BadRequest("Bad Request: MESSAGE_TOO_LONG");
        this.answered.set(id, { ...(p.text !== undefined ? { text: p.text } : {}), show_alert: p.show_alert === "true" });
        return true;
      }
      default:
        throw new BadRequest(`Not Found: method ${method} is not implemented by the fake`, 404);
    }
  }

  private checkText(text: string, parseMode: string | undefined, limit: number, tooLong: string): string {
    let plain = text;
    if (parseMode) {
      if (parseMode !== "HTML") throw new BadRequest(`Bad Request: unsupported parse_mode ${parseMode} in the fake`);
      const parsed = parseTelegramHtml(text);
      if ("error" in parsed)
        throw new BadRequest(`Bad Request: can't parse entities: ${parsed.error.replace(/^Can't parse entities: /, "")}`);
      plain = parsed.text;
    }
    if (plain.trim().length === 0) throw new BadRequest("Bad Request: message text is empty");
    if (plain.length > limit) throw new BadRequest(tooLong);
    return plain;
  }

  private store(o: {
    kind: "text" | "photo";
    chat_id: string;
    body: string;
    plain: string;
    p: Record<string, string>;
    photo?: Buffer;
  }): unknown {
    const keyboard = parseKeyboard(o.p.reply_markup);
    const reply = o.p.reply_parameters ? (JSON.parse(o.p.reply_parameters) as { message_id?: number }).message_id : undefined;
    const msg: FakeMessage = {
      message_id: this.nextMessageId++,
      chat_id: o.chat_id,
      kind: o.kind,
      body: o.body,
      plain: o.plain,
      keyboard,
      edits: 0,
      from_bot: true,
      ...(o.p.parse_mode ? { parseMode: o.p.parse_mode } : {}),
      ...(reply !== undefined ? { replyTo: reply } : {}),
      ...(o.photo ? { photo: o.photo } : {}),
    };
    this.messages.set(`${msg.chat_id}:${msg.message_id}`, msg);
    return wire(msg);
  }
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}

function required(p: Record<string, string>, key: string, message = `Bad Request: ${key} is required`): string {
  const v = p[key];
  if (v === undefined || v === "") throw new BadRequest(message);
  return v;
}

function parseKeyboard(raw: string | undefined): FakeButton[][] {
  if (!raw) return [];
  let markup: { inline_keyboard?: unknown };
  try {
    markup = JSON.parse(raw) as { inline_keyboard?: unknown };
  } catch {
    throw new BadRequest("Bad Request: can't parse reply keyboard markup JSON object");
  }
  if (!Array.isArray(markup.inline_keyboard)) throw new BadRequest("Bad Request: inline keyboard expected");
  const rows = markup.inline_keyboard as unknown[];
  let count = 0;
  for (const row of rows) {
    if (!Array.isArray(row)) throw new BadRequest("Bad Request: inline keyboard rows must be arrays");
    for (const b of row as FakeButton[]) {
      count++;
      if (!b.text) throw new BadRequest("Bad Request: text buttons are unallowed in the inline keyboard");
      const bytes = Buffer.byteLength(b.callback_data ?? "", "utf8");
      if (b.callback_data === undefined || bytes < 1 || bytes > 64) throw new BadRequest("Bad Request: BUTTON_DATA_INVALID");
    }
  }
  if (count > 100) throw new BadRequest("Bad Request: reply markup is too long");
  return rows as FakeButton[][];
}

function wire(m: FakeMessage): unknown {
  const chat = { id: Number(m.chat_id), type: m.chat_id.startsWith("-") ? "supergroup" : "private" };
  return {
    message_id: m.message_id,
    date: now(),
    chat,
    from: { id: 4242, is_bot: true, first_name: "vigil" },
    ...(m.kind === "text"
      ? { text: m.plain }
      : { caption: m.plain, photo: [{ file_id: `ph${m.message_id}`, file_unique_id: `u${m.message_id}`, width: 1200, height: 540 }] }),
    ...(m.keyboard.length ? { reply_markup: { inline_keyboard: m.keyboard } } : {}),
  };
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

/** Bodies as Telegram accepts them: urlencoded, JSON or multipart (files by field name). */
export async function parseBody(
  contentType: string,
  raw: Buffer,
): Promise<{ params: Record<string, string>; files: Record<string, Buffer> }> {
  const params: Record<string, string> = {};
  const files: Record<string, Buffer> = {};
  if (contentType.startsWith("multipart/form-data")) {
    const form = await new Response(raw, { headers: { "content-type": contentType } }).formData();
    for (const [k, v] of form.entries()) {
      if (typeof v === "string") params[k] = v;
      else files[k] = Buffer.from(await v.arrayBuffer());
    }
  } else if (contentType.startsWith("application/json")) {
    const obj = JSON.parse(raw.toString("utf8") || "{}") as Record<string, unknown>;
    for (const [k, v] of Object.entries(obj)) params[k] = typeof v === "string" ? v : JSON.stringify(v);
  } else {
    for (const [k, v] of new URLSearchParams(raw.toString("utf8"))) params[k] = v;
  }
  return { params, files };
}
