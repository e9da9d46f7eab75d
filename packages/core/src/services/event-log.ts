import { sql } from "kysely";
import type { Page } from "../contract/common.js";
import { type CyberneticEvent, listEventsSchema } from "../contract/events.js";
import type { Db } from "../database.js";
import { toEvent } from "../events/event-bus.js";
import { decodeCursor, encodeCursor } from "../internal/cursor.js";
import { eventPatternFilter } from "../internal/event-pattern-filter.js";
import { parseInput } from "../internal/validation.js";
import { withTenant } from "../tenant-context.js";

/** A tenant's recent events, read from the outbox (kept for the housekeeping job's retention). */
export interface EventLogService {
  /**
   * Lists a tenant's published events, newest first (by id), optionally by type or category.
   *
   * @example
   * ```ts
   * const { items, nextCursor } = await platform.events.list(tenantId, { type: "episode.*", limit: 50 });
   * ```
   * @throws CyberneticError `validation_failed`, `invalid_cursor`.
   */
  list(tenantId: string, input?: unknown): Promise<Page<CyberneticEvent>>;
}

const isEventId = (v: unknown): v is string => typeof v === "string" && /^[1-9]\d{0,18}$/.test(v);

/** Creates the event log service. */
export function createEventLogService(db: Db): EventLogService {
  return {
    async list(tenantId, raw = {}) {
      const input = parseInput(listEventsSchema, raw, "query");
      const before =
        input.cursor === undefined ? undefined : decodeCursor<[string]>(input.cursor, [isEventId])[0];
      const rows = await withTenant(
        db,
        tenantId,
        (trx) => {
          // Only published events (the publisher assigns `id` once the writing transaction is safe to
          // show, see the event bus), so this list and the event stream agree.
          let q = trx
            .selectFrom("events")
            .select(["id", "tenant_id", "type", "data", "created_at"])
            .where("tenant_id", "=", tenantId)
            .where("id", "is not", null)
            .orderBy("id", "desc")
            .limit(input.limit + 1);
          const filter = eventPatternFilter(input.type === undefined ? undefined : [input.type]);
          if (filter) q = q.where(filter);
          if (before) q = q.where("id", "<", sql<string>`${before}::bigint`);
          return q.execute();
        },
        { readOnly: true },
      );
      const page = rows.slice(0, input.limit).map((row) => toEvent({ ...row, id: String(row.id) }));
      const last = page.at(-1);
      return rows.length > input.limit && last
        ? { items: page, nextCursor: encodeCursor([last.id]) }
        : { items: page };
    },
  };
}
