/**
 * A fake Telegram Bot API: a real HTTP server that speaks the Bot API's protocol for one bot, for local
 * play and for the platform's tests (they import it from here, so this example cannot rot).
 *
 * - Methods: `getMe`, `sendMessage` (MarkdownV2 checked the way Telegram checks it: an unescaped
 *   reserved character is a 400 "can't parse entities"), `answerCallbackQuery`, `setWebhook`,
 *   `deleteWebhook`, `getWebhookInfo`. The token is in the path (`/bot<token>/<method>`); a wrong token
 *   is 401. Every call is recorded.
 * - Scripted failures: the next call(s) of a method answered 429 with `parameters.retry_after`, or with
 *   any status (a 5xx, a 400 "chat not found").
 * - Playing Telegram: `sendText`, `pressButton`, `deliver` POST real-shaped updates to the webhook set
 *   with `setWebhook`, with its `X-Telegram-Bot-Api-Secret-Token`, one at a time like Telegram does.
 *
 * Run it on its own (`pnpm --filter @cybernetic/example-telegram-bot fake-telegram`), then type lines:
 * each becomes a message from your chat to the bot, and the bot's replies are printed.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** A token that passes the platform's check (`123…:…`, 30+ characters after the colon). */
export const FAKE_BOT_TOKEN = "123456789:FAKE_local_play_token_0123456789abcdef";
/** The fake bot's username (`getMe`). */
export const FAKE_BOT_USERNAME = "cybernetic_fake_bot";

/** One `sendMessage` call, as the fake received it (the text is as sent: MarkdownV2-escaped). */
export interface FakeSendMessageCall {
  chatId: string;
  text: string;
  parseMode: string | undefined;
  /** What the fake answered. */
  status: number;
}

/** Any Bot API call, as the fake received it. */
export interface FakeBotApiRequest {
  method: string;
  params: Record<string, unknown>;
  status: number;
}

/** A message the bot sent and Telegram accepted, as a person would read it. */
export interface FakeChatMessage {
  chatId: string;
  /** The text as displayed (MarkdownV2 escapes removed). */
  text: string;
  messageId: number;
  replyToMessageId: number | undefined;
}

/** The webhook as `setWebhook` left it. */
export interface FakeWebhook {
  url: string;
  secretToken: string | undefined;
  allowedUpdates: string[] | undefined;
  maxConnections: number | undefined;
}

/** What delivering an update got back from the webhook. */
export interface FakeDelivery {
  updateId: number;
  status: number;
  body: string;
}

/** Options of `sendText` and `pressButton`. */
export interface FakeUserOptions {
  /** `private` for a positive chat id, `supergroup` for a negative one, unless given. */
  chatType?: string;
  from?: { id: number; username?: string; first_name?: string };
}

/** The running fake. */
export interface FakeBotApi {
  baseUrl: string;
  token: string;
  username: string;
  /** `sendMessage` calls, in order. */
  calls: FakeSendMessageCall[];
  /** Every call, in order. */
  requests: FakeBotApiRequest[];
  /** Messages the bot sent successfully, in order. */
  messages: FakeChatMessage[];
  /** Set by `setWebhook`, cleared by `deleteWebhook`. */
  webhook: FakeWebhook | undefined;
  /** Updates delivered to the webhook, in order. */
  delivered: Record<string, unknown>[];
  /** The next `count` calls of `method` (default `sendMessage`) are answered 429 with `retry_after`. */
  rateLimitNext(seconds: number, count?: number, method?: string): void;
  /** The next call of `method` (default `sendMessage`) is answered with this status and description. */
  failNext(status: number, description: string, method?: string): void;
  /** The bot's messages in one chat, as displayed. */
  messagesTo(chatId: number | string): string[];
  /** Delivers an update to the webhook (as Telegram would), with the secret token. */
  deliver(update: Record<string, unknown>): Promise<FakeDelivery>;
  /** A person writes `text` in chat `chatId`: delivers a `message` update. */
  sendText(chatId: number, text: string, options?: FakeUserOptions): Promise<FakeDelivery>;
  /** A person presses an inline button carrying `data` under message `messageId` of chat `chatId`. */
  pressButton(
    chatId: number,
    data: string,
    messageId?: number,
    options?: FakeUserOptions,
  ): Promise<FakeDelivery>;
  /** The next `update_id` the fake will use. */
  nextUpdateId(): number;
  close(): Promise<void>;
}

// Characters MarkdownV2 reserves; each must be preceded by a backslash.
const RESERVED = new Set("_*[]()~`>#+-=|{}.!".split(""));

/** Telegram's check: every reserved character escaped, and a backslash always escapes something. */
function markdownV2Problem(text: string): string | null {
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === "\\") {
      i++;
      continue;
    }
    if (RESERVED.has(ch))
      return `Bad Request: can't parse entities: Character '${ch}' is reserved and must be escaped with the preceding '\\'`;
  }
  return null;
}

const unescapeMarkdownV2 = (text: string) => text.replace(/\\(.)/g, "$1");

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Options of `startFakeBotApi`. */
export interface FakeBotApiOptions {
  token?: string;
  username?: string;
  /** Default 0: a free port. */
  port?: number;
  host?: string;
}

/**
 * Starts the fake Bot API on loopback.
 *
 * @example
 * ```ts
 * const telegram = await startFakeBotApi();
 * // TELEGRAM_API_BASE_URL=telegram.baseUrl, TELEGRAM_BOT_TOKEN=telegram.token
 * await telegram.sendText(42, "/status");
 * ```
 */
export async function startFakeBotApi(options: FakeBotApiOptions = {}): Promise<FakeBotApi> {
  const token = options.token ?? FAKE_BOT_TOKEN;
  const username = options.username ?? FAKE_BOT_USERNAME;
  const calls: FakeSendMessageCall[] = [];
  const requests: FakeBotApiRequest[] = [];
  const messages: FakeChatMessage[] = [];
  const delivered: Record<string, unknown>[] = [];
  const scripted = new Map<string, { status: number; body: object }[]>();
  let webhook: FakeWebhook | undefined;
  let messageId = 100;
  let updateId = 500_000;
  let userMessageId = 1;
  // Telegram delivers updates one at a time; so does the fake.
  let delivering: Promise<unknown> = Promise.resolve();

  const server: Server = createServer(async (req, res) => {
    const raw = await readBody(req);
    const answer = (status: number, json: object) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(json));
    };
    const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(req.url ?? "");
    if (req.method !== "POST" || !match)
      return answer(404, { ok: false, error_code: 404, description: "Not Found" });
    const [, presented, method = ""] = match;
    if (presented !== token) return answer(401, { ok: false, error_code: 401, description: "Unauthorized" });
    let params: Record<string, unknown>;
    try {
      params = raw === "" ? {} : (JSON.parse(raw) as Record<string, unknown>);
    } catch {
      return answer(400, { ok: false, error_code: 400, description: "Bad Request: invalid JSON" });
    }
    const request: FakeBotApiRequest = { method, params, status: 200 };
    requests.push(request);
    const reply = (status: number, json: object) => {
      request.status = status;
      answer(status, json);
    };
    const call: FakeSendMessageCall | undefined =
      method === "sendMessage"
        ? {
            chatId: String(params.chat_id),
            text: String(params.text),
            parseMode: typeof params.parse_mode === "string" ? params.parse_mode : undefined,
            status: 200,
          }
        : undefined;
    if (call) calls.push(call);
    const next = scripted.get(method)?.shift();
    if (next) {
      if (call) call.status = next.status;
      return reply(next.status, next.body);
    }
    switch (method) {
      case "getMe":
        return reply(200, {
          ok: true,
          result: { id: Number(token.split(":")[0]), is_bot: true, first_name: "Cybernetic", username },
        });
      case "sendMessage": {
        const c = call as FakeSendMessageCall;
        if (!params.chat_id || typeof params.text !== "string" || params.text === "") {
          c.status = 400;
          return reply(400, {
            ok: false,
            error_code: 400,
            description: "Bad Request: message text is empty",
          });
        }
        if (c.parseMode === "MarkdownV2") {
          const problem = markdownV2Problem(c.text);
          if (problem) {
            c.status = 400;
            return reply(400, { ok: false, error_code: 400, description: problem });
          }
        }
        messageId++;
        const text = c.parseMode === "MarkdownV2" ? unescapeMarkdownV2(c.text) : c.text;
        const replyTo = (params.reply_parameters as { message_id?: number } | undefined)?.message_id;
        messages.push({ chatId: c.chatId, text, messageId, replyToMessageId: replyTo });
        return reply(200, {
          ok: true,
          result: {
            message_id: messageId,
            date: Math.floor(Date.now() / 1000),
            chat: { id: Number(c.chatId), type: Number(c.chatId) < 0 ? "supergroup" : "private" },
            text,
          },
        });
      }
      case "answerCallbackQuery":
        if (typeof params.callback_query_id !== "string")
          return reply(400, { ok: false, error_code: 400, description: "Bad Request: query is too old" });
        return reply(200, { ok: true, result: true });
      case "setWebhook": {
        const url = typeof params.url === "string" ? params.url : "";
        if (url === "") {
          webhook = undefined;
          return reply(200, { ok: true, result: true, description: "Webhook was deleted" });
        }
        if (!/^https?:\/\//.test(url))
          return reply(400, {
            ok: false,
            error_code: 400,
            description: "Bad Request: bad webhook: invalid URL",
          });
        webhook = {
          url,
          secretToken: typeof params.secret_token === "string" ? params.secret_token : undefined,
          allowedUpdates: Array.isArray(params.allowed_updates)
            ? (params.allowed_updates as string[])
            : undefined,
          maxConnections: typeof params.max_connections === "number" ? params.max_connections : undefined,
        };
        return reply(200, { ok: true, result: true, description: "Webhook was set" });
      }
      case "deleteWebhook":
        webhook = undefined;
        return reply(200, { ok: true, result: true, description: "Webhook was deleted" });
      case "getWebhookInfo":
        return reply(200, {
          ok: true,
          result: {
            url: webhook?.url ?? "",
            has_custom_certificate: false,
            pending_update_count: 0,
            ...(webhook?.allowedUpdates ? { allowed_updates: webhook.allowedUpdates } : {}),
            ...(webhook?.maxConnections ? { max_connections: webhook.maxConnections } : {}),
          },
        });
      default:
        return reply(404, { ok: false, error_code: 404, description: "Not Found: method not found" });
    }
  });
  await new Promise<void>((resolve) =>
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve),
  );
  const { port, address } = server.address() as AddressInfo;
  const script = (method: string, entry: { status: number; body: object }) => {
    const list = scripted.get(method) ?? [];
    list.push(entry);
    scripted.set(method, list);
  };

  const deliver = (update: Record<string, unknown>): Promise<FakeDelivery> => {
    const run = delivering.then(async () => {
      if (!webhook)
        throw new Error("no webhook is set: call setWebhook first (cybernetic telegram set-webhook)");
      delivered.push(update);
      const response = await fetch(webhook.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(webhook.secretToken ? { "x-telegram-bot-api-secret-token": webhook.secretToken } : {}),
        },
        body: JSON.stringify(update),
      });
      return { updateId: Number(update.update_id), status: response.status, body: await response.text() };
    });
    delivering = run.catch(() => {});
    return run;
  };
  const chatOf = (chatId: number, chatType?: string) => ({
    id: chatId,
    type: chatType ?? (chatId < 0 ? "supergroup" : "private"),
    ...(chatId < 0 ? { title: "Ops" } : { first_name: "Ada" }),
  });
  const userOf = (chatId: number, from?: FakeUserOptions["from"]) =>
    from ?? { id: chatId > 0 ? chatId : 7, is_bot: false, first_name: "Ada", username: "ada" };

  return {
    baseUrl: `http://${address.includes(":") ? `[${address}]` : address}:${port}`,
    token,
    username,
    calls,
    requests,
    messages,
    delivered,
    get webhook() {
      return webhook;
    },
    rateLimitNext(seconds, count = 1, method = "sendMessage") {
      for (let i = 0; i < count; i++) {
        script(method, {
          status: 429,
          body: {
            ok: false,
            error_code: 429,
            description: `Too Many Requests: retry after ${seconds}`,
            parameters: { retry_after: seconds },
          },
        });
      }
    },
    failNext(status, description, method = "sendMessage") {
      script(method, { status, body: { ok: false, error_code: status, description } });
    },
    messagesTo(chatId) {
      return messages.filter((m) => m.chatId === String(chatId)).map((m) => m.text);
    },
    deliver,
    sendText(chatId, text, userOptions = {}) {
      const entities = text.startsWith("/")
        ? [{ type: "bot_command", offset: 0, length: text.split(/\s/)[0]?.length ?? 1 }]
        : undefined;
      return deliver({
        update_id: updateId++,
        message: {
          message_id: userMessageId++,
          date: Math.floor(Date.now() / 1000),
          chat: chatOf(chatId, userOptions.chatType),
          from: userOf(chatId, userOptions.from),
          text,
          ...(entities ? { entities } : {}),
        },
      });
    },
    pressButton(chatId, data, underMessageId = messageId, userOptions = {}) {
      return deliver({
        update_id: updateId++,
        callback_query: {
          id: `cbq-${updateId}`,
          from: userOf(chatId, userOptions.from),
          chat_instance: "fake",
          message: {
            message_id: underMessageId,
            date: Math.floor(Date.now() / 1000),
            chat: chatOf(chatId, userOptions.chatType),
          },
          data,
        },
      });
    },
    nextUpdateId: () => updateId,
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Run on its own: the fake on FAKE_TELEGRAM_PORT (default 8081), as the bot FAKE_TELEGRAM_TOKEN (default
 * `FAKE_BOT_TOKEN`); every line typed becomes a message from chat FAKE_TELEGRAM_CHAT (default 1001) to
 * the bot (`!press <data>` presses a button), and the bot's messages are printed as they arrive.
 */
async function main(): Promise<void> {
  const port = Number(process.env.FAKE_TELEGRAM_PORT ?? 8081);
  const chatId = Number(process.env.FAKE_TELEGRAM_CHAT ?? 1001);
  const fake = await startFakeBotApi({
    port,
    ...(process.env.FAKE_TELEGRAM_TOKEN ? { token: process.env.FAKE_TELEGRAM_TOKEN } : {}),
  });
  process.stdout.write(
    [
      `fake Telegram Bot API on ${fake.baseUrl}`,
      `  TELEGRAM_API_BASE_URL=${fake.baseUrl}`,
      `  bot token: ${fake.token}`,
      `  you are chat ${chatId}; set the webhook (cybernetic telegram set-webhook), then type a message.`,
      "",
    ].join("\n"),
  );
  let shown = 0;
  setInterval(() => {
    for (; shown < fake.messages.length; shown++) {
      const m = fake.messages[shown] as FakeChatMessage;
      process.stdout.write(`\n🤖 [chat ${m.chatId}] ${m.text.split("\n").join("\n   ")}\n> `);
    }
  }, 100).unref();
  const lines = createInterface({ input: process.stdin, output: process.stdout, prompt: "> " });
  lines.prompt();
  lines.on("line", async (line) => {
    const text = line.trim();
    if (text !== "") {
      try {
        const result = text.startsWith("!press ")
          ? await fake.pressButton(chatId, text.slice(7))
          : await fake.sendText(chatId, text);
        if (result.status !== 200)
          process.stdout.write(`webhook answered ${result.status}: ${result.body}\n`);
      } catch (error) {
        process.stdout.write(`${(error as Error).message}\n`);
      }
    }
    lines.prompt();
  });
  lines.on("close", () => {
    void fake.close().then(() => process.exit(0));
  });
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await main();
