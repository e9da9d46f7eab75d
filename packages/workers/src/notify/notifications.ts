import type { JobPriority, JsonObject, TenantTransaction } from "@cybernetic/core";
import type { CyberneticQueue } from "../queue/job-queue.js";

/** A notification to record and send. */
export interface NotificationRequest {
  channel: "telegram" | "webhook" | "event";
  /** Chat id, URL, or event name suffix. */
  target: string;
  /** What to send: `{ text }` for telegram, the JSON body for webhook, event data for event. */
  payload: JsonObject;
  /** The same key never sends twice (a retried job or a re-evaluated event finds the existing row). */
  idempotencyKey: string;
  priority?: JobPriority;
}

/**
 * Records a notification and enqueues its `notification.send` job in the caller's transaction. Returns
 * the notification id, or null when one with this idempotency key exists already (nothing enqueued).
 *
 * @example
 * ```ts
 * await recordNotification(trx, queue, tenantId, { channel: "telegram", target: "-100123",
 *   payload: { text: "Line 3 stopped" }, idempotencyKey: `alert:${episodeId}:0` });
 * ```
 */
export async function recordNotification(
  trx: TenantTransaction,
  queue: CyberneticQueue,
  tenantId: string,
  request: NotificationRequest,
): Promise<string | null> {
  const row = await trx
    .insertInto("notifications")
    .values({
      tenant_id: tenantId,
      channel: request.channel,
      target: request.target,
      payload: JSON.stringify(request.payload),
      idempotency_key: request.idempotencyKey.slice(0, 300),
    })
    .onConflict((oc) => oc.columns(["tenant_id", "idempotency_key"]).doNothing())
    .returning("id")
    .executeTakeFirst();
  if (!row) return null;
  await queue.enqueue(
    trx,
    "notification.send",
    { tenantId, notificationId: row.id },
    { priority: request.priority ?? "high", singletonKey: `notification:${row.id}` },
  );
  return row.id;
}

/** One of a tenant's alert channels, from `tenant.settings.alerts`. */
export interface AlertChannel {
  channel: "telegram" | "webhook" | "event";
  to: string;
}

/**
 * Reads the alert channels from a tenant's settings: `{ "alerts": [{ "channel": "telegram", "to": "-100…" }] }`.
 * Malformed entries are ignored (settings are free-form JSON).
 */
export function alertChannels(settings: Record<string, unknown>): AlertChannel[] {
  const raw = settings.alerts;
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((entry): AlertChannel[] => {
    if (typeof entry !== "object" || entry === null) return [];
    const { channel, to } = entry as Record<string, unknown>;
    if (
      (channel === "telegram" || channel === "webhook" || channel === "event") &&
      typeof to === "string" &&
      to
    ) {
      return [{ channel, to }];
    }
    return [];
  });
}
