/**
 * `withTenant` on a pipelined connection: BEGIN+context and the first statement share one round trip, and
 * pipelining never weakens the transaction. The round-trip proof runs through a real TCP proxy on loopback
 * that can hold the server's answers back: the first statement must reach the server while BEGIN's answer
 * is still held, which a connection waiting for each answer could never do.
 */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedTenant } from "../../../test/factories/index.ts";
import { useTestPlatform } from "../../../test/setup/database.ts";
import { HoldingProxy } from "../../../test/support/holding-proxy.ts";
import { until } from "../../../test/support/until.ts";
import { createDatabase, type Db, withTenant } from "../src/index.ts";

describe("withTenant on a pipelined connection", () => {
  const ctx = useTestPlatform();
  let a: string;
  let b: string;

  beforeAll(async () => {
    a = (await seedTenant(ctx.platform)).tenant.id;
    b = (await seedTenant(ctx.platform)).tenant.id;
  });

  describe("round trips", () => {
    let proxy: HoldingProxy;
    let db: Db;

    beforeAll(async () => {
      const proxied = await HoldingProxy.forUrl(ctx.database.appUrl);
      proxy = proxied.proxy;
      db = createDatabase({
        url: proxied.url,
        pooler: ctx.database.pooled ? "transaction" : "auto",
        poolSize: 1,
      });
      // Open the one connection first, so only the transaction's own messages are watched below.
      await withTenant(db, a, async (trx) => sql`select 1`.execute(trx));
    });

    afterAll(async () => {
      proxy.release();
      await db.destroy();
      await proxy.close();
    });

    it("a read sends BEGIN+context and its statement before any answer comes back", async () => {
      const marker = `marker-${Date.now()}`;
      proxy.sent = "";
      proxy.hold();
      const read = withTenant(
        db,
        a,
        (trx) => trx.selectFrom("episodes").select("id").where("title", "=", marker).execute(),
        { readOnly: true },
      );
      // Every answer is held: the statement can only be on the wire if it was sent without waiting.
      await until(() => proxy.sent.includes(marker), "the statement to be sent while BEGIN is unanswered");
      // BEGIN, then the context statement bound to the tenant id (prepared: its name; behind a
      // transaction pooler: its text, unnamed), then the read.
      const beginAt = proxy.sent.indexOf("begin read only");
      const contextAt = proxy.sent.indexOf(
        ctx.database.pooled ? "set_config('app.tenant_id'" : "cybernetic_tenant_context",
      );
      const tenantAt = proxy.sent.indexOf(a, contextAt);
      expect(beginAt).toBeGreaterThanOrEqual(0);
      expect(contextAt).toBeGreaterThan(beginAt);
      expect(tenantAt).toBeGreaterThan(contextAt);
      expect(tenantAt).toBeLessThan(proxy.sent.indexOf(marker));
      expect(proxy.sent).not.toContain("commit");
      proxy.release();
      expect(await read).toEqual([]);
      // COMMIT follows the result; the single connection is back in the pool and clean afterwards.
      const after = await sql<{
        t: string | null;
      }>`select nullif(current_setting('app.tenant_id', true), '') as t`.execute(db);
      expect(after.rows[0]?.t ?? null).toBeNull();
      expect(proxy.sent).toContain("commit");
    });
  });

  it("a read-only transaction refuses a write pipelined behind its BEGIN, and nothing is written", async () => {
    const title = `read-only-${Date.now()}`;
    await expect(
      withTenant(
        ctx.db,
        a,
        (trx) => trx.insertInto("episodes").values({ tenant_id: a, title, content: "x" }).execute(),
        { readOnly: true },
      ),
    ).rejects.toThrow(/read-only transaction/);
    const rows = await withTenant(ctx.db, a, (trx) =>
      trx.selectFrom("episodes").select("id").where("title", "=", title).execute(),
    );
    expect(rows).toEqual([]);
  });

  it("statements issued together inside fn run in order, in one transaction", async () => {
    const title = `together-${Date.now()}`;
    const [, seen, txids] = await withTenant(ctx.db, a, (trx) =>
      Promise.all([
        trx.insertInto("episodes").values({ tenant_id: a, title, content: "x" }).execute(),
        trx.selectFrom("episodes").select("title").where("title", "=", title).execute(),
        sql<{
          x: string;
        }>`select pg_current_xact_id()::text as x union all select pg_current_xact_id()::text`.execute(trx),
      ]),
    );
    expect(seen.map((r) => r.title)).toEqual([title]);
    expect(new Set(txids.rows.map((r) => r.x)).size).toBe(1);
  });

  it("a failing statement rolls back the whole transaction and the connection comes back clean", async () => {
    const one = createDatabase({ url: ctx.database.appUrl, directUrl: ctx.database.directUrl, poolSize: 1 });
    try {
      const title = `rolled-back-${Date.now()}`;
      await expect(
        withTenant(one, a, async (trx) => {
          await trx.insertInto("episodes").values({ tenant_id: a, title, content: "x" }).execute();
          await sql`select 1 / 0`.execute(trx);
        }),
      ).rejects.toMatchObject({ code: "22012" });
      // The same (only) connection, alternately for both tenants: each sees its own rows, never the other's.
      for (const tenant of [a, b, a, b]) {
        const rows = await withTenant(
          one,
          tenant,
          (trx) => trx.selectFrom("episodes").select(["title", "tenant_id"]).execute(),
          { readOnly: true },
        );
        expect(rows.every((r) => r.tenant_id === tenant)).toBe(true);
        expect(rows.some((r) => r.title === title)).toBe(false);
      }
      const status = await sql<{
        t: string | null;
      }>`select nullif(current_setting('app.tenant_id', true), '') as t`.execute(one);
      expect(status.rows[0]?.t ?? null).toBeNull();
    } finally {
      await one.destroy();
    }
  });
});
