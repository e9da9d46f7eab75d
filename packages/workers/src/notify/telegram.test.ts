/**
 * The Telegram channel against a fake Bot API on loopback speaking the real protocol (token in the path,
 * `ok`/`error_code`/`description`/`parameters.retry_after`, MarkdownV2 entity parsing).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeTelegram, startFakeTelegram } from "../../test/support/fake-servers.ts";
import { NotificationError } from "./notification-error.js";
import { sendTelegramMessage, type TelegramOptions } from "./telegram.js";

let telegram: FakeTelegram;
let options: TelegramOptions;

beforeAll(async () => {
  telegram = await startFakeTelegram();
  options = { token: telegram.token, baseUrl: telegram.baseUrl };
});
afterAll(() => telegram.close());

async function failure(promise: Promise<unknown>): Promise<NotificationError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(NotificationError);
  return error as NotificationError;
}

describe("sendTelegramMessage", () => {
  it("sends MarkdownV2-escaped text that Telegram accepts and renders literally", async () => {
    const before = telegram.calls.length;
    const result = await sendTelegramMessage(options, {
      chatId: "-100123",
      text: "Risk high: line-3 (again)! #ops",
    });
    expect(result).toEqual({ messageId: expect.any(Number), rateLimited: 0 });
    expect(telegram.calls.slice(before)).toEqual([
      {
        chatId: "-100123",
        text: "Risk high: line\\-3 \\(again\\)\\! \\#ops",
        parseMode: "MarkdownV2",
        status: 200,
      },
    ]);
  });

  it("waits out a short 429 retry_after and sends again", async () => {
    telegram.rateLimitNext(1);
    const before = telegram.calls.length;
    const result = await sendTelegramMessage(options, { chatId: "-100123", text: "after the limit" });
    expect(result.rateLimited).toBe(1);
    expect(telegram.calls.slice(before).map((c) => c.status)).toEqual([429, 200]);
  });

  it("hands a long retry_after back as a retryable error carrying the delay", async () => {
    telegram.rateLimitNext(120);
    const error = await failure(sendTelegramMessage(options, { chatId: "-100123", text: "later" }));
    expect(error).toMatchObject({
      code: "rate_limited",
      retryable: true,
      retryAfterSeconds: 120,
      status: 429,
    });
  });

  it("treats other 4xx answers as permanent, with Telegram's description", async () => {
    telegram.failNext(400, "Bad Request: chat not found");
    const error = await failure(sendTelegramMessage(options, { chatId: "-1", text: "x" }));
    expect(error).toMatchObject({ code: "rejected", retryable: false, status: 400 });
    expect(error.message).toContain("chat not found");
  });

  it("treats 5xx as retryable, and never puts the token in the error", async () => {
    telegram.failNext(502, "Bad Gateway");
    const error = await failure(sendTelegramMessage(options, { chatId: "-1", text: "x" }));
    expect(error).toMatchObject({ code: "server_error", retryable: true });
    const wrongToken = await failure(
      sendTelegramMessage({ ...options, token: "999:wrong" }, { chatId: "-1", text: "x" }),
    );
    expect(wrongToken).toMatchObject({ retryable: false, status: 401 });
    expect(wrongToken.message).not.toContain("999:wrong");
    const unreachable = await failure(
      sendTelegramMessage({ ...options, baseUrl: "http://127.0.0.1:9" }, { chatId: "-1", text: "x" }),
    );
    expect(unreachable).toMatchObject({ code: "network", retryable: true });
    expect(unreachable.message).not.toContain(options.token);
  });
});
