/**
 * The outbox cursor a list response was read at (`x-event-cursor`), so that "load a page, then subscribe
 * from its cursor" misses nothing and sees nothing twice.
 *
 * Why two probes around the read: the cursor C must split the tenant's events exactly, every event with
 * id ≤ C reflected in the page and none with id > C. Before the read (snapshot S0) we take C, the
 * highest published id, and require that no event of this tenant is committed but still unpublished in
 * S0 (it would get an id above C yet be in the page): if one is, the publisher is asked to run and we
 * look again. After the read (snapshot S2) we require that the tenant's highest id is unchanged and
 * nothing is unpublished: then no event of this tenant committed between S0 and S2, so the page (read
 * in between) saw exactly the events up to C. Every tenant write commits with its event (the outbox),
 * so "no event" means "no write". When the tenant keeps writing through every attempt, or a long
 * transaction elsewhere on the cluster holds publication back past {@link PUBLISH_WAIT_MS}, the page goes
 * out with the cursor taken before it: nothing is missed, and an event of a write committed before or
 * during the read may also be in the page (at-least-once at that seam).
 */
import { type Db, withTenant } from "@cybernetic/core";
import { sql } from "kysely";
import { type HeaderPair, json, type Reply } from "./reply.js";

/** The response header carrying the cursor. */
export const EVENT_CURSOR_HEADER = "x-event-cursor";

/** The header as the OpenAPI document describes it on every list response. */
export const EVENT_CURSOR_RESPONSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  [EVENT_CURSOR_HEADER]:
    "The outbox cursor this page was read at: open `GET /v1/events` with it as `Last-Event-ID` to receive exactly the events after this page.",
});

const ATTEMPTS = 3;
/**
 * How long a read waits for the tenant's committed events to be published before it settles for the
 * earlier cursor. Publication waits for the oldest transaction running anywhere on the cluster, so a
 * long transaction elsewhere holds it back; a list read should not wait on that for long.
 */
const PUBLISH_WAIT_MS = 500;

interface Probe {
  cursor: string;
  tenantMax: string | null;
  pending: boolean;
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
      } satisfies Probe;
    },
    { readOnly: true },
  );

const publish = (db: Db) => sql`select cybernetic.publish_events(1000)`.execute(db);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Probes, and while the tenant has committed events that are not yet published, publishes and probes
 * again with a short backoff, up to {@link PUBLISH_WAIT_MS}. What it returns may still be pending.
 */
async function probeAfterPublishing(db: Db, tenantId: string): Promise<Probe> {
  let current = await probe(db, tenantId);
  const deadline = Date.now() + PUBLISH_WAIT_MS;
  for (let delay = 2; current.pending; delay = Math.min(delay * 2, 50)) {
    await publish(db);
    current = await probe(db, tenantId);
    if (!current.pending || Date.now() + delay > deadline) break;
    await sleep(delay);
  }
  return current;
}

/**
 * Runs a list read and returns its result with the event cursor it was read at.
 *
 * @example
 * ```ts
 * const { value, cursor } = await readAtEventCursor(db, tenantId, () => episodes.list(tenantId, query));
 * ```
 */
export async function readAtEventCursor<T>(
  db: Db,
  tenantId: string,
  read: () => Promise<T>,
): Promise<{ value: T; cursor: string; header: HeaderPair }> {
  let value: T | undefined;
  let cursor = "0";
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const before = await probeAfterPublishing(db, tenantId);
    value = await read();
    cursor = before.cursor;
    if (before.pending) break; // publication is held back: this read goes out with the earlier cursor
    const after = await probe(db, tenantId);
    if (!after.pending && after.tenantMax === before.tenantMax) break;
  }
  return { value: value as T, cursor, header: [EVENT_CURSOR_HEADER, cursor] };
}

/**
 * A list route's 200 answer, with the event cursor it was read at in `x-event-cursor`.
 *
 * @example
 * ```ts
 * handler: (ctx) => listAtEventCursor(platform.db, tenantOf(ctx), () => episodes.list(tenantOf(ctx), ctx.query)),
 * ```
 */
export async function listAtEventCursor(
  db: Db,
  tenantId: string,
  read: () => Promise<unknown>,
): Promise<Reply> {
  const { value, header } = await readAtEventCursor(db, tenantId, read);
  return json(200, value, [header]);
}
