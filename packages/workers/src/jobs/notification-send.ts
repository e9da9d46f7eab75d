import { setTimeout as sleep } from "node:timers/promises";
import { appendEvent, type EventData, type JsonObject } from "@cybernetic/core";
import { sql } from "kysely";
import { z } from "zod";
import { NotificationError } from "../notify/notification-error.js";
import { sendTelegramMessage, type TelegramOptions } from "../notify/telegram.js";
import {
  type TelegramApiOptions,
  type TenantTelegramBot,
  tenantTelegramBot,
} from "../notify/telegram-bot.js";
import { reserveTelegramSend, type TelegramPacingOptions } from "../notify/telegram-pacing.js";
import { sendWebhook, type WebhookOptions } from "../notify/webhook.js";
import { causationJson, parseCausation } from "../policy/causation.js";
import { defineJob, RetryLaterError } from "../runtime/define-job.js";

declare module "../runtime/define-job.js" {
  interface WorkerDependencies {
    /**
     * The platform's Telegram bot: token and Bot API base URL. It speaks for every tenant without a bot
     * of its own (`settings.telegram.botToken`); with neither, Telegram notifications fail.
     */
    telegram?: TelegramOptions;
    /** How to reach the Bot API for tenants' own bots (default: `telegram`'s base URL, or Telegram's). */
    telegramApi?: TelegramApiOptions;
    /** Outgoing pacing across every worker (defaults: Telegram's published limits). */
    telegramPacing?: Partial<TelegramPacingOptions>;
    /** The webhook channel: SSRF guard (`allowPrivateNetworks`), timeout, resolver. */
    webhook?: WebhookOptions;
  }
}

const payloadSchema = z
  .object({ tenantId: z.uuid(), notificationId: z.uuid(), paced: z.boolean().optional() })
  .strict();

/** A paced send never waits longer than this for its slot: past it, pacing gives up and retries later. */
const MAX_PACING_WAIT_SECONDS = 6 * 3600;

interface Claimed {
  id: string;
  channel: string;
  target: string;
  payload: JsonObject;
  idempotencyKey: string;
  attempts: number;
  secret: string | undefined;
  bot: TenantTelegramBot | undefined;
}

type Claim =
  | { kind: "missing" | "already_sent" | "already_failed" }
  | { kind: "delivered"; attempts: number }
  | { kind: "claimed"; notification: Claimed };

const errorMessage = (error: unknown) =>
  (error instanceof Error ? error.message : String(error)).slice(0, 2_000);

/** The target as events show it: a webhook's origin only (its path or query may hold a token). */
function publicTarget(channel: string, target: string): string {
  if (channel !== "webhook") return target;
  try {
    return new URL(target).origin;
  } catch {
    return "(invalid URL)";
  }
}

/** What `notification.sent` and `notification.failed` say about the notification. */
function eventData(n: {
  id: string;
  channel: string;
  target: string;
  payload: JsonObject;
}): Omit<EventData<"notification.sent">, "payload"> {
  const caused = parseCausation(n.payload);
  return {
    notificationId: n.id,
    // The column holds what recordNotification validated; its CHECK constraint lists the same three.
    channel: n.channel as EventData<"notification.sent">["channel"],
    target: publicTarget(n.channel, n.target),
    ...(caused ? { causedBy: causationJson(caused) } : {}),
  };
}

/**
 * Delivers one notification on its channel, at most once per success.
 *
 * - `event`: delivered inside one transaction with the status change: the `notification.sent` event
 *   (with the payload) is what SSE subscribers receive, so it happens exactly once.
 * - `telegram` first reserves a send slot under Telegram's limits, shared by every worker (see
 *   `reserveTelegramSend`), through the tenant's own bot when it has one (`tenantTelegramBot`); a slot
 *   further off than `maxInlineWaitSeconds` continues the notification as a job starting at it.
 * - `telegram`, `webhook`: mark `sending` and count the attempt (committed), send, then mark `sent` and
 *   write `notification.sent`, or record the error; on the last attempt, or for a permanent refusal,
 *   mark `failed` and write `notification.failed`. A notification already `sent` is never sent again.
 *   The one gap no database can close: a crash after the receiver got the message and before `sent`
 *   committed sends it again on retry; webhook receivers dedupe on `x-cybernetic-idempotency-key`.
 */
export const notificationSendJob = defineJob({
  name: "notification.send",
  schema: payloadSchema,
  policy: {
    retryLimit: 8,
    retryDelay: 2,
    retryDelayMax: 900,
    expireInSeconds: 120,
    heartbeatSeconds: 10,
    priority: "high",
    batchSize: 20,
    deadLetterRetentionDays: 30,
  },
  async handler({ tenantId, notificationId, paced }, ctx): Promise<JsonObject> {
    // Telegram: first reserve a send slot under the bot's, chat's and group's limits (shared by every
    // worker). A slot further off than `maxInlineWaitSeconds` is kept, and this notification continues as
    // a new job starting at it, so waiting neither holds a worker nor spends a retry. A continuation
    // sends in its reserved slot; its own retries (after a failed send) reserve again.
    let waitMs = 0;
    if (!(paced && ctx.job.attempt === 1)) {
      const target = await ctx.withTenant(async (trx) => {
        const n = await trx
          .selectFrom("notifications")
          .select(["channel", "target", "status"])
          .where("id", "=", notificationId)
          .executeTakeFirst();
        if (n?.channel !== "telegram" || n.status === "sent" || n.status === "failed") return undefined;
        const tenant = await trx
          .selectFrom("tenants")
          .select("settings")
          .where("id", "=", tenantId)
          .executeTakeFirst();
        const bot = tenantTelegramBot(tenant?.settings ?? {}, ctx.deps.telegram, ctx.deps.telegramApi);
        return bot && { token: bot.options.token, chatId: n.target };
      });
      if (target) {
        const inline = ctx.deps.telegramPacing?.maxInlineWaitSeconds ?? 10;
        const slot = await reserveTelegramSend(ctx.platform.db, target.token, target.chatId, {
          ...ctx.deps.telegramPacing,
          maxInlineWaitSeconds: MAX_PACING_WAIT_SECONDS,
        });
        if (!slot.reserved)
          throw new RetryLaterError("telegram pacing: no send slot within 6 hours", {
            delaySeconds: MAX_PACING_WAIT_SECONDS,
          });
        if (slot.waitMs > inline * 1000) {
          const delaySeconds = Math.ceil(slot.waitMs / 1000);
          const continuedAs = await ctx.queue.send(
            "notification.send",
            { tenantId, notificationId, paced: true },
            {
              priority: "high",
              singletonKey: `notification:${notificationId}`,
              startAfterSeconds: delaySeconds,
            },
          );
          return { status: "paced", waitMs: Math.round(slot.waitMs), continuedAs };
        }
        waitMs = slot.waitMs;
      }
    }
    const claim = await ctx.withTenant(async (trx): Promise<Claim> => {
      const n = await trx
        .selectFrom("notifications")
        .selectAll()
        .where("id", "=", notificationId)
        .forUpdate()
        .executeTakeFirst();
      if (!n) return { kind: "missing" };
      if (n.status === "sent") return { kind: "already_sent" };
      if (n.status === "failed") return { kind: "already_failed" };
      const attempts = n.attempts + 1;
      if (n.channel === "event") {
        await trx
          .updateTable("notifications")
          .set({
            status: "sent",
            attempts,
            sent_at: sql<Date>`now()`,
            updated_at: sql<Date>`now()`,
          })
          .where("id", "=", n.id)
          .execute();
        await appendEvent(trx, tenantId, "notification.sent", { ...eventData(n), payload: n.payload });
        return { kind: "delivered", attempts };
      }
      await trx
        .updateTable("notifications")
        .set({ status: "sending", attempts, updated_at: sql<Date>`now()` })
        .where("id", "=", n.id)
        .execute();
      const tenant = await trx
        .selectFrom("tenants")
        .select("settings")
        .where("id", "=", tenantId)
        .executeTakeFirst();
      const secret = tenant?.settings.webhookSecret;
      const bot =
        n.channel === "telegram"
          ? tenantTelegramBot(tenant?.settings ?? {}, ctx.deps.telegram, ctx.deps.telegramApi)
          : undefined;
      return {
        kind: "claimed",
        notification: {
          id: n.id,
          channel: n.channel,
          target: n.target,
          payload: n.payload,
          idempotencyKey: n.idempotency_key,
          attempts,
          secret: typeof secret === "string" && secret.length > 0 ? secret : undefined,
          bot,
        },
      };
    });
    if (claim.kind === "delivered") return { status: "sent", channel: "event", attempts: claim.attempts };
    if (claim.kind !== "claimed") return { status: claim.kind };
    const n = claim.notification;

    let detail: JsonObject;
    try {
      if (n.channel === "telegram") {
        if (!n.bot)
          throw new NotificationError("not_configured", "no Telegram bot configured", { retryable: false });
        const text = typeof n.payload.text === "string" ? n.payload.text : JSON.stringify(n.payload);
        const replyTo = n.payload.replyTo;
        if (waitMs > 0) await sleep(waitMs, undefined, { signal: ctx.signal });
        const sent = await sendTelegramMessage(n.bot.options, {
          chatId: n.target,
          text,
          signal: ctx.signal,
          ...(typeof replyTo === "number" && Number.isSafeInteger(replyTo)
            ? { replyToMessageId: replyTo }
            : {}),
        });
        detail = { messageId: sent.messageId, rateLimited: sent.rateLimited };
      } else if (n.channel === "webhook") {
        if (!n.secret)
          throw new NotificationError("not_configured", "the tenant has no webhookSecret to sign with", {
            retryable: false,
          });
        const sent = await sendWebhook(
          {
            url: n.target,
            body: JSON.stringify(n.payload),
            secret: n.secret,
            idempotencyKey: n.idempotencyKey,
            signal: ctx.signal,
          },
          ctx.deps.webhook,
        );
        detail = { httpStatus: sent.status };
      } else {
        throw new NotificationError("invalid_target", `unknown channel ${n.channel}`, { retryable: false });
      }
    } catch (error) {
      const message = errorMessage(error);
      const retryAfter = error instanceof NotificationError ? error.retryAfterSeconds : undefined;
      if (!ctx.willRetry(error)) {
        await ctx.withTenant(async (trx) => {
          const failed = await trx
            .updateTable("notifications")
            .set({ status: "failed", last_error: message, updated_at: sql<Date>`now()` })
            .where("id", "=", n.id)
            .where("status", "<>", "sent")
            .returning("id")
            .executeTakeFirst();
          if (failed)
            await appendEvent(trx, tenantId, "notification.failed", { ...eventData(n), error: message });
        });
        throw error;
      }
      await ctx.withTenant((trx) =>
        trx
          .updateTable("notifications")
          .set({ status: "pending", last_error: message, updated_at: sql<Date>`now()` })
          .where("id", "=", n.id)
          .where("status", "<>", "sent")
          .execute(),
      );
      if (retryAfter !== undefined)
        throw new RetryLaterError(message, { delaySeconds: retryAfter, cause: error });
      throw error;
    }

    await ctx.withTenant(async (trx) => {
      const sent = await trx
        .updateTable("notifications")
        // last_error stays: it tells what the earlier attempts ran into.
        .set({ status: "sent", sent_at: sql<Date>`now()`, updated_at: sql<Date>`now()` })
        .where("id", "=", n.id)
        .where("status", "<>", "sent")
        .returning("id")
        .executeTakeFirst();
      if (sent) await appendEvent(trx, tenantId, "notification.sent", eventData(n));
    });
    return { status: "sent", channel: n.channel, attempts: n.attempts, ...detail };
  },
});
