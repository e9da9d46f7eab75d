/**
 * The event bus end to end on real PostgreSQL: commit-safe ids under reordered concurrent commits, fan-out
 * to several bus instances (as several gateway processes would), replay for resume, and resync.
 */
import { sql } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { episodeInput, seedTenant } from "../../../test/factories/index.ts";
import { useTestPlatform } from "../../../test/setup/database.ts";
import { until } from "../../../test/support/until.ts";
import { type CyberneticEvent, createEventBus, type EventBus } from "../src/index.ts";

describe("event bus", () => {
  const ctx = useTestPlatform();
  const buses: EventBus[] = [];
  let tenantA: string;
  let tenantB: string;

  const bus = async () => {
    const b = createEventBus({ db: ctx.db, listenUrl: ctx.database.directUrl, pollIntervalMs: 60_000 });
    await b.start();
    buses.push(b);
    return b;
  };

  beforeAll(async () => {
    tenantA = (await seedTenant(ctx.platform)).tenant.id;
    tenantB = (await seedTenant(ctx.platform)).tenant.id;
  });
  afterAll(async () => {
    for (const b of buses) await b.stop();
  });

  it("delivers a tenant's events, in id order, to every bus instance, and only to matching subscribers", async () => {
    const [one, two] = [await bus(), await bus()];
    const seenOne: CyberneticEvent[] = [];
    const seenTwo: CyberneticEvent[] = [];
    const seenB: CyberneticEvent[] = [];
    const offOne = one.subscribe({ tenantId: tenantA, patterns: ["episode.*"] }, (e) => seenOne.push(e));
    const offTwo = two.subscribe({ tenantId: tenantA, patterns: ["episode.created"] }, (e) =>
      seenTwo.push(e),
    );
    const offB = two.subscribe({ tenantId: tenantB }, (e) => seenB.push(e));
    const created = [];
    for (let i = 0; i < 5; i++)
      created.push((await ctx.platform.episodes.create(tenantA, episodeInput())).episode.id);
    await until(() => seenOne.length === 5 && seenTwo.length === 5, "both instances to see 5 events");
    expect(seenOne.map((e) => (e.type === "episode.created" ? e.data.episodeId : e.type))).toEqual(created);
    expect(seenTwo.map((e) => e.id)).toEqual(seenOne.map((e) => e.id));
    const ids = seenOne.map((e) => BigInt(e.id));
    expect(ids.every((id, i) => i === 0 || id > (ids[i - 1] as bigint))).toBe(true);
    expect(seenOne.every((e) => e.tenantId === tenantA && e.type === "episode.created")).toBe(true);
    expect(seenB).toEqual([]);
    offOne();
    offTwo();
    offB();
  });

  it("never skips an event whose transaction commits after a later id's (reordered commits)", async () => {
    const b = await bus();
    const seen: string[] = [];
    const off = b.subscribe({ patterns: ["custom.*"] }, (e) =>
      seen.push(String((e.data as { label?: unknown }).label)),
    );
    const connect = async () => {
      const c = new pg.Client({ connectionString: ctx.database.appUrl });
      await c.connect();
      return c;
    };
    const first = await connect();
    const second = await connect();
    const write = (c: pg.Client, label: string) =>
      c.query("insert into cybernetic.events (tenant_id, type, data) values ($1, 'custom.order', $2)", [
        tenantA,
        JSON.stringify({ label }),
      ]);
    try {
      for (const c of [first, second]) {
        await c.query("begin");
        await c.query("select set_config('app.tenant_id', $1, true)", [tenantA]);
      }
      await write(first, "first"); // takes the lower seq
      await write(second, "second"); // takes the higher seq
      await second.query("commit"); // ...and commits first
      await b.flush();
      // The second event is committed but must wait: an older transaction (first) may still add events.
      await new Promise((r) => setTimeout(r, 100));
      await b.flush();
      expect(seen).toEqual([]);
      await first.query("commit");
      await until(async () => {
        await b.flush();
        return seen.length === 2;
      }, "both events");
      expect(seen.sort()).toEqual(["first", "second"]);
      // A reader resuming from the first delivered id still gets the second: nothing is skipped.
      const all = await b.replay(tenantA, "0", { patterns: ["custom.order"] });
      expect(all.events.map((e) => (e.data as { label?: unknown }).label).sort()).toEqual([
        "first",
        "second",
      ]);
      const after = await b.replay(tenantA, all.events[0]!.id, { patterns: ["custom.order"] });
      expect(after.events.map((e) => e.id)).toEqual([all.events[1]!.id]);
    } finally {
      off();
      await first.end();
      await second.end();
    }
  });

  it("keeps ids strictly increasing under many concurrent writers", async () => {
    const b = await bus();
    const seen: CyberneticEvent[] = [];
    const off = b.subscribe({ tenantId: tenantB, patterns: ["episode.created"] }, (e) => seen.push(e));
    const n = 40;
    await Promise.all(Array.from({ length: n }, () => ctx.platform.episodes.create(tenantB, episodeInput())));
    await until(() => seen.length === n, `${n} events`);
    const ids = seen.map((e) => BigInt(e.id));
    expect(new Set(ids).size).toBe(n);
    expect(ids.every((id, i) => i === 0 || id > (ids[i - 1] as bigint))).toBe(true);
    off();
  });

  it("replays a tenant's missed events under row-level security, filtered by pattern", async () => {
    const b = await bus();
    const before = b.lastId;
    await ctx.platform.episodes.create(tenantA, episodeInput());
    await ctx.platform.episodes.create(tenantB, episodeInput());
    // Ids are assigned once no older transaction is running anywhere in the cluster (other test files
    // share it), so wait for the publication rather than assume one flush has done it.
    const a = await until(async () => {
      await b.flush();
      const replayed = await b.replay(tenantA, before);
      return replayed.events.length > 0 ? replayed : undefined;
    }, "tenant A's events to be published");
    expect(a.resync).toBe(false);
    expect(a.events.every((e) => e.tenantId === tenantA)).toBe(true);
    const none = await b.replay(tenantA, before, { patterns: ["policy.*"] });
    expect(none.events).toEqual([]);
  });

  it("asks for a resync when the cursor is older than retention or unknown", async () => {
    const b = await bus();
    await ctx.platform.episodes.create(tenantA, episodeInput());
    await b.flush();
    const { rows } = await sql<{ max_id: string }>`select max_id from cybernetic.event_bounds()`.execute(
      ctx.db,
    );
    const max = BigInt(rows[0]!.max_id);
    expect((await b.replay(tenantA, String(max + 1000n))).resync).toBe(true);
    // Retention: the oldest events are purged (as housekeeping does, through the owner's system role).
    const admin = new pg.Client({ connectionString: ctx.database.adminUrl });
    await admin.connect();
    try {
      await admin.query("delete from cybernetic.events where id <= $1", [String(max - 1n)]);
    } finally {
      await admin.end();
    }
    expect((await b.replay(tenantA, "1")).resync).toBe(true);
    expect((await b.replay(tenantA, String(max - 1n))).resync).toBe(false);
  });
});
