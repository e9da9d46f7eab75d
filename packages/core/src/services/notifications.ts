import { type Selectable, sql } from "kysely";
import type { Page } from "../contract/common.js";
import {
  listNotificationsSchema,
  type Notification,
  type NotificationStatus,
} from "../contract/notifications.js";
import type { Db } from "../database.js";
import { decodeCursor, encodeCursor, isIsoTimestamp, isUuidString } from "../internal/cursor.js";
import { iso } from "../internal/time.js";
import { parseInput } from "../internal/validation.js";
import type { JobPriority, JobQueue } from "../jobs.js";
import type { JsonObject, NotificationsTable } from "../schema.js";
import { type TenantTransaction, withTenant } from "../tenant-context.js";

/** A tenant's notifications, as delivered (or not) by the workers. */
export interface NotificationService {
  /**
   * Lists a tenant's notifications, newest first, optionally by status.
   *
   * @example
   * ```ts
   * const { items } = await platform.notifications.list(tenantId, { status: "failed" });
   * ```
   * @throws CyberneticError `validation_failed`, `invalid_cursor`.
   */
  list(tenantId: string, input?: unknown): Promise<Page<Notification>>;
}

/** Maps a notifications row to the API shape. */
export function toNotification(row: Selectable<NotificationsTable>): Notification {
  return {
    id: row.id,
    channel: row.channel as Notification["channel"],
    target: row.target,
    payload: row.payload,
    status: row.status as NotificationStatus,
    attempts: row.attempts,
    lastError: row.last_error,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    sentAt: row.sent_at ? iso(row.sent_at) : null,
  };
}

/** Creates the notification service. */
export function createNotificationService(db: Db): NotificationService {
  return {
    async list(tenantId, raw = {}) {
      const input = parseInput(listNotificationsSchema, raw, "query");
      // Keyset on the uuid alone would not be time order; (created_at, id) is, and the cursor carries both
      // with microseconds, as text, so no row is skipped at a page boundary.
      const after =
        input.cursor === undefined
          ? undefined
          : decodeCursor<[string, string]>(input.cursor, [isIsoTimestamp, isUuidString]);
      const rows = await withTenant(
        db,
        tenantId,
        (trx) => {
          let q = trx
            .selectFrom("notifications")
            .selectAll()
            .select(
              sql<string>`to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as("c"),
            )
            .where("tenant_id", "=", tenantId)
            .orderBy("created_at", "desc")
            .orderBy("id", "desc")
            .limit(input.limit + 1);
          if (input.status) q = q.where("status", "=", input.status);
          if (after) {
            const [createdAt, id] = after;
            q = q.where(sql<boolean>`(created_at, id) < (${createdAt}::timestamptz, ${id}::uuid)`);
          }
          return q.execute();
        },
        { readOnly: true },
      );
      const page = rows.slice(0, input.limit);
      const last = page.at(-1);
      return rows.length > input.limit && last
        ? { items: page.map(toNotification), nextCursor: encodeCursor([last.c, last.id]) }
        : { items: page.map(toNotification) };
    },
  };
}

/** A notification to record and send (see `recordNotificationIn`). */
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
 * Records a notification and, with a queue, enqueues its `notification.send` job, in the caller's
 * transaction. Returns the notification id, or null when one with this idempotency key exists already
 * (nothing enqueued). Without a queue the row stays `pending` until something sends it.
 *
 * @example
 * ```ts
 * await recordNotificationIn(trx, queue, tenantId, { channel: "telegram", target: "-100123",
 *   payload: { text: "Line 3 stopped" }, idempotencyKey: `alert:${episodeId}:0` });
 * ```
 */
export async function recordNotificationIn(
  trx: TenantTransaction,
  queue: JobQueue | undefined,
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
  await queue?.enqueue(
    trx,
    "notification.send",
    { tenantId, notificationId: row.id },
    { priority: request.priority ?? "high", singletonKey: `notification:${row.id}` },
  );
  return row.id;
}
