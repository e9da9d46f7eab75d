import {
  appendEvent,
  type JsonObject,
  type Logger,
  type Platform,
  systemNames,
  type TelegramCallbackQuery,
  type TelegramChatMemberUpdated,
  type TelegramMessage,
  type TelegramUpdate,
  type TenantTransaction,
  telegramUpdateSchema,
} from "@cybernetic/core";
import { sql } from "kysely";
import { z } from "zod";
import { recordNotification } from "../notify/notifications.js";
import { callTelegramBotApi } from "../notify/telegram.js";
import { type TenantTelegramBot, tenantTelegramBot } from "../notify/telegram-bot.js";
import { telegramBotKey } from "../notify/telegram-pacing.js";
import type { CyberneticQueue } from "../queue/job-queue.js";
import { defineJob } from "../runtime/define-job.js";

/** What a command handler gets: the transaction the update is handled in, and a way to reply. */
export interface TelegramCommandContext {
  /** The update's transaction (the tenant's row-level security applies); its chat is locked. */
  trx: TenantTransaction;
  tenantId: string;
  platform: Platform;
  queue: CyberneticQueue;
  logger: Logger;
  chat: { id: number; type: string };
  message: TelegramMessage;
  from: { id: number; username: string | null } | null;
  /** The text after the command. */
  args: string;
  /** Replies in the chat (a notification recorded in this transaction, sent once it commits). */
  reply(text: string): Promise<void>;
}

/** A bot command of the host application (`/name args`). */
export interface TelegramCommand {
  /** One line for `/help`. */
  description: string;
  run(context: TelegramCommandContext): Promise<void>;
}

declare module "../runtime/define-job.js" {
  interface WorkerDependencies {
    /**
     * The host's own bot commands, by name (lower-case, without the slash). They are listed by `/help`
     * and take precedence over a built-in command of the same name.
     */
    telegramCommands?: Record<string, TelegramCommand>;
  }
}

/** Statuses of `telegram_updates` that still wait for their job. */
const WAITING = ["queued", "slow_down"] as const;

/** The built-in commands, in the order `/help` lists them. */
const BUILT_IN_HELP: readonly [string, string][] = [
  ["report <text>", "record what happened (any plain message is a report too)"],
  ["status", "the five systems' current states"],
  ["episodes", "the latest five episodes, with status and risk"],
  ["policies", "the active S5 policies"],
  ["help", "this list"],
];

const SLOW_DOWN =
  "You are sending messages faster than I can take them, so I skipped some. Please slow down a little.";

/** A failed attempt's message, cut for the column. */
const errorText = (error: unknown) =>
  (error instanceof Error ? error.message : String(error)).slice(0, 2_000);

/** Usernames learnt from `getMe`, per bot (by the digest of its token), for this process's lifetime. */
const usernames = new Map<string, string | null>();

async function botUsername(bot: TenantTelegramBot | undefined, logger: Logger): Promise<string | null> {
  if (!bot) return null;
  if (bot.username) return bot.username;
  const key = telegramBotKey(bot.options.token);
  const known = usernames.get(key);
  if (known !== undefined) return known;
  try {
    const me = await callTelegramBotApi<{ username?: string }>(bot.options, "getMe", {});
    const name = typeof me?.username === "string" ? me.username : null;
    usernames.set(key, name);
    return name;
  } catch (error) {
    // Without the username, `/cmd@anybot` counts as ours; asked again on the next update.
    logger.warn({ err: error }, "telegram: getMe failed; commands addressed to any bot are taken as ours");
    return null;
  }
}

/** `/Status@OurBot now` → `{ name: "status", bot: "OurBot", args: "now" }`; null for plain text. */
export function parseTelegramCommand(
  text: string,
): { name: string; bot: string | null; args: string } | null {
  const match = /^\/([A-Za-z0-9_]{1,64})(?:@([A-Za-z0-9_]{1,64}))?(?:\s+([\s\S]*))?$/.exec(text.trim());
  if (!match) return null;
  return { name: (match[1] as string).toLowerCase(), bot: match[2] ?? null, args: (match[3] ?? "").trim() };
}

/** An episode title from a report: its first line, at most 80 characters, cut at a word. */
export function reportTitle(text: string): string {
  const line = text.trim().split("\n")[0]?.trim() ?? "";
  if (line.length <= 80) return line || "Telegram report";
  const cut = line.slice(0, 79);
  const space = cut.lastIndexOf(" ");
  return `${(space > 40 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

const senderOf = (from: TelegramMessage["from"]) =>
  from ? { id: from.id, username: from.username ?? null } : null;

const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/** What handling one update did, and what must happen once its transaction has committed. */
interface Handled {
  outcome: string;
  after?: () => Promise<void>;
}

/** Everything one update's handling needs. */
interface UpdateScope {
  trx: TenantTransaction;
  tenantId: string;
  updateId: number;
  chatId: number;
  platform: Platform;
  queue: CyberneticQueue;
  logger: Logger;
  bot: TenantTelegramBot | undefined;
  commands: Record<string, TelegramCommand>;
  replies: number;
}

async function reply(scope: UpdateScope, text: string, replyTo?: number): Promise<void> {
  // One key per reply of this update: a retried transaction records each reply once.
  await recordNotification(scope.trx, scope.queue, scope.tenantId, {
    channel: "telegram",
    target: String(scope.chatId),
    payload: { text, ...(replyTo === undefined ? {} : { replyTo }) },
    idempotencyKey: `telegram:${scope.updateId}:${scope.replies++}`,
    priority: "high",
  });
}

async function statusText(trx: TenantTransaction): Promise<string> {
  const rows = await trx
    .selectFrom("system_states")
    .select(["system", "state", "version", "updated_at"])
    .orderBy("system")
    .execute();
  const lines = rows.map((row) => {
    const name = systemNames[row.system as 1 | 2 | 3 | 4 | 5] ?? `system ${row.system}`;
    const keys = Object.keys(row.state);
    const summary = keys.length === 0 ? "no state recorded yet" : clip(JSON.stringify(row.state), 300);
    const when = new Date(row.updated_at).toISOString().slice(0, 16).replace("T", " ");
    return `S${row.system} ${name} (v${row.version}, ${when} UTC): ${summary}`;
  });
  return ["The five systems now:", ...lines].join("\n");
}

async function episodesText(trx: TenantTransaction): Promise<string> {
  const rows = await trx
    .selectFrom("episodes")
    .select(["title", "status", "analysis"])
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    .limit(5)
    .execute();
  if (rows.length === 0) return "No episodes yet. Send me a message to report one.";
  const lines = rows.map((row) => {
    const risk = (row.analysis?.risk as { level?: unknown } | undefined)?.level;
    return `• ${clip(row.title, 120)}: ${row.status}${typeof risk === "string" ? `, risk ${risk}` : ""}`;
  });
  return ["The latest episodes:", ...lines].join("\n");
}

async function policiesText(trx: TenantTransaction): Promise<string> {
  const rows = await trx
    .selectFrom("policies")
    .select(["name", "rules", "priority"])
    .where("active", "=", true)
    .where((eb) => eb.or([eb("effective_from", "is", null), eb("effective_from", "<=", sql<Date>`now()`)]))
    .where((eb) => eb.or([eb("effective_until", "is", null), eb("effective_until", ">", sql<Date>`now()`)]))
    .orderBy("priority", "desc")
    .orderBy("name")
    .limit(20)
    .execute();
  if (rows.length === 0) return "No active policies.";
  const lines = rows.map((row) => {
    const on = Array.isArray(row.rules.on) ? row.rules.on.filter((p) => typeof p === "string") : [];
    return `• ${clip(row.name, 120)}${on.length > 0 ? ` (on ${on.join(", ")})` : ""}`;
  });
  return ["Active policies:", ...lines].join("\n");
}

function helpText(commands: Record<string, TelegramCommand>, tenantName: string): string {
  const lines = BUILT_IN_HELP.filter(([usage]) => !commands[usage.split(" ")[0] as string]).map(
    ([usage, what]) => `/${usage}: ${what}`,
  );
  for (const [name, command] of Object.entries(commands)) lines.push(`/${name}: ${command.description}`);
  return [`I take reports for ${tenantName}. Commands:`, ...lines].join("\n");
}

/** Records a report as an episode (source `telegram`, source id `<chat_id>:<message_id>`). */
async function recordReport(scope: UpdateScope, message: TelegramMessage, text: string) {
  const { episode, created } = await scope.platform.episodes.createIn(scope.trx, scope.tenantId, {
    title: reportTitle(text),
    content: text.trim(),
    source: "telegram",
    sourceId: `${message.chat.id}:${message.message_id}`,
    tags: ["telegram"],
  });
  await reply(
    scope,
    created
      ? `Recorded as episode ${episode.id.slice(0, 8)}: "${episode.title}". S4 is analysing it.`
      : `Already recorded as episode ${episode.id.slice(0, 8)}.`,
    message.message_id,
  );
  return episode.id;
}

async function handleMessage(scope: UpdateScope, message: TelegramMessage): Promise<Handled> {
  const text = message.text ?? message.caption ?? "";
  if (text.trim() === "") return { outcome: "ignored_no_text" };
  const from = senderOf(message.from);
  const command = parseTelegramCommand(text);
  if (!command) {
    const episodeId = await recordReport(scope, message, text);
    await appendEvent(scope.trx, scope.tenantId, "telegram.message", {
      updateId: scope.updateId,
      chatId: message.chat.id,
      chatType: message.chat.type,
      messageId: message.message_id,
      from,
      text: clip(text, 4_096),
      episodeId,
    });
    return { outcome: "report" };
  }
  if (command.bot !== null) {
    const ours = await botUsername(scope.bot, scope.logger);
    if (ours !== null && ours.toLowerCase() !== command.bot.toLowerCase())
      return { outcome: "ignored_other_bot" };
  }
  let known = true;
  let episodeId: string | null = null;
  const host = scope.commands[command.name];
  if (host) {
    await host.run({
      trx: scope.trx,
      tenantId: scope.tenantId,
      platform: scope.platform,
      queue: scope.queue,
      logger: scope.logger,
      chat: { id: message.chat.id, type: message.chat.type },
      message,
      from,
      args: command.args,
      reply: (replyText) => reply(scope, replyText, message.message_id),
    });
  } else {
    switch (command.name) {
      case "start":
      case "help": {
        const tenant = await scope.trx
          .selectFrom("tenants")
          .select("name")
          .where("id", "=", scope.tenantId)
          .executeTakeFirst();
        const intro =
          command.name === "start"
            ? "Hello! Tell me what happens: every message you send me becomes an episode that S4 analyses, and alerts come back here.\n\n"
            : "";
        await reply(
          scope,
          `${intro}${helpText(scope.commands, tenant?.name ?? "this team")}`,
          message.message_id,
        );
        break;
      }
      case "status":
        await reply(scope, await statusText(scope.trx), message.message_id);
        break;
      case "episodes":
        await reply(scope, await episodesText(scope.trx), message.message_id);
        break;
      case "policies":
        await reply(scope, await policiesText(scope.trx), message.message_id);
        break;
      case "report":
        if (command.args === "") await reply(scope, "Usage: /report <what happened>", message.message_id);
        else episodeId = await recordReport(scope, message, command.args);
        break;
      default:
        known = false;
        await reply(scope, `I don't know /${command.name}. Try /help.`, message.message_id);
    }
  }
  await appendEvent(scope.trx, scope.tenantId, "telegram.command", {
    updateId: scope.updateId,
    chatId: message.chat.id,
    messageId: message.message_id,
    from,
    command: command.name,
    args: clip(command.args, 4_096),
    source: "message",
    known,
    episodeId,
  });
  return { outcome: known ? `command_${command.name}` : "command_unknown" };
}

const BUTTON = /^(confirm|cancel):([\s\S]{1,64})$/;

async function handleCallbackQuery(scope: UpdateScope, query: TelegramCallbackQuery): Promise<Handled> {
  const match = BUTTON.exec(query.data ?? "");
  const command = match?.[1] ?? "unknown";
  const answer = match ? (command === "confirm" ? "Confirmed." : "Cancelled.") : "Unknown action.";
  await appendEvent(scope.trx, scope.tenantId, "telegram.command", {
    updateId: scope.updateId,
    chatId: scope.chatId,
    messageId: query.message?.message_id ?? null,
    from: senderOf(query.from),
    command,
    args: match?.[2] ?? clip(query.data ?? "", 64),
    source: "callback_query",
    known: match !== null,
    episodeId: null,
  });
  const bot = scope.bot;
  const logger = scope.logger;
  return {
    outcome: match ? `button_${command}` : "button_unknown",
    // After the commit: the button's spinner stops when Telegram gets the answer. At most once, and
    // best effort (a callback query can no longer be answered after about 15 s anyway).
    after: async () => {
      if (!bot) {
        logger.warn({ updateId: scope.updateId }, "telegram: no bot to answer the callback query with");
        return;
      }
      await callTelegramBotApi(bot.options, "answerCallbackQuery", {
        callback_query_id: query.id,
        text: answer,
      }).catch((error: unknown) =>
        logger.warn({ err: error, updateId: scope.updateId }, "telegram: answerCallbackQuery failed"),
      );
    },
  };
}

async function handleMyChatMember(scope: UpdateScope, change: TelegramChatMemberUpdated): Promise<Handled> {
  await scope.trx
    .updateTable("telegram_chats")
    .set({
      bot_status: change.new_chat_member.status.slice(0, 40),
      type: change.chat.type.slice(0, 40),
      title: change.chat.title?.slice(0, 300) ?? null,
      updated_at: sql<Date>`now()`,
    })
    .where("chat_id", "=", String(scope.chatId))
    .execute();
  return { outcome: `bot_${change.new_chat_member.status}` };
}

async function handle(scope: UpdateScope, update: TelegramUpdate): Promise<Handled> {
  if (update.message) {
    await scope.trx
      .updateTable("telegram_chats")
      .set({
        type: update.message.chat.type.slice(0, 40),
        title: update.message.chat.title?.slice(0, 300) ?? null,
      })
      .where("chat_id", "=", String(scope.chatId))
      .execute();
    return handleMessage(scope, update.message);
  }
  if (update.callback_query) return handleCallbackQuery(scope, update.callback_query);
  if (update.my_chat_member) return handleMyChatMember(scope, update.my_chat_member);
  // The webhook queues only the kinds `telegramUpdateKinds` handles; anything else is a row written by
  // an older version or by hand.
  return { outcome: "ignored" };
}

const payloadSchema = z.object({ tenantId: z.uuid(), updateId: z.number().int().min(0) }).strict();

/**
 * Handles a Telegram update the webhook acknowledged (`platform.telegram.receive`): commands (`/start`,
 * `/help`, `/status`, `/episodes`, `/policies`, `/report <text>`, the host's `telegramCommands`), plain
 * text as a report (an episode with source `telegram` and source id `<chat_id>:<message_id>`), the
 * buttons `confirm:<id>` and `cancel:<id>`, the bot's own membership changes, and the one "slow down"
 * reply of a chat over its limit. Replies are notifications (paced, Markdown-escaped, 429s honoured);
 * `telegram.message` and `telegram.command` are published.
 *
 * Order per chat: the queue is `key_strict_fifo` with the chat as key, so pg-boss hands out one job of
 * a chat at a time, oldest first. On top of that, each update is handled in one transaction that first
 * locks its chat's `telegram_chats` row and handles every waiting update of the chat up to its own, in
 * `update_id` order: even two jobs of one chat running at once (an expired job still running) cannot
 * overlap, and a later update never overtakes an earlier one. A failure retries the job, and the chat
 * waits; after the last retry the update is marked `failed` and the chat moves on (the job completes,
 * so it cannot hold the chat back).
 */
export const telegramUpdateJob = defineJob({
  name: "telegram.update",
  schema: payloadSchema,
  policy: {
    retryLimit: 5,
    retryDelay: 1,
    retryDelayMax: 60,
    expireInSeconds: 120,
    heartbeatSeconds: 10,
    priority: "high",
    batchSize: 10,
    deadLetterRetentionDays: 30,
    orderedByKey: true,
  },
  async handler({ tenantId, updateId }, ctx): Promise<JsonObject> {
    const head = await ctx.withTenant((trx) =>
      trx
        .selectFrom("telegram_updates")
        .select(["chat_id", "status"])
        .where("update_id", "=", String(updateId))
        .executeTakeFirst(),
    );
    if (!head) return { status: "missing" };
    if (!(WAITING as readonly string[]).includes(head.status)) return { status: "done", update: head.status };
    const waiting =
      head.chat_id === null
        ? [String(updateId)]
        : (
            await ctx.withTenant((trx) =>
              trx
                .selectFrom("telegram_updates")
                .select("update_id")
                .where("chat_id", "=", head.chat_id)
                .where("status", "in", [...WAITING])
                .where("update_id", "<=", String(updateId))
                .orderBy("update_id")
                .limit(100)
                .execute(),
            )
          ).map((row) => row.update_id);
    const handled: JsonObject[] = [];
    for (const id of waiting) handled.push(await handleOne(Number(id), head.chat_id, tenantId, ctx));
    return { status: "handled", updates: handled };
  },
});

type Context = Parameters<(typeof telegramUpdateJob)["handler"]>[1];

async function handleOne(
  updateId: number,
  chat: string | null,
  tenantId: string,
  ctx: Context,
): Promise<JsonObject> {
  try {
    const result = await ctx.withTenant(async (trx) => {
      // The chat's lock, first: one chat's updates are handled one at a time, whoever runs them.
      if (chat !== null) {
        await trx
          .insertInto("telegram_chats")
          .values({ tenant_id: tenantId, chat_id: chat })
          .onConflict((oc) =>
            oc.columns(["tenant_id", "chat_id"]).doUpdateSet({ updated_at: sql<Date>`now()` }),
          )
          .execute();
      }
      const row = await trx
        .selectFrom("telegram_updates")
        .select(["status", "payload", "chat_id"])
        .where("update_id", "=", String(updateId))
        .forUpdate()
        .executeTakeFirst();
      if (!row || !(WAITING as readonly string[]).includes(row.status))
        return { outcome: `already_${row?.status ?? "gone"}` } satisfies Handled;
      const tenant = await trx
        .selectFrom("tenants")
        .select("settings")
        .where("id", "=", tenantId)
        .executeTakeFirst();
      const scope: UpdateScope = {
        trx,
        tenantId,
        updateId,
        chatId: Number(row.chat_id ?? 0),
        platform: ctx.platform,
        queue: ctx.queue,
        logger: ctx.logger,
        bot: tenantTelegramBot(tenant?.settings ?? {}, ctx.deps.telegram, ctx.deps.telegramApi),
        commands: ctx.deps.telegramCommands ?? {},
        replies: 0,
      };
      let handled: Handled;
      if (row.status === "slow_down") {
        await reply(scope, SLOW_DOWN);
        handled = { outcome: "slow_down" };
      } else {
        const update = telegramUpdateSchema.safeParse(row.payload);
        handled = update.success ? await handle(scope, update.data) : { outcome: "ignored_unreadable" };
      }
      await trx
        .updateTable("telegram_updates")
        .set((eb) => ({
          status: row.status === "slow_down" ? "limited" : "processed",
          payload: null,
          error: null,
          attempts: eb("attempts", "+", 1),
          processed_at: sql<Date>`now()`,
        }))
        .where("update_id", "=", String(updateId))
        .execute();
      if (chat !== null) {
        await trx
          .updateTable("telegram_chats")
          .set({ last_update_id: sql<string>`greatest(coalesce(last_update_id, 0), ${updateId})` })
          .where("chat_id", "=", chat)
          .execute();
      }
      return handled;
    });
    await result.after?.();
    return { updateId, outcome: result.outcome };
  } catch (error) {
    const retry = ctx.willRetry(error);
    // Recorded in a transaction of its own: the failed one rolled back.
    await ctx
      .withTenant((trx) =>
        trx
          .updateTable("telegram_updates")
          .set((eb) => ({
            attempts: eb("attempts", "+", 1),
            error: errorText(error),
            ...(retry ? {} : { status: "failed", processed_at: sql<Date>`now()` }),
          }))
          .where("update_id", "=", String(updateId))
          .where("status", "in", [...WAITING])
          .execute(),
      )
      .catch((recordError: unknown) =>
        ctx.logger.warn({ err: recordError, updateId }, "telegram: could not record a failed attempt"),
      );
    if (retry) throw error;
    ctx.logger.error({ err: error, updateId }, "telegram: update failed for good; its chat moves on");
    return { updateId, outcome: "failed", error: errorText(error) };
  }
}
