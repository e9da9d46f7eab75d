import type { EventType } from "../contract/events.js";
import type { JsonObject } from "../schema.js";
import type { TenantTransaction } from "../tenant-context.js";

/**
 * Appends an event to the outbox inside the caller's transaction: it commits with the write it describes
 * or not at all. A statement trigger notifies `cybernetic_outbox` on commit; the event bus then publishes
 * it (assigns its public id) and fans it out.
 *
 * @example
 * ```ts
 * await withTenant(db, tenantId, async (trx) => {
 *   await trx.updateTable("episodes").set({ status: "failed" }).where("id", "=", id).execute();
 *   await appendEvent(trx, tenantId, "episode.failed", { episodeId: id });
 * });
 * ```
 */
export async function appendEvent(
  trx: TenantTransaction,
  tenantId: string,
  type: EventType | `custom.${string}`,
  data: JsonObject,
): Promise<void> {
  await trx
    .insertInto("events")
    .values({ tenant_id: tenantId, type, data: JSON.stringify(data) })
    .execute();
}
