/** `GET /v1/notifications` and `GET /v1/events/recent`: what was sent for a tenant, and what happened. */
import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import { until } from "../../../test/support/until.ts";
import { withTenant } from "../../core/src/index.ts";
import { ADMIN_KEY, createTenant, useGateway } from "./helpers/gateway-harness.ts";

const h = useGateway();
let a: { id: string; key: string };
let b: { id: string; key: string };

beforeAll(async () => {
  const ta = await createTenant(h);
  const tb = await createTenant(h);
  a = { id: ta.tenant.id, key: ta.key };
  b = { id: tb.tenant.id, key: tb.key };
  for (const [tenant, n] of [
    [a, 25],
    [b, 1],
  ] as const) {
    await withTenant(h.db.db, tenant.id, (trx) =>
      trx
        .insertInto("notifications")
        .values(
          Array.from({ length: n }, (_, i) => ({
            tenant_id: tenant.id,
            channel: "webhook",
            target: "https://example.test/hook",
            payload: JSON.stringify({ text: `n${i}` }),
            idempotency_key: `${tenant.id}:${i}`,
            ...(i % 5 === 0
              ? { status: "failed", attempts: 3, last_error: "webhook answered 500" }
              : { status: "sent", attempts: 1 }),
          })),
        )
        .execute(),
    );
  }
  // Events: episodes write episode.created; the bus's publisher would assign ids, as this does.
  for (let i = 0; i < 3; i++) {
    await h.request("/v1/episodes", { method: "POST", key: a.key, body: { title: `e${i}`, content: "c" } });
  }
  // Publishing waits for transactions older than the events' to end, anywhere in the cluster (other test
  // files run beside this one), so it may take a few rounds.
  await until(async () => {
    await sql`select cybernetic.publish_events(1000)`.execute(h.db.db);
    const { rows } = await sql<{ n: string }>`select cybernetic.unpublished_events() as n`.execute(h.db.db);
    return Number(rows[0]?.n) === 0;
  }, "every event to be published");
});

describe("GET /v1/notifications", () => {
  it("pages through the tenant's own notifications, newest first, with status, attempts and last error", async () => {
    const seen: { id: string; status: string; attempts: number; lastError: string | null }[] = [];
    let cursor: string | undefined;
    do {
      const res = await h.request(`/v1/notifications?limit=10${cursor ? `&cursor=${cursor}` : ""}`, {
        key: a.key,
      });
      expect(res.status, res.text).toBe(200);
      seen.push(...res.body.items);
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(25);
    expect(new Set(seen.map((n) => n.id)).size).toBe(25);
    const failed = await h.request("/v1/notifications?status=failed", { key: a.key });
    expect(failed.body.items).toHaveLength(5);
    expect(failed.body.items[0]).toMatchObject({
      status: "failed",
      attempts: 3,
      lastError: "webhook answered 500",
    });
    const other = await h.request("/v1/notifications", { key: b.key });
    expect(other.body.items).toHaveLength(1);
  });

  it("answers bad queries with 400, and an admin key with 403", async () => {
    for (const query of ["status=lost", "limit=0", "limit=101", "cursor=garbage", "colour=red"]) {
      const res = await h.request(`/v1/notifications?${query}`, { key: a.key });
      expect(res.status, `${query}: ${res.text}`).toBe(400);
    }
    expect((await h.request("/v1/notifications", { key: ADMIN_KEY })).status).toBe(403);
  });
});

describe("GET /v1/events/recent", () => {
  it("lists the tenant's published events newest first, by type or category, cursor-paginated", async () => {
    const first = await h.request("/v1/events/recent?limit=2&type=episode.*", { key: a.key });
    expect(first.status, first.text).toBe(200);
    expect(first.body.items).toHaveLength(2);
    expect(first.body.items[0]).toMatchObject({ type: "episode.created", tenantId: a.id });
    const rest = await h.request(`/v1/events/recent?limit=2&type=episode.*&cursor=${first.body.nextCursor}`, {
      key: a.key,
    });
    expect(rest.body.items).toHaveLength(1);
    expect(rest.body.nextCursor).toBeUndefined();
    const ids = [...first.body.items, ...rest.body.items].map((e: { id: string }) => BigInt(e.id));
    expect(ids).toEqual([...ids].sort((x, y) => (x > y ? -1 : 1)));
    const exact = await h.request("/v1/events/recent?type=episode.created", { key: a.key });
    expect(exact.body.items).toHaveLength(3);
    const none = await h.request("/v1/events/recent?type=policy.*", { key: a.key });
    expect(none.body.items).toEqual([]);
    expect((await h.request("/v1/events/recent", { key: b.key })).body.items).toEqual([]);
  });

  it("answers bad queries with 400", async () => {
    for (const query of ["type=nonsense", "type=bogus.*", "cursor=garbage", "limit=x"]) {
      const res = await h.request(`/v1/events/recent?${query}`, { key: a.key });
      expect(res.status, `${query}: ${res.text}`).toBe(400);
    }
  });
});
