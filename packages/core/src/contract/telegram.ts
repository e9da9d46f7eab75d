/**
 * Telegram, as the platform reads it: the shapes of bot tokens, webhook secrets and the tenant's
 * `settings.telegram`, the part of a Bot API `Update` the platform uses, and the one table that says
 * which kinds of update are handled and which are ignored on purpose. The gateway (webhook), the
 * workers (`telegram.update`) and the CLI (`set-webhook`'s `allowed_updates`) all read it here.
 */
import { z } from "zod";

/** A bot token from @BotFather: `<bot id>:<secret>`. Write-only wherever it is stored. */
export const telegramBotTokenSchema = z
  .string()
  .regex(/^\d{1,20}:[A-Za-z0-9_-]{30,200}$/, { message: "must look like 123456789:AA… (from @BotFather)" });

/**
 * The `secret_token` given to `setWebhook`; Telegram sends it back in `X-Telegram-Bot-Api-Secret-Token`.
 * Telegram's own rules: 1-256 characters of `A-Za-z0-9_-`; at least 16 here, so it cannot be guessed.
 */
export const telegramWebhookSecretSchema = z.string().regex(/^[A-Za-z0-9_-]{16,256}$/, {
  message: "must be 16-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's secret_token rules)",
});

/** A bot's username, without the `@` (commands addressed as `/status@<username>`). */
export const telegramBotUsernameSchema = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_]{2,63}$/, { message: "must be a Telegram username without the @" });

/**
 * `settings.telegram` of a tenant that has its own bot (`POST /telegram/webhook/:tenantSlug`). The token
 * and the secret are write-only: every API read shows them as `"[redacted]"` (their names look secret).
 */
export const telegramSettingsSchema = z
  .object({
    /** The tenant's own bot; without it, the platform's bot (`TELEGRAM_BOT_TOKEN`) answers for it. */
    botToken: telegramBotTokenSchema.optional(),
    /** Required for the tenant's webhook: without it `/telegram/webhook/:tenantSlug` is refused. */
    webhookSecret: telegramWebhookSecretSchema.optional(),
    /** The bot's username; when unset the workers ask the Bot API (`getMe`) once. */
    botUsername: telegramBotUsernameSchema.optional(),
  })
  .strict();
/** A tenant's `settings.telegram`. */
export type TelegramSettings = z.infer<typeof telegramSettingsSchema>;

/** The largest `update_id` accepted (Telegram's are 31-bit; anything JSON keeps exactly will do). */
const MAX_ID = Number.MAX_SAFE_INTEGER;
const id = z.number().int().min(-MAX_ID).max(MAX_ID);

const chatSchema = z.looseObject({
  id,
  type: z.string().max(40),
  title: z.string().max(300).optional(),
  username: z.string().max(100).optional(),
});
const userSchema = z.looseObject({
  id,
  is_bot: z.boolean().optional(),
  first_name: z.string().max(300).optional(),
  username: z.string().max(100).optional(),
});
const messageSchema = z.looseObject({
  message_id: id,
  date: z.number().int().optional(),
  chat: chatSchema,
  from: userSchema.optional(),
  text: z.string().max(10_000).optional(),
  caption: z.string().max(10_000).optional(),
});
const callbackQuerySchema = z.looseObject({
  id: z.string().min(1).max(200),
  from: userSchema,
  /** Absent for buttons of inline-mode messages; its `date` is 0 when the message is too old to read. */
  message: z.looseObject({ message_id: id, chat: chatSchema }).optional(),
  data: z.string().max(1_000).optional(),
});
const chatMemberUpdatedSchema = z.looseObject({
  chat: chatSchema,
  from: userSchema,
  date: z.number().int().optional(),
  new_chat_member: z.looseObject({ status: z.string().max(40), user: userSchema }),
  old_chat_member: z.looseObject({ status: z.string().max(40) }).optional(),
});

/**
 * A Bot API `Update` (https://core.telegram.org/bots/api#update): an integer `update_id` and at most one
 * of the optional parts. The parts the platform reads are checked; any other member is kept as sent.
 */
export const telegramUpdateSchema = z
  .looseObject({
    update_id: z.number().int().min(0).max(MAX_ID),
    message: messageSchema.optional(),
    edited_message: messageSchema.optional(),
    channel_post: messageSchema.optional(),
    edited_channel_post: messageSchema.optional(),
    callback_query: callbackQuerySchema.optional(),
    my_chat_member: chatMemberUpdatedSchema.optional(),
    chat_member: chatMemberUpdatedSchema.optional(),
  })
  .meta({
    id: "TelegramUpdate",
    description: "A Telegram Bot API Update: an integer `update_id` and the part that happened.",
  });
/** A Bot API `Update`, as far as the platform reads it. */
export type TelegramUpdate = z.infer<typeof telegramUpdateSchema>;
/** A message inside an update. */
export type TelegramMessage = z.infer<typeof messageSchema>;
/** A callback query (an inline keyboard button pressed). */
export type TelegramCallbackQuery = z.infer<typeof callbackQuerySchema>;
/** A change of the bot's own membership in a chat. */
export type TelegramChatMemberUpdated = z.infer<typeof chatMemberUpdatedSchema>;

/**
 * Every kind of update and what the platform does with it: `handle` (a `telegram.update` job runs it),
 * or `ignore` with the reason. A kind not listed here is `unknown` and ignored too. The one list:
 * `telegramAllowedUpdates` (what `set-webhook` subscribes to) is derived from it.
 */
export const telegramUpdateKinds = {
  /** Commands and reports (plain text or a caption). A message without either is ignored (`no_text`). */
  message: { action: "handle" },
  /** An inline keyboard button: `confirm:<id>` and `cancel:<id>` are answered and published. */
  callback_query: { action: "handle" },
  /** The bot was added to, promoted in or removed from a chat: its status there is recorded. */
  my_chat_member: { action: "handle" },
  /** An episode keeps the text it was reported with; an edit is not a second report. */
  edited_message: { action: "ignore", reason: "edited messages do not change the episode they reported" },
  /** Channels broadcast; the bot takes reports from people in chats. */
  channel_post: { action: "ignore", reason: "channel posts are not reports" },
  edited_channel_post: { action: "ignore", reason: "channel posts are not reports" },
  /** Other members joining or leaving a chat. */
  chat_member: { action: "ignore", reason: "other members' updates are not the bot's business" },
} as const satisfies Record<string, { action: "handle" } | { action: "ignore"; reason: string }>;

/** A kind of update the platform knows, or `unknown`. */
export type TelegramUpdateKind = keyof typeof telegramUpdateKinds | "unknown";

/** The update types `set-webhook` asks Telegram for: exactly the kinds that are handled. */
export const telegramAllowedUpdates = (
  Object.keys(telegramUpdateKinds) as (keyof typeof telegramUpdateKinds)[]
).filter((kind) => telegramUpdateKinds[kind].action === "handle");

/** What `describeTelegramUpdate` says about an update. */
export interface TelegramUpdateSummary {
  kind: TelegramUpdateKind;
  /** True when a `telegram.update` job will handle it; false when it is ignored on purpose. */
  handled: boolean;
  /** Why it is ignored (`handled: false`). */
  reason?: string;
  /**
   * The chat it belongs to: its updates are handled one at a time in `update_id` order, and it has its
   * own rate limit. A callback query from an inline-mode message counts as the user's private chat.
   */
  chatId: number | null;
}

/**
 * Classifies an update by the table `telegramUpdateKinds`.
 *
 * @example
 * ```ts
 * describeTelegramUpdate({ update_id: 7, message: { message_id: 1, chat: { id: 42, type: "private" }, text: "/help" } });
 * // { kind: "message", handled: true, chatId: 42 }
 * ```
 */
export function describeTelegramUpdate(update: TelegramUpdate): TelegramUpdateSummary {
  const kind = (Object.keys(telegramUpdateKinds) as (keyof typeof telegramUpdateKinds)[]).find(
    (k) => update[k] !== undefined,
  );
  if (kind === undefined)
    return { kind: "unknown", handled: false, reason: "unknown update type", chatId: null };
  const rule: { action: "handle" } | { action: "ignore"; reason: string } = telegramUpdateKinds[kind];
  const chatId = chatOf(update, kind);
  if (rule.action === "ignore") return { kind, handled: false, reason: rule.reason, chatId };
  if (kind === "message") {
    const text = update.message?.text ?? update.message?.caption;
    if (text === undefined || text.trim() === "")
      return { kind, handled: false, reason: "a message without text or caption", chatId };
  }
  return { kind, handled: true, chatId };
}

function chatOf(update: TelegramUpdate, kind: keyof typeof telegramUpdateKinds): number | null {
  if (kind === "callback_query") {
    const query = update.callback_query;
    return query?.message?.chat.id ?? query?.from.id ?? null;
  }
  const part = update[kind] as { chat?: { id: number } } | undefined;
  return part?.chat?.id ?? null;
}

/**
 * True for a group, supergroup or channel chat id (negative in the Bot API), where Telegram's stricter
 * 20-messages-a-minute limit applies; `@channelusername` targets count too.
 *
 * @example
 * ```ts
 * isTelegramGroupChat("-1001234567890"); // true
 * isTelegramGroupChat("42"); // false
 * ```
 */
export function isTelegramGroupChat(chatId: string | number): boolean {
  const text = String(chatId).trim();
  return text.startsWith("-") || text.startsWith("@");
}
