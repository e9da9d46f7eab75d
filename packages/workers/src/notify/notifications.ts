import {
  type NotificationRequest as CoreNotificationRequest,
  recordNotificationIn,
  type TenantTransaction,
} from "@cybernetic/core";
import type { CyberneticQueue } from "../queue/job-queue.js";

/** A notification to record and send (core's `NotificationRequest`). */
export type NotificationRequest = CoreNotificationRequest;

/**
 * Records a notification and enqueues its `notification.send` job in the caller's transaction. Returns
 * the notification id, or null when one with this idempotency key exists already (nothing enqueued).
 * The same as core's `recordNotificationIn`, with the queue required.
 *
 * @example
 * ```ts
 * await recordNotification(trx, queue, tenantId, { channel: "telegram", target: "-100123",
 *   payload: { text: "Line 3 stopped" }, idempotencyKey: `alert:${episodeId}:0` });
 * ```
 */
export function recordNotification(
  trx: TenantTransaction,
  queue: CyberneticQueue,
  tenantId: string,
  request: NotificationRequest,
): Promise<string | null> {
  return recordNotificationIn(trx, queue, tenantId, request);
}

// A tenant's (or a unit's) alert channels: defined in core, re-exported for existing imports.
export { type AlertChannel, alertChannels } from "@cybernetic/core";
