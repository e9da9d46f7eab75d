/**
 * The Telegram channel: Bot API calls (`sendMessage` with MarkdownV2-escaped text, `answerCallbackQuery`,
 * `getMe`, `setWebhook`…). The base URL is the operator's configuration (the real API, a local Bot API
 * server, or a fake in tests), so it is not subject to the webhook channel's SSRF guard. The token
 * appears in the request path only, never in an error message or a log line.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { escapeMarkdownV2Truncated } from "./escape-markdown-v2.js";
import { NotificationError } from "./notification-error.js";

/** How to reach the Bot API for one bot. */
export interface TelegramBotApiOptions {
  /** The bot token from @BotFather. */
  token: string;
  /** Bot API root. Default `https://api.telegram.org`. */
  baseUrl?: string;
  /** The `fetch` to use; default the global one. */
  fetch?: typeof fetch;
  /** Deadline of one request. Default 15 000 ms. */
  timeoutMs?: number;
}

/** Options of the Telegram channel (worker dependencies `telegram`). */
export interface TelegramOptions extends TelegramBotApiOptions {
  /**
   * A 429 asking to wait at most this long is waited out inside the job (then the message is sent
   * again); a longer wait is handed back as a deferred retry. Default 30 s.
   */
  maxInlineRetryAfterSeconds?: number;
  /** At most this many 429s are waited out inside one job. Default 3. */
  maxInlineRetries?: number;
}

/** One message to send. */
export interface TelegramMessage {
  /** A chat id (`-100…` for groups and channels) or `@channelusername`. */
  chatId: string;
  /** Plain text: escaped for MarkdownV2 here, and cut to Telegram's 4 096 characters. */
  text: string;
  /** Sent as a reply to this message of the chat (still sent when that message is gone). */
  replyToMessageId?: number;
  signal?: AbortSignal;
}

/** What Telegram answered. */
export interface TelegramResult {
  messageId: number | null;
  /** How many 429s were waited out before it went through. */
  rateLimited: number;
}

interface BotApiAnswer {
  ok?: boolean;
  description?: string;
  error_code?: number;
  parameters?: { retry_after?: number };
  result?: unknown;
}

/**
 * Calls one Bot API method: `POST {baseUrl}/bot{token}/{method}` with a JSON body, and returns its
 * `result`. Failures are `NotificationError`s: a 429 is `rate_limited` (retryable, with
 * `retryAfterSeconds` from `parameters.retry_after`), another 4xx `rejected` (permanent), a 5xx
 * `server_error` and a network failure or timeout retryable. Error messages quote Telegram's
 * `description`, never the URL (it holds the token).
 *
 * @example
 * ```ts
 * const me = await callTelegramBotApi<{ username: string }>({ token }, "getMe", {});
 * ```
 */
export async function callTelegramBotApi<T = unknown>(
  options: TelegramBotApiOptions,
  method: string,
  params: Record<string, unknown>,
  signal?: AbortSignal,
): Promise<T> {
  const doFetch = options.fetch ?? globalThis.fetch;
  const base = (options.baseUrl ?? "https://api.telegram.org").replace(/\/+$/, "");
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 15_000);
  const combined = signal ? AbortSignal.any([timeout, signal]) : timeout;
  let response: Response;
  let answer: BotApiAnswer;
  try {
    response = await doFetch(`${base}/bot${options.token}/${method}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(params),
      signal: combined,
      redirect: "error",
    });
    answer = (await response.json().catch(() => ({}))) as BotApiAnswer;
  } catch {
    // Never include the URL (it holds the token) or the raw error message (fetch may quote the URL).
    const code = timeout.aborted ? "timeout" : "network";
    throw new NotificationError(code, `telegram ${method} failed (${code})`, { retryable: true });
  }
  if (response.ok && answer.ok !== false) return answer.result as T;
  const status = response.status;
  const description = (answer.description ?? response.statusText).slice(0, 300);
  if (status === 429) {
    const header = Number(response.headers.get("retry-after"));
    const retryAfter = Math.max(
      1,
      Math.ceil(answer.parameters?.retry_after ?? (Number.isFinite(header) && header > 0 ? header : 5)),
    );
    throw new NotificationError("rate_limited", `telegram rate limit: retry after ${retryAfter} s`, {
      retryable: true,
      retryAfterSeconds: retryAfter,
      status,
    });
  }
  if (status >= 400 && status < 500) {
    throw new NotificationError("rejected", `telegram answered ${status}: ${description}`, {
      retryable: false,
      status,
    });
  }
  throw new NotificationError("server_error", `telegram answered ${status}: ${description}`, {
    retryable: true,
    status,
  });
}

/**
 * Sends a message through the Bot API: `sendMessage` with `{ chat_id, text, parse_mode: "MarkdownV2" }`
 * (and `reply_parameters` for a reply). A 429 with a short `parameters.retry_after` is waited out and
 * retried; a long one throws a retryable `NotificationError` carrying `retryAfterSeconds`. Other 4xx
 * answers are permanent failures; 5xx and network errors are retryable.
 *
 * @example
 * ```ts
 * await sendTelegramMessage({ token }, { chatId: "-100123", text: "Line 3 stopped (again)!" });
 * ```
 */
export async function sendTelegramMessage(
  options: TelegramOptions,
  message: TelegramMessage,
): Promise<TelegramResult> {
  const maxInlineWait = options.maxInlineRetryAfterSeconds ?? 30;
  const maxInlineRetries = options.maxInlineRetries ?? 3;
  const params = {
    chat_id: message.chatId,
    text: escapeMarkdownV2Truncated(message.text),
    parse_mode: "MarkdownV2",
    ...(message.replyToMessageId === undefined
      ? {}
      : { reply_parameters: { message_id: message.replyToMessageId, allow_sending_without_reply: true } }),
  };
  for (let rateLimited = 0; ; rateLimited++) {
    try {
      const result = await callTelegramBotApi<{ message_id?: number } | undefined>(
        options,
        "sendMessage",
        params,
        message.signal,
      );
      return { messageId: result?.message_id ?? null, rateLimited };
    } catch (error) {
      if (!(error instanceof NotificationError) || error.code !== "rate_limited") throw error;
      const retryAfter = error.retryAfterSeconds ?? 5;
      if (retryAfter > maxInlineWait || rateLimited >= maxInlineRetries) throw error;
      try {
        await sleep(retryAfter * 1000, undefined, message.signal ? { signal: message.signal } : undefined);
      } catch {
        throw new NotificationError("rate_limited", "telegram rate limit wait aborted", {
          retryable: true,
          retryAfterSeconds: retryAfter,
          status: 429,
        });
      }
    }
  }
}
