/**
 * External services the workers talk to, as real HTTP servers on 127.0.0.1 (random ports):
 * - a fake Telegram Bot API that speaks the real protocol for `sendMessage` (token in the path, JSON
 *   answers with `ok`, `error_code`, `description`, `parameters.retry_after`), and rejects MarkdownV2
 *   text with an unescaped reserved character exactly as Telegram does;
 * - a webhook receiver that checks `x-cybernetic-signature` itself, with node:crypto (not with our
 *   `verifyWebhookSignature`, so a bug shared by signer and verifier cannot hide).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** One `sendMessage` call as the fake received it. */
export interface TelegramCall {
  chatId: string;
  text: string;
  parseMode: string | undefined;
  /** What the fake answered. */
  status: number;
}

/** The fake Bot API. */
export interface FakeTelegram {
  baseUrl: string;
  token: string;
  calls: TelegramCall[];
  /** The next `count` calls are answered 429 with `parameters.retry_after = seconds`. */
  rateLimitNext(seconds: number, count?: number): void;
  /** The next call is answered with this status and description (e.g. 400 "chat not found"). */
  failNext(status: number, description: string): void;
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

function unescapeMarkdownV2(text: string): string {
  return text.replace(/\\(.)/g, "$1");
}

/** Starts the fake Telegram Bot API. */
export async function startFakeTelegram(token = "123456:TEST-fake-token_abc"): Promise<FakeTelegram> {
  const calls: TelegramCall[] = [];
  const pending: { status: number; body: object }[] = [];
  let messageId = 100;
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    const answer = (status: number, json: object) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(json));
    };
    const match = /^\/bot([^/]+)\/sendMessage$/.exec(req.url ?? "");
    if (req.method !== "POST" || !match)
      return answer(404, { ok: false, error_code: 404, description: "Not Found" });
    if (match[1] !== token) return answer(401, { ok: false, error_code: 401, description: "Unauthorized" });
    let params: { chat_id?: unknown; text?: unknown; parse_mode?: unknown };
    try {
      params = JSON.parse(body) as typeof params;
    } catch {
      return answer(400, { ok: false, error_code: 400, description: "Bad Request: invalid JSON" });
    }
    const call: TelegramCall = {
      chatId: String(params.chat_id),
      text: String(params.text),
      parseMode: typeof params.parse_mode === "string" ? params.parse_mode : undefined,
      status: 200,
    };
    calls.push(call);
    const scripted = pending.shift();
    if (scripted) {
      call.status = scripted.status;
      return answer(scripted.status, scripted.body);
    }
    if (call.parseMode === "MarkdownV2") {
      const problem = markdownV2Problem(call.text);
      if (problem) {
        call.status = 400;
        return answer(400, { ok: false, error_code: 400, description: problem });
      }
    }
    messageId++;
    return answer(200, {
      ok: true,
      result: {
        message_id: messageId,
        date: Math.floor(Date.now() / 1000),
        chat: { id: Number(call.chatId), type: "supergroup", title: "Ops" },
        text: call.parseMode === "MarkdownV2" ? unescapeMarkdownV2(call.text) : call.text,
      },
    });
  });
  const port = await listen(server);
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    token,
    calls,
    rateLimitNext(seconds, count = 1) {
      for (let i = 0; i < count; i++) {
        pending.push({
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
    failNext(status, description) {
      pending.push({ status, body: { ok: false, error_code: status, description } });
    },
    close: () => close(server),
  };
}

/** One delivery as the receiver got it. */
export interface WebhookDelivery {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The signature matched an HMAC-SHA256 of `<timestamp>.<body>` with the receiver's secret. */
  signatureValid: boolean;
}

/** The loopback webhook receiver. */
export interface WebhookReceiver {
  port: number;
  url(path?: string): string;
  deliveries: WebhookDelivery[];
  /** Answer the next request(s) with this status (default 204 otherwise). */
  respondNext(status: number, headers?: Record<string, string>): void;
  close(): Promise<void>;
}

/** Starts a webhook receiver that checks signatures with `secret`. */
export async function startWebhookReceiver(secret: string): Promise<WebhookReceiver> {
  const deliveries: WebhookDelivery[] = [];
  const pending: { status: number; headers?: Record<string, string> }[] = [];
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    const timestamp = String(req.headers["x-cybernetic-timestamp"] ?? "");
    const signature = String(req.headers["x-cybernetic-signature"] ?? "");
    const expected = `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
    const signatureValid =
      signature.length === expected.length && timingSafeEqual(Buffer.from(signature), Buffer.from(expected));
    deliveries.push({ path: req.url ?? "", headers: req.headers, body, signatureValid });
    const next = pending.shift();
    res.writeHead(next?.status ?? 204, next?.headers ?? {});
    res.end();
  });
  const port = await listen(server);
  return {
    port,
    url: (path = "/hook") => `http://127.0.0.1:${port}${path}`,
    deliveries,
    respondNext(status, headers) {
      pending.push(headers ? { status, headers } : { status });
    },
    close: () => close(server),
  };
}

export { until } from "../../../../test/support/until.ts";
