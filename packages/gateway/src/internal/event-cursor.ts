/**
 * The outbox cursor a list response was read at (`x-event-cursor`), so that "load a page, then subscribe
 * from its cursor" misses nothing and sees nothing twice. The cursor comes from core's
 * `readAtEventCursor`: the page and the cursor are read in one snapshot, in the read's own transaction.
 */
import { type Db, readAtEventCursor } from "@cybernetic/core";
import { type HeaderPair, json, type Reply } from "./reply.js";

export { readAtEventCursor };

/** The response header carrying the cursor. */
export const EVENT_CURSOR_HEADER = "x-event-cursor";

/** The header as the OpenAPI document describes it on every list response. */
export const EVENT_CURSOR_RESPONSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  [EVENT_CURSOR_HEADER]:
    "The outbox cursor this page was read at: open `GET /v1/events` with it as `Last-Event-ID` to receive exactly the events after this page.",
});

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
  const { value, cursor } = await readAtEventCursor(db, tenantId, read);
  const header: HeaderPair = [EVENT_CURSOR_HEADER, cursor];
  return json(200, value, [header]);
}
