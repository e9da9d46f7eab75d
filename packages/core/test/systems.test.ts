/**
 * System states S1..S5: read, optimistic updates with history, merge patches, and the
 * `system.state_changed` outbox row each change writes in its own transaction.
 */
import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { seedTenant, systemStateInput } from "../../../test/factories/index.ts";
import { useTestPlatform } from "../../../test/setup/database.ts";
import { type SystemState, systemNames, withTenant } from "../src/index.ts";
import { expectError } from "./support/expect-error.ts";

describe("system states", () => {
  const ctx = useTestPlatform();
  const tenant = async () => (await seedTenant(ctx.platform)).tenant.id;

  /** The tenant's system.state_changed events, oldest first. */
  const stateEvents = (tenantId: string) =>
    withTenant(ctx.db, tenantId, (trx) =>
      trx
        .selectFrom("events")
        .select(["tenant_id", "type", "data", "xid"])
        .where("type", "=", "system.state_changed")
        .orderBy("seq")
        .execute(),
    );

  describe("read", () => {
    it("lists S1..S5 with their names", async () => {
      const t = await tenant();
      const list = await ctx.platform.systems.list(t);
      expect(list.map((s) => s.system)).toEqual([1, 2, 3, 4, 5]);
      expect(list.map((s) => s.name)).toEqual([
        "operations",
        "coordination",
        "control",
        "intelligence",
        "policy",
      ]);
      expect(list.every((s) => s.version === 1 && Object.keys(s.state).length === 0)).toBe(true);
    });

    it.each([1, 2, 3, 4, 5] as const)("gets S%i", async (system) => {
      const t = await tenant();
      const state = await ctx.platform.systems.get(t, system);
      expect(state).toMatchObject({ system, name: systemNames[system], version: 1, state: {} });
      expect(await ctx.platform.systems.get(t, String(system))).toEqual(state);
    });

    it.each([0, 6, -1, 1.5, "x", "", "S1", null])(
      "system %j is validation_failed naming the field",
      async (system) => {
        const t = await tenant();
        await expectError(ctx.platform.systems.get(t, system as number), "validation_failed", {
          field: "system",
        });
        await expectError(
          ctx.platform.systems.update(t, system as number, systemStateInput(1)),
          "validation_failed",
          {
            field: "system",
          },
        );
        await expectError(ctx.platform.systems.history(t, system as number), "validation_failed", {
          field: "system",
        });
      },
    );

    it("a malformed tenant id is validation_failed; a tenant without rows finds nothing", async () => {
      await expectError(ctx.platform.systems.list("t"), "validation_failed", { path: "tenantId" });
      await expectError(ctx.platform.systems.get(randomUUID(), 1), "not_found", { field: "system 1" });
      expect(await ctx.platform.systems.list(randomUUID())).toEqual([]);
    });

    it("one tenant's states are not another's", async () => {
      const a = await tenant();
      const b = await tenant();
      const s1 = await ctx.platform.systems.get(a, 1);
      await ctx.platform.systems.update(a, 1, { state: { owner: "a" }, version: s1.version });
      expect((await ctx.platform.systems.get(b, 1)).state).toEqual({});
      expect((await ctx.platform.systems.get(a, 1)).state).toEqual({ owner: "a" });
    });
  });

  describe("update", () => {
    it("with the current version: replaces the state, bumps the version and writes history", async () => {
      const t = await tenant();
      const before = await ctx.platform.systems.get(t, 3);
      const after = await ctx.platform.systems.update(t, 3, {
        state: { budget: 120 },
        version: before.version,
      });
      expect(after).toMatchObject({
        system: 3,
        name: "control",
        state: { budget: 120 },
        version: before.version + 1,
      });
      expect(Date.parse(after.updatedAt)).toBeGreaterThanOrEqual(Date.parse(before.updatedAt));
      expect(await ctx.platform.systems.get(t, 3)).toEqual(after);

      const replaced = await ctx.platform.systems.update(t, 3, {
        state: { headcount: 4 },
        version: after.version,
      });
      expect(replaced.state).toEqual({ headcount: 4 });

      const history = await ctx.platform.systems.history(t, 3);
      expect(history.items.map((h) => [h.version, h.state])).toEqual([
        [replaced.version, { headcount: 4 }],
        [after.version, { budget: 120 }],
        [before.version, {}],
      ]);
      expect(history.nextCursor).toBeUndefined();
      // Other systems are untouched.
      expect((await ctx.platform.systems.get(t, 2)).version).toBe(1);
    });

    it("a stale version is a version_conflict with both versions in the details; nothing changes", async () => {
      const t = await tenant();
      const s = await ctx.platform.systems.get(t, 4);
      const current = await ctx.platform.systems.update(t, 4, { state: { a: 1 }, version: s.version });
      const error = await expectError(
        ctx.platform.systems.update(t, 4, { state: { a: 2 }, version: s.version }),
        "version_conflict",
        { field: String(current.version) },
      );
      expect(error.details).toEqual({ expectedVersion: s.version, currentVersion: current.version });
      await expectError(
        ctx.platform.systems.update(t, 4, { state: { a: 3 }, version: current.version + 5 }),
        "version_conflict",
      );
      expect(await ctx.platform.systems.get(t, 4)).toEqual(current);
      expect((await ctx.platform.systems.history(t, 4)).items).toHaveLength(2);
      expect(await stateEvents(t)).toHaveLength(1);
    });

    it("concurrent updates with the same version: exactly one wins", async () => {
      const t = await tenant();
      const s = await ctx.platform.systems.get(t, 1);
      const results = await Promise.allSettled(
        [1, 2, 3, 4].map((n) =>
          ctx.platform.systems.update(t, 1, { state: { writer: n }, version: s.version }),
        ),
      );
      const won = results.filter((r): r is PromiseFulfilledResult<SystemState> => r.status === "fulfilled");
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
      expect(won).toHaveLength(1);
      expect(lost.map((r) => (r.reason as { code: string }).code)).toEqual([
        "version_conflict",
        "version_conflict",
        "version_conflict",
      ]);
      const final = await ctx.platform.systems.get(t, 1);
      expect(final).toEqual(won[0]?.value);
      expect(final.version).toBe(s.version + 1);
      expect((await ctx.platform.systems.history(t, 1)).items).toHaveLength(2);
      expect(await stateEvents(t)).toHaveLength(1);
    });

    const bad: [string, unknown, string][] = [
      ["no body", undefined, ""],
      ["a state that is an array", { state: [1], version: 1 }, "state"],
      ["a state that is a string", { state: "{}", version: 1 }, "state"],
      ["a null state", { state: null, version: 1 }, "state"],
      ["a missing version", { state: {} }, "version"],
      ["version 0", { state: {}, version: 0 }, "version"],
      ["a fractional version", { state: {}, version: 1.5 }, "version"],
      ["a version that is a string", { state: {}, version: "1" }, "version"],
    ];
    it.each(bad)("rejects %s naming the field", async (_, body, field) => {
      const t = await tenant();
      const error = await expectError(ctx.platform.systems.update(t, 2, body), "validation_failed", {
        field,
      });
      if (field)
        expect((error.details as { issues: { path: string }[] }).issues.map((i) => i.path)).toContain(field);
      expect((await ctx.platform.systems.get(t, 2)).version).toBe(1);
    });

    it("rejects unknown fields (strict), naming them", async () => {
      const t = await tenant();
      await expectError(
        ctx.platform.systems.update(t, 2, { state: {}, version: 1, system: 2 }),
        "validation_failed",
        { field: "system" },
      );
    });

    it("each update writes exactly one system.state_changed event in its own transaction", async () => {
      const t = await tenant();
      let version = 1;
      for (const n of [1, 2, 3]) {
        version = (await ctx.platform.systems.update(t, 5, { state: { n }, version })).version;
      }
      const events = await stateEvents(t);
      const unitId = (await ctx.platform.units.root(t)).id;
      expect(events.map((e) => e.data)).toEqual([
        { system: 5, version: 2, previousVersion: 1, unitId },
        { system: 5, version: 3, previousVersion: 2, unitId },
        { system: 5, version: 4, previousVersion: 3, unitId },
      ]);
      expect(events.every((e) => e.tenant_id === t && e.type === "system.state_changed")).toBe(true);
      // One transaction per update: each event's transaction is the one that wrote the history row.
      const history = await withTenant(ctx.db, t, (trx) =>
        trx
          .selectFrom("system_state_history")
          .select(["version", sql<string>`xmin::text`.as("xmin")])
          .where("system", "=", 5)
          .where("version", ">", 1)
          .orderBy("version")
          .execute(),
      );
      expect(history.map((h) => h.xmin)).toEqual(events.map((e) => String(BigInt(e.xid) % 2n ** 32n)));
      expect(new Set(events.map((e) => e.xid)).size).toBe(3);
    });
  });

  describe("history", () => {
    it("is newest first and pages with a cursor, with nothing skipped or repeated", async () => {
      const t = await tenant();
      let version = 1;
      for (let n = 0; n < 11; n++) {
        version = (await ctx.platform.systems.update(t, 2, { state: { n }, version })).version;
      }
      const seen: number[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await ctx.platform.systems.history(t, 2, { limit: 5, ...(cursor ? { cursor } : {}) });
        expect(page.items.length).toBeLessThanOrEqual(5);
        seen.push(...page.items.map((h) => h.version));
        for (const h of page.items) {
          expect(h.system).toBe(2);
          expect(h.state).toEqual(h.version === 1 ? {} : { n: h.version - 2 });
        }
        cursor = page.nextCursor;
        pages++;
      } while (cursor && pages < 20);
      expect(pages).toBe(3);
      expect(seen).toEqual(Array.from({ length: version }, (_, i) => version - i));
    });

    it("validates limit and cursor", async () => {
      const t = await tenant();
      await expectError(ctx.platform.systems.history(t, 1, { limit: 0 }), "validation_failed", {
        field: "limit",
      });
      await expectError(ctx.platform.systems.history(t, 1, { limit: "lots" }), "validation_failed", {
        field: "limit",
      });
      await expectError(ctx.platform.systems.history(t, 1, { cursor: 7 }), "validation_failed", {
        field: "cursor",
      });
      await expectError(ctx.platform.systems.history(t, 1, { cursor: "" }), "validation_failed", {
        field: "cursor",
      });
      for (const cursor of [
        "garbage!",
        Buffer.from('["7"]').toString("base64url"),
        Buffer.from("[1,2]").toString("base64url"),
      ]) {
        await expectError(ctx.platform.systems.history(t, 1, { cursor }), "invalid_cursor", {
          path: "cursor",
        });
      }
    });
  });

  describe("patchIn", () => {
    it("applies a JSON merge patch (null deletes) inside the caller's transaction", async () => {
      const t = await tenant();
      const s = await ctx.platform.systems.get(t, 3);
      await ctx.platform.systems.update(t, 3, {
        state: { budget: { total: 100, spent: 40 }, owner: "ops", tags: ["a", "b"] },
        version: s.version,
      });
      const patched = await withTenant(ctx.db, t, (trx) =>
        ctx.platform.systems.patchIn(trx, t, 3, {
          budget: { spent: 55, reserve: 10 },
          owner: null,
          tags: ["c"],
        }),
      );
      expect(patched.state).toEqual({ budget: { total: 100, spent: 55, reserve: 10 }, tags: ["c"] });
      expect(patched.version).toBe(s.version + 2);
      expect(await ctx.platform.systems.get(t, 3)).toEqual(patched);
      const history = await ctx.platform.systems.history(t, 3, { limit: 1 });
      expect(history.items[0]).toMatchObject({ version: patched.version, state: patched.state });
      expect((await stateEvents(t)).at(-1)?.data).toEqual({
        system: 3,
        version: patched.version,
        previousVersion: patched.version - 1,
        unitId: patched.unitId,
      });
    });

    it("with an expected version: a stale one conflicts; without: applies to the latest", async () => {
      const t = await tenant();
      const first = await withTenant(ctx.db, t, (trx) =>
        ctx.platform.systems.patchIn(trx, t, 1, { a: 1 }, 1),
      );
      expect(first.version).toBe(2);
      await expectError(
        withTenant(ctx.db, t, (trx) => ctx.platform.systems.patchIn(trx, t, 1, { a: 2 }, 1)),
        "version_conflict",
      );
      const latest = await withTenant(ctx.db, t, (trx) => ctx.platform.systems.patchIn(trx, t, 1, { b: 2 }));
      expect(latest).toMatchObject({ version: 3, state: { a: 1, b: 2 } });
    });

    it("rolls back with the caller's transaction: no state, history or event survives", async () => {
      const t = await tenant();
      await expect(
        withTenant(ctx.db, t, async (trx) => {
          await ctx.platform.systems.patchIn(trx, t, 2, { doomed: true });
          throw new Error("caller failed");
        }),
      ).rejects.toThrow("caller failed");
      expect(await ctx.platform.systems.get(t, 2)).toMatchObject({ version: 1, state: {} });
      expect((await ctx.platform.systems.history(t, 2)).items).toHaveLength(1);
      expect(await stateEvents(t)).toEqual([]);
    });
  });
});
