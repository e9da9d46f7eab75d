/**
 * API keys: shown once, stored as a 32-byte hash, resolved to tenant + scopes; malformed, unknown, revoked
 * and expired keys are `unauthorized`; revocation is idempotent and scoped to the key's tenant.
 */
import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { apiKeyInput, seedTenant } from "../../../test/factories/index.ts";
import { useTestPlatform } from "../../../test/setup/database.ts";
import { apiKeyScopes, generateApiKey, hashApiKey, withTenant } from "../src/index.ts";
import { expectError } from "./support/expect-error.ts";

describe("API keys", () => {
  const ctx = useTestPlatform();

  describe("issue", () => {
    it("returns the key once and stores only its 32-byte SHA-256 hash", async () => {
      const { tenant } = await seedTenant(ctx.platform);
      const issued = await ctx.platform.apiKeys.issue(
        tenant.id,
        apiKeyInput({ name: "ci", scopes: ["read"] }),
      );
      expect(issued).toMatchObject({
        tenantId: tenant.id,
        name: "ci",
        scopes: ["read"],
        expiresAt: null,
        revokedAt: null,
        lastUsedAt: null,
      });
      expect(issued.key).toMatch(/^cyb_[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(issued.key.slice(4), "base64url")).toHaveLength(32);
      expect(issued.key.startsWith(issued.prefix)).toBe(true);
      expect(issued.prefix.length).toBeLessThan(issued.key.length / 2);

      const rows = await withTenant(ctx.db, tenant.id, async (trx) => {
        const { rows } = await sql<Record<string, unknown>>`
          select to_jsonb(k) as row, k.key_hash from cybernetic.api_keys k where k.id = ${issued.id}`.execute(
          trx,
        );
        return rows;
      });
      expect(rows).toHaveLength(1);
      const row = rows[0] as { row: Record<string, unknown>; key_hash: Buffer };
      expect(row.key_hash).toHaveLength(32);
      expect(row.key_hash.equals(hashApiKey(issued.key))).toBe(true);
      // No column, in any rendering, holds the key or its secret part.
      const secret = issued.key.slice(issued.prefix.length);
      for (const [column, value] of Object.entries(row.row)) {
        const text = typeof value === "string" ? value : JSON.stringify(value);
        expect(text, column).not.toContain(issued.key);
        expect(text, column).not.toContain(secret);
      }
      expect(row.key_hash.toString("utf8")).not.toContain(secret);
      // The public record never carries the hash.
      const listed = await ctx.platform.apiKeys.list(tenant.id);
      expect(JSON.stringify(listed)).not.toContain(row.key_hash.toString("hex"));
      expect(listed.find((k) => k.id === issued.id)).not.toHaveProperty("key");
    });

    it("defaults to every scope and removes duplicate scopes", async () => {
      const { tenant } = await seedTenant(ctx.platform);
      const all = await ctx.platform.apiKeys.issue(tenant.id, { name: "all" });
      expect([...all.scopes].sort()).toEqual([...apiKeyScopes].sort());
      const dup = await ctx.platform.apiKeys.issue(tenant.id, { name: "dup", scopes: ["read", "read"] });
      expect(dup.scopes).toEqual(["read"]);
    });

    it("every issued key is different", async () => {
      const { tenant } = await seedTenant(ctx.platform);
      const keys = await Promise.all(
        Array.from({ length: 5 }, (_, i) => ctx.platform.apiKeys.issue(tenant.id, { name: `k${i}` })),
      );
      expect(new Set(keys.map((k) => k.key)).size).toBe(5);
      expect(new Set(keys.map((k) => k.prefix)).size).toBe(5);
    });

    const bad: [string, unknown, string][] = [
      ["an empty name", { name: "" }, "name"],
      ["a whitespace name", { name: "   " }, "name"],
      ["a 201-character name", { name: "k".repeat(201) }, "name"],
      ["a numeric name", { name: 12 }, "name"],
      ["no scopes", { name: "k", scopes: [] }, "scopes"],
      ["the admin scope", { name: "k", scopes: ["admin"] }, "scopes.0"],
      ["scopes that are a string", { name: "k", scopes: "read" }, "scopes"],
      ["an expiresAt that is not a timestamp", { name: "k", expiresAt: "tomorrow" }, "expiresAt"],
      ["an expiresAt that is a number", { name: "k", expiresAt: Date.now() + 60_000 }, "expiresAt"],
      [
        "an expiresAt in the past",
        { name: "k", expiresAt: new Date(Date.now() - 1000).toISOString() },
        "expiresAt",
      ],
    ];
    it.each(bad)("rejects %s naming the field", async (_, input, path) => {
      const { tenant } = await seedTenant(ctx.platform);
      await expectError(ctx.platform.apiKeys.issue(tenant.id, input), "validation_failed", {
        field: path.split(".")[0],
        path,
      });
      expect(await ctx.platform.apiKeys.list(tenant.id)).toHaveLength(1); // only the seeded key
    });

    it("rejects unknown fields, naming them", async () => {
      const { tenant } = await seedTenant(ctx.platform);
      await expectError(
        ctx.platform.apiKeys.issue(tenant.id, { name: "k", role: "admin" }),
        "validation_failed",
        {
          field: "role",
        },
      );
    });

    it("a malformed tenant id is validation_failed; an unknown tenant is not_found", async () => {
      await expectError(ctx.platform.apiKeys.issue("tenant-1", { name: "k" }), "validation_failed", {
        field: "tenantId",
        path: "tenantId",
      });
      await expectError(ctx.platform.apiKeys.issue(randomUUID(), { name: "k" }), "not_found");
    });
  });

  describe("resolve", () => {
    it("resolves a key to its tenant and scopes, and records its use", async () => {
      const { tenant } = await seedTenant(ctx.platform);
      const issued = await ctx.platform.apiKeys.issue(tenant.id, { name: "ro", scopes: ["read", "events"] });
      expect(await ctx.platform.apiKeys.resolve(issued.key)).toEqual({
        keyId: issued.id,
        tenantId: tenant.id,
        scopes: ["read", "events"],
      });
      const listed = (await ctx.platform.apiKeys.list(tenant.id)).find((k) => k.id === issued.id);
      expect(listed?.lastUsedAt).not.toBeNull();
    });

    it("keys of different tenants resolve to their own tenant", async () => {
      const a = await seedTenant(ctx.platform);
      const b = await seedTenant(ctx.platform);
      expect((await ctx.platform.apiKeys.resolve(a.apiKey.key)).tenantId).toBe(a.tenant.id);
      expect((await ctx.platform.apiKeys.resolve(b.apiKey.key)).tenantId).toBe(b.tenant.id);
    });

    const malformed: [string, unknown][] = [
      ["the empty string", ""],
      ["no prefix", "q5L0".repeat(11)],
      ["the wrong prefix", `sk_${"a".repeat(43)}`],
      ["a short key", "cyb_abc"],
      ["a key with a space", `cyb_${"a".repeat(42)} `],
      ["a key with non-base64url characters", `cyb_${"a".repeat(42)}+`],
      ["a very long key", `cyb_${"a".repeat(500)}`],
      ["a number", 12345],
      ["null", null],
    ];
    it.each(malformed)("a malformed key (%s) is unauthorized", async (_, key) => {
      const error = await expectError(ctx.platform.apiKeys.resolve(key as string), "unauthorized");
      expect(error.message).toMatch(/malformed/);
    });

    it("a well-formed unknown key is unauthorized", async () => {
      const error = await expectError(ctx.platform.apiKeys.resolve(generateApiKey()), "unauthorized");
      expect(error.message).toMatch(/not valid/);
    });

    it("a key differing from a real one in its last character is unauthorized", async () => {
      const { apiKey } = await seedTenant(ctx.platform);
      const last = apiKey.key.at(-1);
      const altered = `${apiKey.key.slice(0, -1)}${last === "A" ? "B" : "A"}`;
      await expectError(ctx.platform.apiKeys.resolve(altered), "unauthorized");
    });

    it("a revoked key is unauthorized", async () => {
      const { tenant, apiKey } = await seedTenant(ctx.platform);
      await ctx.platform.apiKeys.revoke(tenant.id, apiKey.id);
      const error = await expectError(ctx.platform.apiKeys.resolve(apiKey.key), "unauthorized");
      expect(error.message).toMatch(/revoked/);
    });

    it("a key whose expiry has passed is unauthorized (expiry moved into the past by the tenant)", async () => {
      const { tenant } = await seedTenant(ctx.platform);
      const issued = await ctx.platform.apiKeys.issue(tenant.id, {
        name: "short",
        expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      });
      expect(await ctx.platform.apiKeys.resolve(issued.key)).toMatchObject({ tenantId: tenant.id });
      // The runtime role may update its own tenant's keys.
      const updated = await withTenant(ctx.db, tenant.id, (trx) =>
        trx
          .updateTable("api_keys")
          .set({ expires_at: sql<Date>`now() - interval '1 second'` })
          .where("id", "=", issued.id)
          .executeTakeFirst(),
      );
      expect(updated.numUpdatedRows).toBe(1n);
      const error = await expectError(ctx.platform.apiKeys.resolve(issued.key), "unauthorized");
      expect(error.message).toMatch(/expired/);
    });

    it("a key issued with an expiry a second away stops resolving once it passes", async () => {
      const { tenant } = await seedTenant(ctx.platform);
      const expiresAt = new Date(Date.now() + 1_000).toISOString();
      const issued = await ctx.platform.apiKeys.issue(tenant.id, { name: "brief", expiresAt });
      expect(issued.expiresAt).toBe(expiresAt);
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, Date.parse(expiresAt) - Date.now()) + 100),
      );
      await expectError(ctx.platform.apiKeys.resolve(issued.key), "unauthorized", { field: "expired" });
    });
  });

  describe("revoke and list", () => {
    it("revoking twice is a no-op that keeps the first revocation time", async () => {
      const { tenant, apiKey } = await seedTenant(ctx.platform);
      const first = await ctx.platform.apiKeys.revoke(tenant.id, apiKey.id);
      expect(first.revokedAt).not.toBeNull();
      const second = await ctx.platform.apiKeys.revoke(tenant.id, apiKey.id);
      expect(second).toEqual(first);
    });

    it("a tenant cannot revoke another tenant's key: not_found, and the key still works", async () => {
      const a = await seedTenant(ctx.platform);
      const b = await seedTenant(ctx.platform);
      await expectError(ctx.platform.apiKeys.revoke(a.tenant.id, b.apiKey.id), "not_found", {
        field: b.apiKey.id,
      });
      expect(await ctx.platform.apiKeys.resolve(b.apiKey.key)).toMatchObject({ tenantId: b.tenant.id });
      expect((await ctx.platform.apiKeys.list(b.tenant.id))[0]?.revokedAt).toBeNull();
    });

    it("an unknown key id is not_found; malformed ids are validation_failed naming the field", async () => {
      const { tenant, apiKey } = await seedTenant(ctx.platform);
      await expectError(ctx.platform.apiKeys.revoke(tenant.id, randomUUID()), "not_found");
      await expectError(ctx.platform.apiKeys.revoke(tenant.id, "key-1"), "validation_failed", {
        field: "keyId",
        path: "keyId",
      });
      await expectError(ctx.platform.apiKeys.revoke("nope", apiKey.id), "validation_failed", {
        field: "tenantId",
      });
    });

    it("lists a tenant's keys newest first, only its own, without secrets", async () => {
      const { tenant, apiKey } = await seedTenant(ctx.platform);
      const other = await seedTenant(ctx.platform);
      const second = await ctx.platform.apiKeys.issue(tenant.id, { name: "second" });
      const third = await ctx.platform.apiKeys.issue(tenant.id, { name: "third" });
      await ctx.platform.apiKeys.revoke(tenant.id, second.id);
      const list = await ctx.platform.apiKeys.list(tenant.id);
      expect(list.map((k) => k.id)).toEqual([third.id, second.id, apiKey.id]);
      expect(list.every((k) => k.tenantId === tenant.id)).toBe(true);
      expect(list.find((k) => k.id === second.id)?.revokedAt).not.toBeNull();
      expect(list.some((k) => k.id === other.apiKey.id)).toBe(false);
      for (const k of list) {
        expect(Object.keys(k).sort()).toEqual(
          [
            "createdAt",
            "expiresAt",
            "id",
            "lastUsedAt",
            "name",
            "prefix",
            "revokedAt",
            "scopes",
            "tenantId",
          ].sort(),
        );
      }
      const { key: _key, ...publicPart } = third;
      expect(list[0]).toEqual(publicPart);
    });

    it("list with a malformed tenant id is validation_failed", async () => {
      await expectError(ctx.platform.apiKeys.list("x"), "validation_failed", { path: "tenantId" });
    });
  });
});
