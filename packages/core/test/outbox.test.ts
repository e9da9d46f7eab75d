/**
 * The outbox: every write DESIGN.md lists an event for writes exactly one event row in its own transaction;
 * a rollback leaves none; `cybernetic_outbox` is notified on commit only; `publish_events()` assigns ids in
 * an order no reader can skip past, even when writers commit out of order.
 */
import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { episodeInput, policyInput, seedTenant } from "../../../test/factories/index.ts";
import { type TestPlatformContext, useTestPlatform } from "../../../test/setup/database.ts";
import { type Db, type TenantTransaction, withTenant } from "../src/index.ts";

/** A LISTEN connection that records notifications and lets a test wait for one. */
class Listener {
  readonly received: { channel: string; payload: string }[] = [];
  private waiters: (() => void)[] = [];
  private constructor(private readonly client: pg.Client) {
    client.on("notification", (n) => {
      this.received.push({ channel: n.channel, payload: n.payload ?? "" });
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  static async open(url: string, channels: string[]): Promise<Listener> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    for (const channel of channels) await client.query(`listen ${pg.escapeIdentifier(channel)}`);
    return new Listener(client);
  }

  on(channel: string) {
    return this.received.filter((n) => n.channel === channel);
  }

  /** Resolves with the first notification matching, failing the test if none arrives within `ms`. */
  async waitFor(
    channel: string,
    payload?: string,
    ms = 15_000,
  ): Promise<{ channel: string; payload: string }> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.received.find(
        (n) => n.channel === channel && (payload === undefined || n.payload === payload),
      );
      if (hit) return hit;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no notification on ${channel} (${payload ?? "any payload"})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /**
   * Notifies a private channel from another connection and waits for it. Notifications reach a listener
   * in commit order, so once the sentinel is here every notification committed before it has arrived too.
   */
  async barrier(db: Db): Promise<void> {
    const token = randomUUID();
    await sql`select pg_notify('test_sentinel', ${token})`.execute(db);
    await this.waitFor("test_sentinel", token);
  }

  clear() {
    this.received.length = 0;
  }

  close() {
    return this.client.end();
  }
}

/** A raw connection on the runtime role, for transactions a test must hold open. */
async function rawClient(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const unpublished = async (db: Db) =>
  Number((await sql<{ n: string }>`select cybernetic.unpublished_events() as n`.execute(db)).rows[0]?.n);

const publishOnce = async (db: Db) =>
  (await sql<{ last: string | null }>`select cybernetic.publish_events() as last`.execute(db)).rows[0]
    ?.last ?? null;

/**
 * Publishes until nothing of this database waits. The publisher only takes transactions older than the
 * oldest one running anywhere in the cluster, and other test files run transactions concurrently, so one
 * call may legitimately publish nothing; the loop waits for that to pass.
 */
async function publishAll(db: Db): Promise<string[]> {
  const returned: string[] = [];
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && (await unpublished(db)) > 0) {
    const last = await publishOnce(db);
    if (last === null) await sleep(10);
    else returned.push(last);
  }
  expect(await unpublished(db)).toBe(0);
  return returned;
}

interface PublishedEvent {
  id: string;
  tenant_id: string;
  type: string;
  data: Record<string, unknown>;
}
const readEvents = async (db: Db, after: number | string, limit = 500) =>
  (
    await sql<PublishedEvent>`select id, tenant_id, type, data from cybernetic.read_events(${after}, ${limit})`.execute(
      db,
    )
  ).rows;

const maxPublishedId = async (db: Db) =>
  Number(
    (await sql<{ max_id: string | null }>`select max_id from cybernetic.event_bounds()`.execute(db)).rows[0]
      ?.max_id ?? 0,
  );

describe("outbox", () => {
  const ctx = useTestPlatform();

  /** This tenant's event rows after `seq`, oldest first. */
  const eventsAfter = (tenantId: string, seq: string) =>
    withTenant(ctx.db, tenantId, (trx) =>
      trx
        .selectFrom("events")
        .select(["seq", "xid", "tenant_id", "type", "data", "id"])
        .where("seq", ">", seq)
        .orderBy("seq")
        .execute(),
    );
  /** The tenant's highest event seq so far (row-level security shows only the tenant's rows). */
  const lastSeq = (tenantId: string) =>
    withTenant(ctx.db, tenantId, async (trx) => {
      const { rows } = await sql<{
        seq: string;
      }>`select coalesce(max(seq), 0)::text as seq from cybernetic.events`.execute(trx);
      return rows[0]?.seq ?? "0";
    });
  /** xid8 of a transaction → the 32-bit xid a row's xmin shows. */
  const xid32 = (xid8: string) => String(BigInt(xid8) % 2n ** 32n);
  const xminOf = async (
    tenantId: string,
    table: "episodes" | "policies" | "system_states",
    where: string,
    value: unknown,
  ) =>
    withTenant(ctx.db, tenantId, async (trx) => {
      const { rows } = await sql<{
        xmin: string;
      }>`select xmin::text as xmin from ${sql.table(`cybernetic.${table}`)} where ${sql.ref(where)} = ${value}`.execute(
        trx,
      );
      return rows[0]?.xmin;
    });
  const currentXid = async (trx: TenantTransaction) =>
    (await sql<{ xid: string }>`select pg_current_xact_id()::text as xid`.execute(trx)).rows[0]?.xid;

  /**
   * One row per write that DESIGN.md lists an event for. `run` performs the write and returns how to tell
   * its transaction: `{ xid8 }` from inside it, or `{ xmin }` of the row it wrote.
   */
  const writes: [
    string,
    string,
    (c: TestPlatformContext, t: string) => Promise<{ xid8?: string; xmin?: string } | undefined>,
  ][] = [
    [
      "episodes.create",
      "episode.created",
      async (c, t) => {
        const { episode } = await c.platform.episodes.create(t, episodeInput());
        return { xmin: await xminOf(t, "episodes", "id", episode.id) };
      },
    ],
    [
      "episodes.createIn",
      "episode.created",
      (c, t) =>
        withTenant(c.db, t, async (trx) => {
          await c.platform.episodes.createIn(trx, t, episodeInput());
          return { xid8: await currentXid(trx) };
        }),
    ],
    [
      "policies.create",
      "policy.created",
      async (c, t) => {
        const policy = await c.platform.policies.create(t, policyInput());
        return { xmin: await xminOf(t, "policies", "id", policy.id) };
      },
    ],
    [
      "systems.update",
      "system.state_changed",
      async (c, t) => {
        await c.platform.systems.update(t, 4, { state: { watch: ["market"] }, version: 1 });
        return { xmin: await xminOf(t, "system_states", "system", 4) };
      },
    ],
    [
      "systems.patchIn",
      "system.state_changed",
      (c, t) =>
        withTenant(c.db, t, async (trx) => {
          await c.platform.systems.patchIn(trx, t, 2, { damping: true });
          return { xid8: await currentXid(trx) };
        }),
    ],
  ];

  describe("each write writes exactly one event of its type and tenant, in its own transaction", () => {
    it.each(writes)("%s → %s", async (_, type, run) => {
      const { tenant } = await seedTenant(ctx.platform);
      const other = await seedTenant(ctx.platform);
      const before = await lastSeq(tenant.id);
      const tx = await run(ctx, tenant.id);
      const events = await eventsAfter(tenant.id, before);
      expect(events.map((e) => [e.type, e.tenant_id])).toEqual([[type, tenant.id]]);
      const [event] = events;
      if (tx?.xid8) expect(event?.xid).toBe(tx.xid8);
      if (tx?.xmin) expect(xid32(event!.xid)).toBe(tx.xmin);
      expect(tx?.xid8 ?? tx?.xmin).toBeDefined();
      expect(await eventsAfter(other.tenant.id, before)).toEqual([]);
    });

    it("episodes.completeAnalysis → episode.analyzed and episodes.failAnalysis → episode.failed", async () => {
      const { tenant } = await seedTenant(ctx.platform);
      const t = tenant.id;
      const { episode: a } = await ctx.platform.episodes.create(t, episodeInput());
      const { episode: b } = await ctx.platform.episodes.create(t, episodeInput());
      let before = await lastSeq(t);
      const xidA = await withTenant(ctx.db, t, async (trx) => {
        await ctx.platform.episodes.startAnalysis(trx, a.id);
        await ctx.platform.episodes.completeAnalysis(trx, t, a.id, { summary: "ok", risk: { level: "low" } });
        return currentXid(trx);
      });
      let events = await eventsAfter(t, before);
      expect(events.map((e) => [e.type, e.tenant_id, e.xid])).toEqual([["episode.analyzed", t, xidA]]);

      before = await lastSeq(t);
      const xidB = await withTenant(ctx.db, t, async (trx) => {
        await ctx.platform.episodes.failAnalysis(trx, t, b.id, "model unavailable");
        return currentXid(trx);
      });
      events = await eventsAfter(t, before);
      expect(events.map((e) => [e.type, e.tenant_id, e.xid])).toEqual([["episode.failed", t, xidB]]);
      // startAnalysis and requestAnalysis are not listed for an event and write none.
      before = await lastSeq(t);
      await ctx.platform.episodes.requestAnalysis(t, b.id);
      await withTenant(ctx.db, t, (trx) => ctx.platform.episodes.startAnalysis(trx, b.id));
      expect(await eventsAfter(t, before)).toEqual([]);
    });

    it("policies.update, setActive → policy.updated; delete → policy.deleted", async () => {
      const { tenant } = await seedTenant(ctx.platform);
      const t = tenant.id;
      const policy = await ctx.platform.policies.create(t, policyInput());
      let before = await lastSeq(t);
      await ctx.platform.policies.update(t, policy.id, { priority: 1 });
      let events = await eventsAfter(t, before);
      expect(events.map((e) => [e.type, e.tenant_id])).toEqual([["policy.updated", t]]);
      expect(xid32(events[0]!.xid)).toBe(await xminOf(t, "policies", "id", policy.id));

      before = await lastSeq(t);
      await ctx.platform.policies.setActive(t, policy.id, false);
      events = await eventsAfter(t, before);
      expect(events.map((e) => [e.type, e.data])).toEqual([
        ["policy.updated", { policyId: policy.id, version: 3, active: false }],
      ]);

      before = await lastSeq(t);
      await ctx.platform.policies.delete(t, policy.id);
      events = await eventsAfter(t, before);
      expect(events.map((e) => [e.type, e.tenant_id, e.data])).toEqual([
        ["policy.deleted", t, { policyId: policy.id, name: policy.name }],
      ]);
    });

    it("writes that fail write no event", async () => {
      const { tenant } = await seedTenant(ctx.platform);
      const t = tenant.id;
      const policy = await ctx.platform.policies.create(t, policyInput());
      const before = await lastSeq(t);
      await expect(ctx.platform.systems.update(t, 1, { state: {}, version: 9 })).rejects.toMatchObject({
        code: "version_conflict",
      });
      await expect(ctx.platform.policies.update(t, policy.id, { version: 9 })).rejects.toMatchObject({
        code: "version_conflict",
      });
      await expect(
        ctx.platform.policies.create(t, { ...policyInput(), name: policy.name }),
      ).rejects.toMatchObject({
        code: "duplicate",
      });
      await expect(ctx.platform.policies.delete(t, randomUUID())).rejects.toMatchObject({
        code: "not_found",
      });
      await expect(ctx.platform.episodes.create(t, { title: "" })).rejects.toMatchObject({
        code: "validation_failed",
      });
      expect(await eventsAfter(t, before)).toEqual([]);
    });
  });

  it("a rolled back transaction leaves neither the write nor its event", async () => {
    const { tenant } = await seedTenant(ctx.platform);
    const t = tenant.id;
    const { episode } = await ctx.platform.episodes.create(t, episodeInput());
    const before = await lastSeq(t);
    let inside: string[] = [];
    await expect(
      withTenant(ctx.db, t, async (trx) => {
        await ctx.platform.episodes.createIn(trx, t, episodeInput({ title: "ghost" }));
        await ctx.platform.systems.patchIn(trx, t, 5, { identity: "ghost" });
        await ctx.platform.episodes.startAnalysis(trx, episode.id);
        await ctx.platform.episodes.completeAnalysis(trx, t, episode.id, { summary: "ghost" });
        inside = (
          await trx.selectFrom("events").select("type").where("seq", ">", before).orderBy("seq").execute()
        ).map((e) => e.type);
        throw new Error("abort");
      }),
    ).rejects.toThrow("abort");
    expect(inside).toEqual(["episode.created", "system.state_changed", "episode.analyzed"]);
    expect(await eventsAfter(t, before)).toEqual([]);
    expect((await ctx.platform.episodes.list(t)).items.map((e) => e.id)).toEqual([episode.id]);
    expect((await ctx.platform.episodes.get(t, episode.id)).status).toBe("pending");
    expect((await ctx.platform.systems.get(t, 5)).version).toBe(1);
  });

  describe("notifications", () => {
    let listener: Listener;
    beforeAll(async () => {
      listener = await Listener.open(ctx.database.directUrl, [
        "cybernetic_outbox",
        "cybernetic_events",
        "test_sentinel",
      ]);
    });
    afterAll(() => listener?.close());

    it("cybernetic_outbox fires on commit, not before", async () => {
      const { tenant } = await seedTenant(ctx.platform);
      await listener.barrier(ctx.db);
      listener.clear();
      await withTenant(ctx.db, tenant.id, async (trx) => {
        await ctx.platform.episodes.createIn(trx, tenant.id, episodeInput());
        await listener.barrier(ctx.db);
        expect(listener.on("cybernetic_outbox")).toEqual([]);
      });
      await listener.waitFor("cybernetic_outbox");
      expect(listener.on("cybernetic_outbox")).toHaveLength(1);
    });

    it("cybernetic_outbox does not fire for a rolled back write", async () => {
      const { tenant } = await seedTenant(ctx.platform);
      await listener.barrier(ctx.db);
      listener.clear();
      await expect(
        withTenant(ctx.db, tenant.id, async (trx) => {
          await ctx.platform.episodes.createIn(trx, tenant.id, episodeInput());
          await ctx.platform.systems.patchIn(trx, tenant.id, 1, { x: 1 });
          throw new Error("abort");
        }),
      ).rejects.toThrow("abort");
      await listener.barrier(ctx.db);
      expect(listener.on("cybernetic_outbox")).toEqual([]);
      // …while a committed one right after does.
      await ctx.platform.systems.update(tenant.id, 1, { state: { y: 2 }, version: 1 });
      await listener.waitFor("cybernetic_outbox");
    });

    it("publish_events notifies cybernetic_events with the highest id it assigned", async () => {
      const { tenant } = await seedTenant(ctx.platform);
      await publishAll(ctx.db);
      await ctx.platform.episodes.create(tenant.id, episodeInput());
      await ctx.platform.episodes.create(tenant.id, episodeInput());
      listener.clear();
      const returned = await publishAll(ctx.db);
      const last = returned.at(-1);
      expect(last).toBe(String(await maxPublishedId(ctx.db)));
      await listener.waitFor("cybernetic_events", last);
      expect(listener.on("cybernetic_events").map((n) => n.payload)).toEqual(returned);
      // Nothing to publish: no id, no notification.
      await listener.barrier(ctx.db);
      listener.clear();
      expect(await publishOnce(ctx.db)).toBeNull();
      await listener.barrier(ctx.db);
      expect(listener.on("cybernetic_events")).toEqual([]);
    });
  });
});

describe("publishing (a database of its own, so ids start at 1)", () => {
  const ctx = useTestPlatform();
  const clients: pg.Client[] = [];
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
  });
  const open = async () => {
    const client = await rawClient(ctx.database.appUrl);
    clients.push(client);
    return client;
  };

  it("assigns ids 1..n in (xid, seq) order; read_events returns them in order, limit by limit", async () => {
    const a = (await seedTenant(ctx.platform)).tenant.id;
    const b = (await seedTenant(ctx.platform)).tenant.id;
    expect(await maxPublishedId(ctx.db)).toBe(0);
    for (const t of [a, b, a]) await ctx.platform.episodes.create(t, episodeInput());
    await ctx.platform.systems.update(b, 3, { state: { s: 1 }, version: 1 });
    const n = await unpublished(ctx.db);
    expect(n).toBe(4);

    await publishAll(ctx.db);
    const events = await readEvents(ctx.db, 0);
    expect(events.map((e) => e.id)).toEqual(Array.from({ length: n }, (_, i) => String(i + 1)));
    expect(events.map((e) => e.tenant_id)).toEqual([a, b, a, b]);
    expect(events.map((e) => e.type)).toEqual([
      "episode.created",
      "episode.created",
      "episode.created",
      "system.state_changed",
    ]);
    // The ids follow (xid, seq): check against the rows themselves.
    const rows = (
      await Promise.all(
        [a, b].map((t) =>
          withTenant(ctx.db, t, (trx) => trx.selectFrom("events").select(["id", "xid", "seq"]).execute()),
        ),
      )
    ).flat();
    const byXidSeq = [...rows].sort((x, y) =>
      x.xid === y.xid ? Number(BigInt(x.seq) - BigInt(y.seq)) : Number(BigInt(x.xid) - BigInt(y.xid)),
    );
    expect(byXidSeq.map((r) => r.id)).toEqual(events.map((e) => e.id));

    // Paging through read_events with a small limit sees each event once, in order.
    const paged: string[] = [];
    let after = "0";
    for (;;) {
      const page = await readEvents(ctx.db, after, 3);
      if (page.length === 0) break;
      paged.push(...page.map((e) => e.id));
      after = page.at(-1)!.id;
    }
    expect(paged).toEqual(events.map((e) => e.id));
    expect(await readEvents(ctx.db, n)).toEqual([]);
  });

  it("published ids stay strictly increasing and gap-free over many rounds", async () => {
    const t = (await seedTenant(ctx.platform)).tenant.id;
    const start = await maxPublishedId(ctx.db);
    for (let round = 0; round < 4; round++) {
      await Promise.all(Array.from({ length: 5 }, () => ctx.platform.episodes.create(t, episodeInput())));
      await publishAll(ctx.db);
    }
    const ids = (await readEvents(ctx.db, start)).map((e) => Number(e.id));
    expect(ids).toEqual(Array.from({ length: 20 }, (_, i) => start + i + 1));
  });

  it("an event committed first waits for an older transaction still running; nothing is ever skipped", async () => {
    const t = (await seedTenant(ctx.platform)).tenant.id;
    await publishAll(ctx.db);
    const cursor = await maxPublishedId(ctx.db); // a reader that has consumed everything so far

    const A = await open();
    const B = await open();
    const insert = async (client: pg.Client, who: string) => {
      await client.query("begin");
      await client.query("select set_config('app.tenant_id', $1, true)", [t]);
      const { rows } = await client.query<{ seq: string; xid: string }>(
        `insert into cybernetic.events (tenant_id, type, data) values ($1, 'system.state_changed', $2)
         returning seq::text, xid::text`,
        [t, JSON.stringify({ who })],
      );
      return rows[0]!;
    };
    const a = await insert(A, "A"); // takes seq n, and the older xid
    const b = await insert(B, "B"); // takes seq n+1
    expect(BigInt(b.seq)).toBeGreaterThan(BigInt(a.seq));
    expect(BigInt(b.xid)).toBeGreaterThan(BigInt(a.xid));
    await B.query("commit"); // B commits first

    // A is still running: B's event must not be published, or a reader past it would never see A's.
    expect(await publishOnce(ctx.db)).toBeNull();
    expect(await readEvents(ctx.db, cursor)).toEqual([]);
    expect(await unpublished(ctx.db)).toBe(1);

    await A.query("commit");
    await publishAll(ctx.db);
    const after = await readEvents(ctx.db, cursor);
    expect(after.map((e) => e.data.who)).toEqual(["A", "B"]);
    const [idA, idB] = after.map((e) => Number(e.id));
    expect(idA).toBe(cursor + 1);
    expect(idB).toBe(idA! + 1);
    // A reader that consumed up to A's id still sees B's.
    expect((await readEvents(ctx.db, idA!)).map((e) => e.data.who)).toEqual(["B"]);
  });

  it("ids follow the writing transaction's age, not insertion order", async () => {
    const t = (await seedTenant(ctx.platform)).tenant.id;
    await publishAll(ctx.db);
    const cursor = await maxPublishedId(ctx.db);
    const A = await open();
    const B = await open();
    for (const c of [A, B]) {
      await c.query("begin");
      await c.query("select set_config('app.tenant_id', $1, true)", [t]);
    }
    // A takes its transaction id first but inserts its event after B.
    const { rows: ax } = await A.query<{ xid: string }>("select pg_current_xact_id()::text as xid");
    const ins = (c: pg.Client, who: string) =>
      c.query<{ seq: string; xid: string }>(
        `insert into cybernetic.events (tenant_id, type, data) values ($1, 'system.state_changed', $2)
         returning seq::text, xid::text`,
        [t, JSON.stringify({ who })],
      );
    const b = (await ins(B, "B")).rows[0]!;
    const a = (await ins(A, "A")).rows[0]!;
    expect(a.xid).toBe(ax[0]?.xid);
    expect(BigInt(a.seq)).toBeGreaterThan(BigInt(b.seq));
    expect(BigInt(a.xid)).toBeLessThan(BigInt(b.xid));
    await B.query("commit");
    expect(await publishOnce(ctx.db)).toBeNull();
    await A.query("commit");
    await publishAll(ctx.db);
    const after = await readEvents(ctx.db, cursor);
    expect(after.map((e) => e.data.who)).toEqual(["A", "B"]);
    expect(after.map((e) => Number(e.id))).toEqual([cursor + 1, cursor + 2]);
  });

  it("an event of a rolled back transaction is never published and holds nothing up", async () => {
    const t = (await seedTenant(ctx.platform)).tenant.id;
    await publishAll(ctx.db);
    const cursor = await maxPublishedId(ctx.db);
    const A = await open();
    await A.query("begin");
    await A.query("select set_config('app.tenant_id', $1, true)", [t]);
    await A.query(
      `insert into cybernetic.events (tenant_id, type, data) values ($1, 'system.state_changed', '{"who":"A"}')`,
      [t],
    );
    const { unitId } = await ctx.platform.systems.update(t, 2, { state: { who: "later" }, version: 1 });
    await A.query("rollback");
    await publishAll(ctx.db);
    const after = await readEvents(ctx.db, cursor);
    expect(after.map((e) => e.data)).toEqual([{ system: 2, version: 2, previousVersion: 1, unitId }]);
    expect(after.map((e) => Number(e.id))).toEqual([cursor + 1]);
  });
});
