/**
 * A list read together with the outbox cursor it was read at, so that "load a page, then subscribe from
 * its cursor" misses nothing and sees nothing twice.
 *
 * The cursor C must split the tenant's events exactly: every event with id ≤ C reflected in the page and
 * none with id > C. The read's transaction runs as one REPEATABLE READ snapshot S with a probe pipelined
 * before the read's own statements (no round trip added): C is the highest id published in S. When S
 * holds none of the tenant's events committed but still unpublished, C is exact: the page shows exactly
 * the writes committed in S, every tenant write commits with its event (the outbox), the events committed
 * in S all have their ids (≤ C) in S, and every other event gets its id later, above C (ids are assigned
 * in increasing order, under a lock, to committed events only).
 *
 * When S holds an unpublished event of the tenant, its write is in the page but its id will be above C:
 * the publisher is asked to run and the read is tried again, with a short backoff, for up to
 * `PUBLISH_WAIT_MS`. Publication waits for the oldest transaction running anywhere on the cluster, so a
 * long transaction elsewhere can hold it back; then the page goes out with C: nothing is missed, and an
 * event already in the page may come again (at least once at that seam).
 *
 * A read that opens more than one transaction is not one snapshot: for it the cursor is taken by probes
 * before and after the read (the tenant's highest id unchanged and nothing unpublished in between means
 * no tenant write committed during the read).
 */
import { sql } from "kysely";
import type { Db } from "../database.js";
import { type OutboxProbe, snapshotScope } from "../internal/snapshot-scope.js";
import { withTenant } from "../tenant-context.js";

/**
 * How long a read waits for its tenant's committed events to be published before it settles for the
 * earlier cursor.
 */
export const PUBLISH_WAIT_MS = 500;

/** A read's result and the outbox cursor it was read at. */
export interface ReadAtEventCursor<T> {
  value: T;
  /** Open the event stream with this as `Last-Event-ID` to receive the events after `value`. */
  cursor: string;
  /** False when publication was held back and an event reflected in `value` may also come after `cursor`. */
  exact: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const publish = (db: Db) => sql`select cybernetic.publish_events(1000)`.execute(db);

/**
 * Runs `read` (a list read of one tenant, through `withTenant`) and returns its result with the outbox
 * cursor it was read at.
 *
 * @example
 * ```ts
 * const { value, cursor } = await readAtEventCursor(db, tenantId, () => episodes.list(tenantId, query));
 * // later: GET /v1/events with `Last-Event-ID: cursor` delivers exactly what happened after `value`
 * ```
 */
export async function readAtEventCursor<T>(
  db: Db,
  tenantId: string,
  read: () => Promise<T>,
): Promise<ReadAtEventCursor<T>> {
  const deadline = Date.now() + PUBLISH_WAIT_MS;
  for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
    const scope: { tenantId: string; transactions: number; probe?: OutboxProbe } = {
      tenantId,
      transactions: 0,
    };
    const value = await snapshotScope.run(scope, read);
    const probe = scope.probe;
    if (scope.transactions !== 1 || probe === undefined) return readAroundProbes(db, tenantId, read);
    if (!probe.pending) return { value, cursor: probe.cursor, exact: true };
    if (Date.now() + delay > deadline) return { value, cursor: probe.cursor, exact: false };
    await publish(db);
    await sleep(delay);
  }
}

interface TenantProbe extends OutboxProbe {
  tenantMax: string | null;
}

const probe = (db: Db, tenantId: string) =>
  withTenant(
    db,
    tenantId,
    async (trx) => {
      const { rows } = await sql<{ cursor: string | null; tenant_max: string | null; pending: boolean }>`
        select (select max_id from cybernetic.event_bounds()) as cursor,
               (select max(id) from cybernetic.events) as tenant_max,
               exists (select 1 from cybernetic.events where id is null) as pending`.execute(trx);
      const row = rows[0];
      return {
        cursor: row?.cursor == null ? "0" : String(row.cursor),
        tenantMax: row?.tenant_max == null ? null : String(row.tenant_max),
        pending: row?.pending === true,
      } satisfies TenantProbe;
    },
    { readOnly: true },
  );

/** Probes, publishing and probing again with a backoff while the tenant has unpublished events. */
async function probeAfterPublishing(db: Db, tenantId: string, deadline: number): Promise<TenantProbe> {
  let current = await probe(db, tenantId);
  for (let delay = 2; current.pending; delay = Math.min(delay * 2, 50)) {
    await publish(db);
    current = await probe(db, tenantId);
    if (!current.pending || Date.now() + delay > deadline) break;
    await sleep(delay);
  }
  return current;
}

/** The cursor of a read that is not one snapshot: probes before and after it (see the module comment). */
async function readAroundProbes<T>(
  db: Db,
  tenantId: string,
  read: () => Promise<T>,
): Promise<ReadAtEventCursor<T>> {
  const deadline = Date.now() + PUBLISH_WAIT_MS;
  for (let attempt = 0; ; attempt++) {
    const before = await probeAfterPublishing(db, tenantId, deadline);
    const value = await read();
    if (before.pending) return { value, cursor: before.cursor, exact: false };
    const after = await probe(db, tenantId);
    if (!after.pending && after.tenantMax === before.tenantMax)
      return { value, cursor: before.cursor, exact: true };
    if (attempt >= 2) return { value, cursor: before.cursor, exact: false };
  }
}
