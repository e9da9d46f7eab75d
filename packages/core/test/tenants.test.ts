/**
 * Tenants: creation with the five system states (and a first key), slug rules, lookup, the admin list
 * with cursor pagination, and deactivation cutting off the tenant's keys.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { seedTenant, tenantInput } from "../../../test/factories/index.ts";
import { useTestPlatform } from "../../../test/setup/database.ts";
import { hashApiKey, systemNames, withTenant } from "../src/index.ts";
import { expectError } from "./support/expect-error.ts";

describe("tenants", () => {
  const ctx = useTestPlatform();

  describe("create", () => {
    it("creates the tenant with its five system states at version 1 and their history", async () => {
      const input = tenantInput({ settings: { locale: "en" } });
      const { tenant, apiKey } = await ctx.platform.tenants.create(input);
      expect(apiKey).toBeUndefined();
      expect(tenant).toMatchObject({ name: input.name, slug: input.slug, settings: { locale: "en" } });
      expect(tenant.active).toBe(true);
      expect(tenant.createdAt).toBe(new Date(tenant.createdAt).toISOString());

      const states = await ctx.platform.systems.list(tenant.id);
      expect(states.map((s) => [s.system, s.name, s.version, s.state])).toEqual(
        ([1, 2, 3, 4, 5] as const).map((s) => [s, systemNames[s], 1, {}]),
      );
      const history = await withTenant(ctx.db, tenant.id, (trx) =>
        trx.selectFrom("system_state_history").select(["system", "version"]).orderBy("system").execute(),
      );
      expect(history).toEqual([1, 2, 3, 4, 5].map((system) => ({ system, version: 1 })));
    });

    it("issues the first key in the same transaction when asked, and that key resolves", async () => {
      const { tenant, apiKey } = await ctx.platform.tenants.create(tenantInput(), {
        issueKey: { name: "bootstrap" },
      });
      expect(apiKey).toMatchObject({ tenantId: tenant.id, name: "bootstrap", revokedAt: null });
      expect(apiKey?.key).toMatch(/^cyb_/);
      const resolved = await ctx.platform.apiKeys.resolve(apiKey!.key);
      expect(resolved).toEqual({ keyId: apiKey!.id, tenantId: tenant.id, scopes: apiKey!.scopes });

      const { apiKey: defaultKey } = await ctx.platform.tenants.create(tenantInput(), { issueKey: true });
      expect(defaultKey?.name).toBe("default");
    });

    it("trims the name and rejects a whitespace-only one", async () => {
      const { tenant } = await ctx.platform.tenants.create(tenantInput({ name: "  Acme Ops  " }));
      expect(tenant.name).toBe("Acme Ops");
      await expectError(ctx.platform.tenants.create(tenantInput({ name: "   " })), "validation_failed", {
        field: "name",
        path: "name",
      });
    });

    const badSlugs: [string, unknown][] = [
      ["uppercase", "Acme"],
      ["a leading dash", "-acme"],
      ["a trailing dash", "acme-"],
      ["64 characters", "a".repeat(64)],
      ["unicode", "äcme"],
      ["an emoji", "acme-🚀"],
      ["an underscore", "acme_ops"],
      ["a space", "acme ops"],
      ["a dot", "acme.ops"],
      ["the empty string", ""],
      ["a number", 42],
      ["null", null],
    ];
    it.each(badSlugs)("rejects a slug with %s", async (_, slug) => {
      const input = { ...tenantInput(), slug } as unknown as Parameters<
        typeof ctx.platform.tenants.create
      >[0];
      await expectError(ctx.platform.tenants.create(input), "validation_failed", {
        field: "slug",
        path: "slug",
      });
    });

    it.each([
      ["a single character", "a"],
      ["digits only", "42"],
      ["inner dashes", "a-b--c"],
      ["63 characters", `t${"0".repeat(61)}z`],
    ])("accepts a slug of %s", async (_, slug) => {
      const { tenant } = await ctx.platform.tenants.create(tenantInput({ slug }));
      expect(tenant.slug).toBe(slug);
      expect(await ctx.platform.tenants.idBySlug(slug)).toBe(tenant.id);
    });

    const badInputs: [string, Record<string, unknown>, string][] = [
      ["an empty name", { name: "" }, "name"],
      ["a name of 201 characters", { name: "n".repeat(201) }, "name"],
      ["a name that is a number", { name: 7 }, "name"],
      ["settings that are an array", { settings: [1, 2] }, "settings"],
      ["settings that are a string", { settings: "{}" }, "settings"],
    ];
    it.each(badInputs)("rejects %s", async (_, overrides, field) => {
      const input = { ...tenantInput(), ...overrides } as Parameters<typeof ctx.platform.tenants.create>[0];
      await expectError(ctx.platform.tenants.create(input), "validation_failed", { field, path: field });
    });

    it("rejects unknown fields (strict) naming them", async () => {
      const input = { ...tenantInput(), plan: "gold" } as Parameters<typeof ctx.platform.tenants.create>[0];
      await expectError(ctx.platform.tenants.create(input), "validation_failed", { field: "plan" });
    });

    it("rejects a missing body", async () => {
      await expectError(
        ctx.platform.tenants.create(
          undefined as unknown as Parameters<typeof ctx.platform.tenants.create>[0],
        ),
        "validation_failed",
      );
    });

    it("a taken slug is a duplicate naming the slug, and nothing of the second tenant remains", async () => {
      const input = tenantInput();
      const { tenant } = await ctx.platform.tenants.create(input);
      const error = await expectError(
        ctx.platform.tenants.create({ name: "Other", slug: input.slug }, { issueKey: true }),
        "duplicate",
        { field: input.slug },
      );
      expect(error.message).toContain("slug");
      expect(await ctx.platform.tenants.idBySlug(input.slug)).toBe(tenant.id);
      expect((await ctx.platform.tenants.get(tenant.id)).name).toBe(input.name);
    });

    it("two concurrent creates of one slug: exactly one succeeds", async () => {
      const input = tenantInput();
      const results = await Promise.allSettled([
        ctx.platform.tenants.create({ name: "first", slug: input.slug }),
        ctx.platform.tenants.create({ name: "second", slug: input.slug }),
      ]);
      const ok = results.filter((r) => r.status === "fulfilled");
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
      expect(ok).toHaveLength(1);
      expect(failed).toHaveLength(1);
      expect(failed[0]?.reason).toMatchObject({ code: "duplicate" });
    });
  });

  describe("get and idBySlug", () => {
    it("gets a tenant by id", async () => {
      const { tenant } = await seedTenant(ctx.platform);
      expect(await ctx.platform.tenants.get(tenant.id)).toEqual(tenant);
      expect(await ctx.platform.tenants.get(tenant.id.toUpperCase())).toEqual(tenant);
    });

    it("an unknown id is not_found; a malformed one is validation_failed naming the field", async () => {
      const unknown = randomUUID();
      await expectError(ctx.platform.tenants.get(unknown), "not_found", { field: unknown });
      await expectError(ctx.platform.tenants.get("not-a-uuid"), "validation_failed", {
        field: "id",
        path: "id",
      });
      await expectError(ctx.platform.tenants.get(""), "validation_failed", { path: "id" });
    });

    it("idBySlug finds the tenant and is not_found for an unknown slug", async () => {
      const { tenant } = await seedTenant(ctx.platform);
      expect(await ctx.platform.tenants.idBySlug(tenant.slug)).toBe(tenant.id);
      await expectError(ctx.platform.tenants.idBySlug(`${tenant.slug}-nope`), "not_found", {
        field: `${tenant.slug}-nope`,
      });
      await expectError(ctx.platform.tenants.idBySlug(""), "not_found");
    });
  });

  describe("list", () => {
    it("pages through every tenant by slug, with no tenant skipped or repeated", async () => {
      const prefix = `list-${Date.now().toString(36)}`;
      const created: string[] = [];
      for (const suffix of ["e", "a", "d", "b", "g", "c", "f"]) {
        created.push(
          (await ctx.platform.tenants.create(tenantInput({ slug: `${prefix}-${suffix}` }))).tenant.id,
        );
      }
      const seen: { id: string; slug: string }[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await ctx.platform.tenants.list({ limit: 3, ...(cursor ? { cursor } : {}) });
        expect(page.items.length).toBeLessThanOrEqual(3);
        seen.push(...page.items.map((t) => ({ id: t.id, slug: t.slug })));
        cursor = page.nextCursor;
        pages++;
      } while (cursor && pages < 100);
      expect(pages).toBeGreaterThan(2);
      expect(cursor).toBeUndefined();
      const slugs = seen.map((t) => t.slug);
      expect(slugs).toEqual([...slugs].sort());
      expect(new Set(slugs).size).toBe(slugs.length);
      const ids = new Set(seen.map((t) => t.id));
      for (const id of created) expect(ids.has(id)).toBe(true);
      const ours = slugs.filter((s) => s.startsWith(prefix));
      expect(ours).toEqual(["a", "b", "c", "d", "e", "f", "g"].map((s) => `${prefix}-${s}`));
    });

    it("defaults to 20 items and accepts a numeric string limit", async () => {
      for (let i = 0; i < 21; i++) await seedTenant(ctx.platform);
      const first = await ctx.platform.tenants.list();
      expect(first.items).toHaveLength(20);
      expect(first.nextCursor).toBeDefined();
      const two = await ctx.platform.tenants.list({ limit: "2" });
      expect(two.items).toHaveLength(2);
      expect(two.items).toEqual(first.items.slice(0, 2));
    });

    it.each([0, 101, -1, 1.5, "many"])("rejects limit %j naming the field", async (limit) => {
      await expectError(ctx.platform.tenants.list({ limit }), "validation_failed", { field: "limit" });
    });

    it.each(["not-a-cursor!", "W10", "eyJhIjoxfQ", Buffer.from("[1]").toString("base64url")])(
      "rejects the cursor %j as invalid_cursor",
      async (cursor) => {
        await expectError(ctx.platform.tenants.list({ cursor }), "invalid_cursor", { path: "cursor" });
      },
    );
  });

  describe("deactivate and activate", () => {
    it("a deactivated tenant's keys stop resolving (forbidden) and resolve again once re-activated", async () => {
      const { tenant, apiKey } = await seedTenant(ctx.platform);
      expect((await ctx.platform.apiKeys.resolve(apiKey.key)).tenantId).toBe(tenant.id);

      const off = await ctx.platform.tenants.deactivate(tenant.id);
      expect(off.active).toBe(false);
      expect(Date.parse(off.updatedAt)).toBeGreaterThanOrEqual(Date.parse(tenant.updatedAt));
      expect((await ctx.platform.tenants.get(tenant.id)).active).toBe(false);
      await expectError(ctx.platform.apiKeys.resolve(apiKey.key), "forbidden", { field: "deactivated" });
      // A key issued while deactivated does not resolve either.
      const later = await ctx.platform.apiKeys.issue(tenant.id, { name: "later" });
      await expectError(ctx.platform.apiKeys.resolve(later.key), "forbidden");
      // Idempotent.
      expect((await ctx.platform.tenants.deactivate(tenant.id)).active).toBe(false);

      const on = await ctx.platform.tenants.activate(tenant.id);
      expect(on.active).toBe(true);
      expect(await ctx.platform.apiKeys.resolve(apiKey.key)).toMatchObject({ tenantId: tenant.id });
      expect(await ctx.platform.apiKeys.resolve(later.key)).toMatchObject({ tenantId: tenant.id });
      expect((await ctx.platform.tenants.activate(tenant.id)).active).toBe(true);
    });

    it("deactivating one tenant leaves the others alone", async () => {
      const a = await seedTenant(ctx.platform);
      const b = await seedTenant(ctx.platform);
      await ctx.platform.tenants.deactivate(a.tenant.id);
      expect(await ctx.platform.apiKeys.resolve(b.apiKey.key)).toMatchObject({ tenantId: b.tenant.id });
      expect((await ctx.platform.tenants.get(b.tenant.id)).active).toBe(true);
    });

    it("unknown and malformed ids", async () => {
      await expectError(ctx.platform.tenants.deactivate(randomUUID()), "not_found");
      await expectError(ctx.platform.tenants.activate(randomUUID()), "not_found");
      await expectError(ctx.platform.tenants.deactivate("x"), "validation_failed", { path: "id" });
      await expectError(ctx.platform.tenants.activate("x"), "validation_failed", { path: "id" });
    });

    it("stores the key's hash, not the key, for the first key too", async () => {
      const { tenant, apiKey } = await seedTenant(ctx.platform);
      const row = await withTenant(ctx.db, tenant.id, (trx) =>
        trx.selectFrom("api_keys").select("key_hash").where("id", "=", apiKey.id).executeTakeFirstOrThrow(),
      );
      expect(row.key_hash.equals(hashApiKey(apiKey.key))).toBe(true);
    });
  });
});
