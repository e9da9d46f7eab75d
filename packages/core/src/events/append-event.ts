import {
  type CustomEventType,
  type EventData,
  type EventType,
  eventDataSchemaOf,
} from "../contract/events.js";
import { CyberneticError } from "../errors.js";
import type { TenantTransaction } from "../tenant-context.js";

/**
 * Appends an event to the outbox inside the caller's transaction: it commits with the write it describes
 * or not at all. `data` is checked against the event registry (`eventDataSchemas`) at compile time and
 * validated again at run time, so the outbox never holds an event whose data does not match its type;
 * `custom.<name>` events take any JSON object. A statement trigger notifies `cybernetic_outbox` on
 * commit; the event bus then publishes it (assigns its public id) and fans it out.
 *
 * @throws CyberneticError `internal` when the type is unknown or the data does not match its schema
 * (a bug in the caller, never the client's input), with the issues in `details`.
 *
 * @example
 * ```ts
 * await withTenant(db, tenantId, async (trx) => {
 *   await trx.updateTable("episodes").set({ status: "failed" }).where("id", "=", id).execute();
 *   await appendEvent(trx, tenantId, "episode.failed", { episodeId: id, error: "model unavailable" });
 * });
 * ```
 */
export async function appendEvent<T extends EventType | CustomEventType>(
  trx: TenantTransaction,
  tenantId: string,
  type: T,
  data: EventData<T>,
): Promise<void> {
  const schema = eventDataSchemaOf(type);
  if (!schema) throw new CyberneticError("internal", `unknown event type "${type}"`, { details: { type } });
  const checked = schema.safeParse(data);
  if (!checked.success) {
    throw new CyberneticError("internal", `invalid data for event "${type}"`, {
      details: { type, issues: checked.error.issues },
    });
  }
  await trx
    .insertInto("events")
    .values({ tenant_id: tenantId, type, data: JSON.stringify(data) })
    .execute();
}
