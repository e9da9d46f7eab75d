/**
 * Which bot speaks for a tenant: its own (`settings.telegram.botToken`) when it has one, else the
 * platform's (`TELEGRAM_BOT_TOKEN`, the workers' `telegram` dependency). Replies to its chats, alerts and
 * policy notifications all go through that one bot.
 */
import { telegramSettingsSchema } from "@cybernetic/core";
import type { TelegramBotApiOptions, TelegramOptions } from "./telegram.js";

/** How to reach the Bot API for tenants' own bots (base URL, fetch, timeout); never a token. */
export type TelegramApiOptions = Omit<TelegramBotApiOptions, "token">;

/** The bot of a tenant, and its username when the settings name it. */
export interface TenantTelegramBot {
  options: TelegramOptions;
  /** `settings.telegram.botUsername`; otherwise ask `getMe`. */
  username: string | undefined;
  /** `tenant`: the tenant's own bot; `platform`: the platform's. */
  owner: "tenant" | "platform";
}

/**
 * The bot that speaks for a tenant, or undefined when neither the tenant nor the platform has one.
 *
 * @example
 * ```ts
 * const bot = tenantTelegramBot(tenant.settings, ctx.deps.telegram, ctx.deps.telegramApi);
 * if (bot) await sendTelegramMessage(bot.options, { chatId, text });
 * ```
 */
export function tenantTelegramBot(
  settings: Record<string, unknown>,
  platformBot: TelegramOptions | undefined,
  api: TelegramApiOptions | undefined,
): TenantTelegramBot | undefined {
  const parsed = telegramSettingsSchema.safeParse(settings.telegram ?? {});
  const own = parsed.success ? parsed.data : {};
  if (own.botToken !== undefined) {
    const { token: _platformToken, ...shared } = platformBot ?? { token: "" };
    return {
      options: { ...shared, ...api, token: own.botToken },
      username: own.botUsername,
      owner: "tenant",
    };
  }
  if (platformBot === undefined) return undefined;
  return { options: platformBot, username: own.botUsername, owner: "platform" };
}
