import { AsyncLocalStorage } from "node:async_hooks";

/** What the outbox looked like in the snapshot a list read ran in. */
export interface OutboxProbe {
  /** The highest published event id of all tenants ("0" for none). */
  cursor: string;
  /** True when one of the tenant's events is committed but not yet published (it has no id yet). */
  pending: boolean;
}

/** A list read that wants its result and the outbox cursor from one snapshot (see `readAtEventCursor`). */
export interface SnapshotScope {
  tenantId: string;
  /** How many `withTenant` transactions of this tenant the read opened. */
  transactions: number;
  /** Set by the first read-only one, which ran REPEATABLE READ with the probe pipelined before `fn`. */
  probe?: OutboxProbe;
}

/**
 * Set while `readAtEventCursor` runs a read: the first read-only `withTenant` of that tenant then runs as
 * one REPEATABLE READ snapshot with the outbox probe written just before the read's own statements (no
 * round trip added), so the page and the cursor describe the same moment.
 */
export const snapshotScope = new AsyncLocalStorage<SnapshotScope>();

/** The probe, pipelined inside the snapshot. Row-level security limits the `pending` check to the tenant. */
export const OUTBOX_PROBE_SQL = `select (select max_id from cybernetic.event_bounds()) as cursor,
       exists (select 1 from cybernetic.events where id is null) as pending`;
