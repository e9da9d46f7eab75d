/**
 * External services the workers talk to, as real HTTP servers on 127.0.0.1 (random ports):
 * - a fake Telegram Bot API that speaks the real protocol (token in the path, JSON answers with `ok`,
 *   `error_code`, `description`, `parameters.retry_after`), rejects MarkdownV2 text with an unescaped
 *   reserved character exactly as Telegram does, and delivers updates to a webhook like Telegram;
 * - a webhook receiver that checks `x-cybernetic-signature` itself, with node:crypto (not with our
 *   `verifyWebhookSignature`, so a bug shared by signer and verifier cannot hide).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type FakeBotApi,
  type FakeSendMessageCall,
  startFakeBotApi,
} from "../../../../examples/telegram-bot/src/fake-bot-api.ts";

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

/** The fake Telegram Bot API (shared with examples/telegram-bot, where it is documented). */
export type FakeTelegram = FakeBotApi;
/** One `sendMessage` call as the fake received it. */
export type TelegramCall = FakeSendMessageCall;

/** Starts the fake Telegram Bot API on loopback (a random port). */
export function startFakeTelegram(token?: string): Promise<FakeTelegram> {
  return startFakeBotApi(token === undefined ? {} : { token });
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
