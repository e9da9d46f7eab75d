import { appendEvent, type JsonObject } from "@cybernetic/core";
import { sql } from "kysely";
import { z } from "zod";
import { NotificationError } from "../notify/notification-error.js";
import { sendTelegramMessage, type TelegramOptions } from "../notify/telegram.js";
import { sendWebhook, type WebhookOptions } from "../notify/webhook.js";
import { causationJson, parseCausation } from "../policy/causation.js";
import { defineJob, PermanentJobError, RetryLaterError } from "../runtime/define-job.js";

declare module "../runtime/define-job.js" {
  interface WorkerDependencies {
    /** The Telegram channel: bot token and Bot API base URL. Without it, Telegram notifications fail. */
    telegram?: TelegramOptions;
    /** The webhook channel: SSRF guard (`allowPrivateNetworks`), timeout, resolver. */
    webhook?: WebhookOptions;
  }
}

const payloadSchema = z.object({ tenantId: z.uuid(), notificationId: z.uuid() }).strict();

interface Claimed {
  id: string;
  channel: string;
  target: string;
  payload: JsonObject;
  idempotencyKey: string;
  attempts: number;
  secret: string | undefined;
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

function eventData(n: { id: string; channel: string; target: string; payload: JsonObject }): JsonObject {
  const caused = parseCausation(n.payload);
  return {
    notificationId: n.id,
    channel: n.channel,
    target: publicTarget(n.channel, n.target),
    ...(caused ? { causedBy: causationJson(caused) } : {}),
  };
}

/**
 * Delivers one notification on its channel, at most once per success.
 *
 * - `event`: delivered inside one transaction with the status change: the `notification.sent` event
 *   (with the payload) is what SSE subscribers receive, so it happens exactly once.
 * - `telegram`, `webhook`: mark `sending` and count the attempt (committed), send, then mark `sent` and
 *   write `notification.sent`, or record the error; on the last attempt, or for a permanent refusal,
 *   mark `failed` and write `notification.failed`. A notification already `sent` is never sent again.
 *   The one gap no database can close: a crash after the receiver got the message and before `sent`
 *   committed sends it again on retry; webhook receivers dedupe on `x-cybernetic-idempotency-key`.
 */
export const notificationSendJob = defineJob({
  name: "notification.send",
  schema: payloadSchema,
  batchSize: 20,
  async handler({ tenantId, notificationId }, ctx): Promise<JsonObject> {
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
        },
      };
    });
    if (claim.kind === "delivered") return { status: "sent", channel: "event", attempts: claim.attempts };
    if (claim.kind !== "claimed") return { status: claim.kind };
    const n = claim.notification;

    let detail: JsonObject;
    try {
      if (n.channel === "telegram") {
        const telegram = ctx.deps.telegram;
        if (!telegram)
          throw new NotificationError("not_configured", "no Telegram bot configured", { retryable: false });
        const text = typeof n.payload.text === "string" ? n.payload.text : JSON.stringify(n.payload);
        const sent = await sendTelegramMessage(telegram, { chatId: n.target, text, signal: ctx.signal });
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
      const permanent = error instanceof NotificationError && !error.retryable;
      const last = ctx.job.attempt > ctx.job.retryLimit;
      const retryAfter = error instanceof NotificationError ? error.retryAfterSeconds : undefined;
      if (permanent || last) {
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
        throw permanent ? new PermanentJobError(message, { cause: error }) : error;
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
