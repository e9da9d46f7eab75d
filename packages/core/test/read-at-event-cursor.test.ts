/**
 * `readAtEventCursor`: a list read and the outbox cursor it was read at come from one REPEATABLE READ
 * snapshot in the read's own transaction, exact when the tenant's events are published; while a
 * transaction elsewhere holds publication back the read keeps the earlier cursor (at least once, never
 * lost); a read of more than one transaction gets its cursor from probes around it.
 */
import { sql } from "kysely";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { episodeInput, policyInput, seedTenant } from "../../../test/factories/index.ts";
import { useTestPlatform } from "../../../test/setup/database.ts";
import { until } from "../../../test/support/until.ts";
import { type Db, readAtEventCursor, withTenant } from "../src/index.ts";

const maxPublishedId = async (db: Db) =>
  String(
    (await sql<{ max_id: string | null }>`select max_id from cybernetic.event_bounds()`.execute(db)).rows[0]
      ?.max_id ?? 0,
  );

/** Publishes until none of this database's events waits (other test files' transactions may delay it). */
const publishAll = (db: Db) =>
  until(async () => {
    await sql`select cybernetic.publish_events(1000)`.execute(db);
    const { rows } = await sql<{ n: string }>`select cybernetic.unpublished_events() as n`.execute(db);
    return Number(rows[0]?.n) === 0;
  }, "every event published");

/** The id the outbox gave the event of `episodeId` (once published). */
const eventIdOf = async (db: Db, tenantId: string, episodeId: string) =>
  withTenant(db, tenantId, async (trx) => {
    const { rows } = await sql<{ id: string | null }>`
      select id from cybernetic.events where type = 'episode.created' and data->>'episodeId' = ${episodeId}`.execute(
      trx,
    );
    return rows[0]?.id ?? null;
  });

describe("readAtEventCursor", () => {
  const ctx = useTestPlatform();

  it("gives every list of a tenant with the highest published id, exactly, once its events are published", async () => {
    const { tenant } = await seedTenant(ctx.platform);
    const p = ctx.platform;
    await p.episodes.create(tenant.id, episodeInput());
    await p.policies.create(tenant.id, policyInput());
    await publishAll(p.db);
    const reads: [string, () => Promise<unknown>][] = [
      ["episodes", () => p.episodes.list(tenant.id)],
      ["policies", () => p.policies.list(tenant.id)],
      ["systems", () => p.systems.list(tenant.id)],
      ["units", () => p.units.list(tenant.id)],
      ["alerts", () => p.alerts.list(tenant.id)],
    ];
    for (const [name, read] of reads) {
      const before = await maxPublishedId(p.db);
      const result = await readAtEventCursor(p.db, tenant.id, read);
      expect(result.exact, name).toBe(true);
      // Nothing of this tenant was written meanwhile; other tenants' events may only raise the cursor.
      expect(BigInt(result.cursor), name).toBeGreaterThanOrEqual(BigInt(before));
      expect(result.value, name).toEqual(await read());
    }
  });

  it("runs the read as one REPEATABLE READ snapshot; outside it a read-only transaction stays READ COMMITTED", async () => {
    const { tenant } = await seedTenant(ctx.platform);
    const isolation = () =>
      withTenant(
        ctx.platform.db,
        tenant.id,
        async (trx) =>
          (await sql<{ transaction_isolation: string }>`show transaction_isolation`.execute(trx)).rows[0]
            ?.transaction_isolation,
        { readOnly: true },
      );
    expect((await readAtEventCursor(ctx.platform.db, tenant.id, isolation)).value).toBe("repeatable read");
    expect(await isolation()).toBe("read committed");
  });

  it("while a transaction elsewhere holds publication back, keeps the earlier cursor: the write is in the page and its event after the cursor", async () => {
    const { tenant } = await seedTenant(ctx.platform);
    const p = ctx.platform;
    await publishAll(p.db);
    const holder = new pg.Client({ connectionString: ctx.database.ownerUrl });
    await holder.connect();
    try {
      await holder.query("begin");
      await holder.query("select pg_current_xact_id()"); // holds the cluster's xmin, so the publisher waits
      const held = (await p.episodes.create(tenant.id, episodeInput())).episode.id;
      const result = await readAtEventCursor(p.db, tenant.id, () => p.episodes.list(tenant.id));
      expect(result.exact).toBe(false);
      expect(result.value.items.map((e) => e.id)).toContain(held);
      await holder.query("commit");
      await publishAll(p.db);
      const id = await eventIdOf(p.db, tenant.id, held);
      expect(id).not.toBeNull();
      expect(BigInt(id as string)).toBeGreaterThan(BigInt(result.cursor));
    } finally {
      await holder.end();
    }
  });

  it("a read of more than one transaction gets its cursor from probes around it", async () => {
    const { tenant } = await seedTenant(ctx.platform);
    const p = ctx.platform;
    const written = (await p.episodes.create(tenant.id, episodeInput())).episode.id;
    await publishAll(p.db);
    const result = await readAtEventCursor(p.db, tenant.id, () =>
      Promise.all([p.episodes.list(tenant.id), p.policies.list(tenant.id)]),
    );
    expect(result.exact).toBe(true);
    expect(result.value[0].items.map((e) => e.id)).toContain(written);
    expect(BigInt(result.cursor)).toBeGreaterThanOrEqual(
      BigInt((await eventIdOf(p.db, tenant.id, written)) ?? 0),
    );
  });
});
