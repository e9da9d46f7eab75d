/**
 * Outgoing pacing: Telegram's published limits (about 30 messages a second per bot, 20 a minute in one
 * group, one a second in one chat) kept across every worker process, so a burst of alerts is spread out
 * instead of answered with 429s. The state is in PostgreSQL (`cybernetic.telegram_reserve_send`, a GCRA
 * reservation over the bot's, the chat's and, for groups, the group's keys), never in memory.
 */
import { createHash } from "node:crypto";
import { type Db, isTelegramGroupChat } from "@cybernetic/core";
import { sql } from "kysely";

/** One limit: `perSecond` sends, sustained, with bursts of up to `burst` at once. */
export interface TelegramRate {
  perSecond: number;
  burst: number;
}

/** The limits every send is paced by. */
export interface TelegramPacingOptions {
  /** Per bot. Default 30 a second, no burst. */
  bot: TelegramRate;
  /** Per chat. Default one a second, no burst. */
  chat: TelegramRate;
  /** Per group, supergroup or channel (negative chat ids), on top of `chat`. Default 20 a minute. */
  group: TelegramRate;
  /**
   * A send that must wait longer than this waits as a deferred job (nothing is reserved meanwhile);
   * a shorter wait is slept inside the job. Default 10 s.
   */
  maxInlineWaitSeconds: number;
}

/** Telegram's published limits (https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this). */
export const DEFAULT_TELEGRAM_PACING: Readonly<TelegramPacingOptions> = {
  bot: { perSecond: 30, burst: 1 },
  chat: { perSecond: 1, burst: 1 },
  group: { perSecond: 20 / 60, burst: 1 },
  maxInlineWaitSeconds: 10,
};

/** A bot's pacing key: a digest of its token (the token itself is never stored). */
export function telegramBotKey(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("base64url").slice(0, 22);
}

/**
 * Reserves the earliest moment at which `chatId` may be sent a message by the bot with `token`, under
 * every limit at once, and returns how many milliseconds to wait for it. When that is longer than
 * `maxInlineWaitSeconds`, nothing is reserved and the wait is returned with `reserved: false`: the
 * caller should try again after it.
 *
 * @example
 * ```ts
 * const { waitMs, reserved } = await reserveTelegramSend(db, token, "-1001234567890");
 * if (!reserved) throw new RetryLaterError("paced", { delaySeconds: waitMs / 1000 });
 * await sleep(waitMs);
 * ```
 */
export async function reserveTelegramSend(
  db: Db,
  token: string,
  chatId: string,
  pacing: Partial<TelegramPacingOptions> = {},
): Promise<{ waitMs: number; reserved: boolean }> {
  const p = { ...DEFAULT_TELEGRAM_PACING, ...pacing };
  const bot = telegramBotKey(token);
  const target = chatId.trim();
  const limits: [string, TelegramRate][] = [
    [`bot:${bot}`, p.bot],
    [`chat:${bot}:${target}`, p.chat],
  ];
  if (isTelegramGroupChat(target)) limits.push([`group:${bot}:${target}`, p.group]);
  const keys = limits.map(([key]) => key);
  const intervals = limits.map(([, rate]) => 1000 / Math.max(rate.perSecond, 1e-9));
  const bursts = limits.map(([, rate]) => Math.max(1, Math.floor(rate.burst)));
  const maxWaitMs = Math.max(0, p.maxInlineWaitSeconds) * 1000;
  const { rows } = await sql<{ wait: number }>`
    select cybernetic.telegram_reserve_send(${keys}::text[], ${intervals}::float8[], ${bursts}::int[],
      ${maxWaitMs}) as wait`.execute(db);
  const waitMs = Number(rows[0]?.wait ?? 0);
  return { waitMs, reserved: waitMs <= maxWaitMs };
}
