/**
 * Recursion: a tenant is the root of a tree of units. Creation below parents, depth-first lists and
 * subtrees, moves that rewrite the subtree's paths, refusal of cycles, of a ninth level and of a root
 * move, sibling-unique slugs, archiving, each unit's own five states, the events, and the upgrade of a
 * database that had tenants before units existed.
 */
import { randomUUID } from "node:crypto";
import { type Kysely, type Migration, Migrator, sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { seedTenant } from "../../../test/factories/index.ts";
import { createTestDatabase, useTestPlatform } from "../../../test/setup/database.ts";
import { createDatabase, MAX_UNIT_DEPTH, migrate, migrations, type Unit, withTenant } from "../src/index.ts";
import { expectError } from "./support/expect-error.ts";

describe("units", () => {
  const ctx = useTestPlatform();
  const tenant = async () => (await seedTenant(ctx.platform)).tenant;
  const unitEvents = (tenantId: string) =>
    withTenant(ctx.db, tenantId, (trx) =>
      trx
        .selectFrom("events")
        .select(["type", "data"])
        .where("type", "like", "unit.%")
        .orderBy("seq")
        .execute(),
    );
  const slugs = (units: Unit[]) => units.map((u) => u.slug);

  it("a new tenant is the root unit of its tree, and its five states are the root's", async () => {
    const t = await tenant();
    const root = await ctx.platform.units.root(t.id);
    expect(root).toMatchObject({ parentId: null, depth: 0, path: [root.id], name: t.name, slug: t.slug });
    expect(await ctx.platform.units.list(t.id)).toEqual([root]);
    const states = await ctx.platform.systems.list(t.id);
    expect(states.map((s) => s.unitId)).toEqual([root.id, root.id, root.id, root.id, root.id]);
    expect(await ctx.platform.systems.list(t.id, { unitId: root.id })).toEqual(states);
  });

  it("creates units below parents; lists and subtrees come depth-first, siblings by slug", async () => {
    const t = (await tenant()).id;
    const root = await ctx.platform.units.root(t);
    const plant = await ctx.platform.units.create(t, { name: "Plant", slug: "plant" });
    const sales = await ctx.platform.units.create(t, { name: "Sales", slug: "sales" });
    const line2 = await ctx.platform.units.create(t, { name: "Line 2", slug: "line-2", parentId: plant.id });
    const line1 = await ctx.platform.units.create(t, { name: "Line 1", slug: "line-1", parentId: plant.id });
    expect(plant).toMatchObject({ parentId: root.id, depth: 1, path: [root.id, plant.id] });
    expect(line1).toMatchObject({ parentId: plant.id, depth: 2, path: [root.id, plant.id, line1.id] });
    expect(slugs(await ctx.platform.units.list(t))).toEqual([
      root.slug,
      "plant",
      "line-1",
      "line-2",
      "sales",
    ]);
    expect(slugs(await ctx.platform.units.subtree(t, plant.id))).toEqual(["plant", "line-1", "line-2"]);
    expect(slugs(await ctx.platform.units.subtree(t, sales.id))).toEqual(["sales"]);
    expect(await unitEvents(t)).toEqual(
      [plant, sales, line2, line1].map((u) => ({
        type: "unit.created",
        data: { unitId: u.id, parentId: u.parentId, name: u.name, slug: u.slug },
      })),
    );
  });

  it("slugs are unique among siblings only", async () => {
    const t = (await tenant()).id;
    const a = await ctx.platform.units.create(t, { name: "A", slug: "a" });
    const b = await ctx.platform.units.create(t, { name: "B", slug: "b" });
    await ctx.platform.units.create(t, { name: "Ops", slug: "ops", parentId: a.id });
    await expect(
      ctx.platform.units.create(t, { name: "Ops", slug: "ops", parentId: b.id }),
    ).resolves.toMatchObject({ slug: "ops" });
    await expectError(
      ctx.platform.units.create(t, { name: "Ops again", slug: "ops", parentId: a.id }),
      "duplicate",
      { message: /slug "ops" already exists/ },
    );
    await expectError(ctx.platform.units.create(t, { name: "A", slug: "a" }), "duplicate");
  });

  it("moves a unit with its subtree, rewriting every path and depth below it", async () => {
    const t = (await tenant()).id;
    const root = await ctx.platform.units.root(t);
    const a = await ctx.platform.units.create(t, { name: "A", slug: "a" });
    const b = await ctx.platform.units.create(t, { name: "B", slug: "b" });
    const a1 = await ctx.platform.units.create(t, { name: "A1", slug: "a1", parentId: a.id });
    const a11 = await ctx.platform.units.create(t, { name: "A11", slug: "a11", parentId: a1.id });
    const moved = await ctx.platform.units.move(t, a1.id, { parentId: b.id });
    expect(moved).toMatchObject({ parentId: b.id, depth: 2, path: [root.id, b.id, a1.id] });
    expect(await ctx.platform.units.get(t, a11.id)).toMatchObject({
      parentId: a1.id,
      depth: 3,
      path: [root.id, b.id, a1.id, a11.id],
    });
    expect(slugs(await ctx.platform.units.subtree(t, b.id))).toEqual(["b", "a1", "a11"]);
    expect(slugs(await ctx.platform.units.subtree(t, a.id))).toEqual(["a"]);
    // Back up to the root: depth shrinks.
    await ctx.platform.units.move(t, a1.id, { parentId: root.id });
    expect(await ctx.platform.units.get(t, a11.id)).toMatchObject({
      depth: 2,
      path: [root.id, a1.id, a11.id],
    });
    // Moving to the current parent changes nothing and writes no event.
    await ctx.platform.units.move(t, a1.id, { parentId: root.id });
    const moves = (await unitEvents(t)).filter((e) => e.type === "unit.moved");
    expect(moves.map((e) => e.data)).toEqual([
      { unitId: a1.id, fromParentId: a.id, toParentId: b.id, depth: 2 },
      { unitId: a1.id, fromParentId: b.id, toParentId: root.id, depth: 1 },
    ]);
  });

  it("refuses a move that would make a cycle, and leaves the tree as it was", async () => {
    const t = (await tenant()).id;
    const a = await ctx.platform.units.create(t, { name: "A", slug: "a" });
    const b = await ctx.platform.units.create(t, { name: "B", slug: "b", parentId: a.id });
    const c = await ctx.platform.units.create(t, { name: "C", slug: "c", parentId: b.id });
    const before = await ctx.platform.units.list(t);
    for (const target of [a, b, c]) {
      await expectError(ctx.platform.units.move(t, a.id, { parentId: target.id }), "conflict", {
        message: /below itself or one of its descendants/,
      });
    }
    await expectError(ctx.platform.units.move(t, b.id, { parentId: c.id }), "conflict");
    expect(await ctx.platform.units.list(t)).toEqual(before);
  });

  it("two concurrent moves that would together make a cycle: one wins, the other is refused", async () => {
    const t = (await tenant()).id;
    const a = await ctx.platform.units.create(t, { name: "A", slug: "a" });
    const b = await ctx.platform.units.create(t, { name: "B", slug: "b" });
    const results = await Promise.allSettled([
      ctx.platform.units.move(t, a.id, { parentId: b.id }),
      ctx.platform.units.move(t, b.id, { parentId: a.id }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(failed?.reason).toMatchObject({ code: "conflict", details: { reason: "cycle" } });
    const [root, ...rest] = await ctx.platform.units.list(t);
    expect(rest.map((u) => u.depth)).toEqual([1, 2]);
    expect(rest[1]?.path[0]).toBe(root?.id);
  });

  it(`bounds the depth at ${MAX_UNIT_DEPTH}, for creates and for moves of a subtree`, async () => {
    const t = (await tenant()).id;
    let parent = (await ctx.platform.units.root(t)).id;
    const chain: Unit[] = [];
    for (let depth = 1; depth <= MAX_UNIT_DEPTH; depth++) {
      const unit = await ctx.platform.units.create(t, {
        name: `L${depth}`,
        slug: `l${depth}`,
        parentId: parent,
      });
      chain.push(unit);
      parent = unit.id;
    }
    expect(chain.at(-1)?.depth).toBe(MAX_UNIT_DEPTH);
    await expectError(
      ctx.platform.units.create(t, { name: "too deep", slug: "deep", parentId: parent }),
      "conflict",
      { message: /at most 8 levels/ },
    );
    // A two-level subtree under level 7 would reach level 9.
    const side = await ctx.platform.units.create(t, { name: "S", slug: "s" });
    await ctx.platform.units.create(t, { name: "S1", slug: "s1", parentId: side.id });
    const seventh = chain[6] as Unit;
    await expectError(ctx.platform.units.move(t, side.id, { parentId: seventh.id }), "conflict", {
      message: /more than 8 levels/,
    });
    await expect(
      ctx.platform.units.move(t, side.id, { parentId: (chain[5] as Unit).id }),
    ).resolves.toMatchObject({
      depth: 7,
    });
  });

  it("the root cannot move or be archived; a unit with active children cannot be archived", async () => {
    const t = (await tenant()).id;
    const root = await ctx.platform.units.root(t);
    const a = await ctx.platform.units.create(t, { name: "A", slug: "a" });
    const a1 = await ctx.platform.units.create(t, { name: "A1", slug: "a1", parentId: a.id });
    await expectError(ctx.platform.units.move(t, root.id, { parentId: a.id }), "conflict", {
      message: /root unit cannot be moved/,
    });
    await expectError(ctx.platform.units.archive(t, root.id), "conflict");
    await expectError(ctx.platform.units.archive(t, a.id), "conflict", { message: /children first/ });
    const archived = await ctx.platform.units.archive(t, a1.id);
    expect(archived.archivedAt).not.toBeNull();
    expect(await ctx.platform.units.archive(t, a1.id)).toEqual(archived);
    expect(slugs(await ctx.platform.units.list(t))).toEqual([root.slug, "a"]);
    expect(slugs(await ctx.platform.units.list(t, { includeArchived: "true" }))).toEqual([
      root.slug,
      "a",
      "a1",
    ]);
    await expectError(
      ctx.platform.units.create(t, { name: "under archived", slug: "x", parentId: a1.id }),
      "conflict",
      { message: /archived/ },
    );
    await expect(ctx.platform.units.archive(t, a.id)).resolves.toMatchObject({ slug: "a" });
    expect((await unitEvents(t)).filter((e) => e.type === "unit.archived").map((e) => e.data)).toEqual([
      { unitId: a1.id },
      { unitId: a.id },
    ]);
  });

  it("renames a unit and changes its alerting", async () => {
    const t = (await tenant()).id;
    const a = await ctx.platform.units.create(t, { name: "A", slug: "a" });
    const renamed = await ctx.platform.units.update(t, a.id, {
      name: "Assembly",
      slug: "assembly",
      alerts: [{ channel: "event", to: "assembly" }],
      escalationSeconds: 120,
      stateIntervalSeconds: 3600,
    });
    expect(renamed).toMatchObject({
      name: "Assembly",
      slug: "assembly",
      alerts: [{ channel: "event", to: "assembly" }],
      escalationSeconds: 120,
      stateIntervalSeconds: 3600,
    });
    expect((await unitEvents(t)).at(-1)).toEqual({
      type: "unit.updated",
      data: { unitId: a.id, name: "Assembly", slug: "assembly" },
    });
    await expectError(ctx.platform.units.update(t, a.id, {}), "validation_failed");
    await expectError(ctx.platform.units.update(t, a.id, { escalationSeconds: 5 }), "validation_failed", {
      field: "escalationSeconds",
    });
  });

  it("each unit has its own five states, versions and history", async () => {
    const t = (await tenant()).id;
    const line = await ctx.platform.units.create(t, { name: "Line", slug: "line" });
    const s3 = await ctx.platform.systems.update(
      t,
      3,
      { state: { budget: 10 }, version: 1 },
      { unitId: line.id },
    );
    expect(s3).toMatchObject({ unitId: line.id, version: 2, state: { budget: 10 } });
    expect(await ctx.platform.systems.get(t, 3)).toMatchObject({ version: 1, state: {} });
    await ctx.platform.systems.update(t, 3, { state: { budget: 99 }, version: 1 });
    const history = await ctx.platform.systems.history(t, 3, {}, { unitId: line.id });
    expect(history.items.map((h) => [h.unitId, h.version, h.state])).toEqual([
      [line.id, 2, { budget: 10 }],
      [line.id, 1, {}],
    ]);
    await expectError(
      ctx.platform.systems.update(t, 3, { state: {}, version: 1 }, { unitId: line.id }),
      "version_conflict",
    );
    const changed = await withTenant(ctx.db, t, (trx) =>
      trx
        .selectFrom("events")
        .select("data")
        .where("type", "=", "system.state_changed")
        .orderBy("seq")
        .execute(),
    );
    const root = await ctx.platform.units.root(t);
    expect(changed.map((e) => e.data.unitId)).toEqual([line.id, root.id]);
  });

  it("another tenant's unit is not found, everywhere a unit can be named", async () => {
    const t = (await tenant()).id;
    const other = (await tenant()).id;
    const theirs = await ctx.platform.units.create(other, { name: "Theirs", slug: "theirs" });
    await expectError(ctx.platform.units.get(t, theirs.id), "not_found");
    await expectError(ctx.platform.units.subtree(t, theirs.id), "not_found");
    await expectError(ctx.platform.units.update(t, theirs.id, { name: "mine" }), "not_found");
    await expectError(ctx.platform.units.archive(t, theirs.id), "not_found");
    await expectError(
      ctx.platform.units.create(t, { name: "x", slug: "x", parentId: theirs.id }),
      "not_found",
    );
    const mine = await ctx.platform.units.create(t, { name: "Mine", slug: "mine" });
    await expectError(ctx.platform.units.move(t, mine.id, { parentId: theirs.id }), "not_found");
    await expectError(ctx.platform.systems.get(t, 1, { unitId: theirs.id }), "not_found");
    await expectError(
      ctx.platform.systems.update(t, 1, { state: {}, version: 1 }, { unitId: theirs.id }),
      "not_found",
    );
    await expectError(
      ctx.platform.episodes.create(t, { title: "x", unitId: theirs.id }),
      "validation_failed",
      { field: "unitId" },
    );
    await expectError(
      ctx.platform.policies.create(t, {
        name: "p",
        unitId: theirs.id,
        rules: { on: ["*"], then: [{ type: "publish", event: "custom.x" }] },
      }),
      "validation_failed",
      { field: "unitId" },
    );
    expect((await ctx.platform.units.get(other, theirs.id)).name).toBe("Theirs");
  });

  it("episodes and policies name their unit (the root by default) and can be listed by unit", async () => {
    const t = (await tenant()).id;
    const root = await ctx.platform.units.root(t);
    const line = await ctx.platform.units.create(t, { name: "Line", slug: "line" });
    const onLine = await ctx.platform.episodes.create(t, { title: "jam", unitId: line.id });
    const onRoot = await ctx.platform.episodes.create(t, { title: "board meeting" });
    expect(onLine.episode.unitId).toBe(line.id);
    expect(onRoot.episode.unitId).toBe(root.id);
    expect((await ctx.platform.episodes.list(t, { unitId: line.id })).items.map((e) => e.id)).toEqual([
      onLine.episode.id,
    ]);
    const policy = await ctx.platform.policies.create(t, {
      name: "line policy",
      unitId: line.id,
      rules: { on: ["*"], then: [{ type: "publish", event: "custom.x" }] },
    });
    expect(policy.unitId).toBe(line.id);
    expect((await ctx.platform.policies.list(t, { unitId: root.id })).items).toEqual([]);
  });

  it("bad input is validation_failed naming the field", async () => {
    const t = (await tenant()).id;
    await expectError(ctx.platform.units.create(t, { name: "", slug: "a" }), "validation_failed", {
      field: "name",
    });
    await expectError(ctx.platform.units.create(t, { name: "A", slug: "A B" }), "validation_failed", {
      field: "slug",
    });
    await expectError(
      ctx.platform.units.create(t, { name: "A", slug: "a", parentId: "x" }),
      "validation_failed",
      {
        field: "parentId",
      },
    );
    await expectError(ctx.platform.units.move(t, randomUUID(), {}), "validation_failed", {
      field: "parentId",
    });
    await expectError(ctx.platform.units.get(t, "nope"), "validation_failed");
    await expectError(ctx.platform.units.get(t, randomUUID()), "not_found");
  });
});

describe("upgrading a database that had tenants before units", () => {
  const dbs: { drop(): Promise<void> }[] = [];
  afterAll(async () => {
    for (const d of dbs.reverse()) await d.drop();
  });

  it("gives every tenant a root unit that owns its existing states, history, episodes and policies", async () => {
    const clone = await createTestDatabase();
    dbs.push(clone);
    const admin = createDatabase({ url: clone.adminUrl, poolSize: 1 });
    const name = `${clone.name}_old`;
    await sql.raw(`create database ${name} owner cybernetic_test_owner`).execute(admin);
    await admin.destroy();
    dbs.push({
      drop: async () => {
        const a = createDatabase({ url: clone.adminUrl, poolSize: 1 });
        await sql.raw(`drop database if exists ${name} with (force)`).execute(a);
        await a.destroy();
      },
    });
    const url = new URL(clone.ownerUrl);
    url.pathname = `/${name}`;
    const owner = createDatabase({ url: url.toString(), poolSize: 2 });
    try {
      // The schema as it was before units: the migrations up to 0003.
      const before = migrations.filter((m) => m.name < "0005");
      const old = new Migrator({
        db: owner as unknown as Kysely<unknown>,
        provider: {
          getMigrations: async () =>
            Object.fromEntries(
              before.map((m): [string, Migration] => [
                m.name,
                { up: async (db) => void (await sql.raw(m.up).execute(db)) },
              ]),
            ),
        },
        migrationTableSchema: "cybernetic",
        migrationTableName: "kysely_migration",
        migrationLockTableName: "kysely_migration_lock",
      });
      expect((await old.migrateToLatest()).error).toBeUndefined();
      const tenants = [randomUUID(), randomUUID()];
      for (const [i, id] of tenants.entries()) {
        await withTenant(owner, id, async (trx) => {
          await sql`insert into tenants (id, name, slug) values (${id}, ${`Old ${i}`}, ${`old-${i}`})`.execute(
            trx,
          );
          await sql`insert into system_states (tenant_id, system, state, version)
                    select ${id}, s, '{"old": true}', 2 from generate_series(1, 5) s`.execute(trx);
          await sql`insert into system_state_history (tenant_id, system, version, state)
                    select ${id}, s, v, '{}' from generate_series(1, 5) s, generate_series(1, 2) v`.execute(
            trx,
          );
          await sql`insert into episodes (tenant_id, title, content) values (${id}, 'old', '')`.execute(trx);
          await sql`insert into policies (tenant_id, name, rules) values (${id}, 'old', '{}')`.execute(trx);
        });
      }
      const { applied } = await migrate(owner);
      expect(applied).toEqual(migrations.filter((m) => m.name >= "0005").map((m) => m.name));
      for (const [i, id] of tenants.entries()) {
        const seen = await withTenant(owner, id, async (trx) => ({
          units: await trx.selectFrom("units").selectAll().execute(),
          states: await trx.selectFrom("system_states").select(["unit_id", "version"]).execute(),
          history: await trx.selectFrom("system_state_history").select("unit_id").execute(),
          episodes: await trx.selectFrom("episodes").select("unit_id").execute(),
          policies: await trx.selectFrom("policies").select("unit_id").execute(),
        }));
        expect(seen.units).toHaveLength(1);
        const root = seen.units[0];
        expect(root).toMatchObject({
          tenant_id: id,
          parent_id: null,
          depth: 0,
          name: `Old ${i}`,
          slug: `old-${i}`,
        });
        expect(root?.path).toEqual([root?.id]);
        expect(seen.states).toHaveLength(5);
        for (const rows of [seen.states, seen.history, seen.episodes, seen.policies]) {
          expect(rows.every((r) => r.unit_id === root?.id)).toBe(true);
        }
        expect(seen.states.every((s) => s.version === 2)).toBe(true);
      }
      // FORCE row-level security is back on every table the backfill lifted it from.
      const { rows } = await sql<{ relname: string; forced: boolean }>`
        select relname, relforcerowsecurity as forced from pg_class
         where relnamespace = 'cybernetic'::regnamespace and relkind = 'r' and relrowsecurity`.execute(owner);
      expect(rows.filter((r) => !r.forced)).toEqual([]);
    } finally {
      await owner.destroy();
    }
  });
});
