/**
 * The authenticator's key cache and how it is invalidated, on real keys in a real database. The
 * authenticator's look-ups go through a loopback TCP proxy that counts them and can hold PostgreSQL's
 * answers back: that keeps a real look-up in flight while a key is revoked or its tenant deactivated,
 * which is how the races below are staged. The routes that call `forget`/`forgetTenant` are tested on a
 * real server in tenant-admin.test.ts.
 */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiKeyInput, seedTenant } from "../../../test/factories/index.ts";
import { useTestPlatform } from "../../../test/setup/database.ts";
import { HoldingProxy } from "../../../test/support/holding-proxy.ts";
import { until } from "../../../test/support/until.ts";
import { type CyberneticError, createDatabase, createPlatform, type Db } from "../../core/src/index.ts";
import { type Authenticator, createAuthenticator } from "../src/middleware/authenticate.ts";

/** The calling tenant's id, or the error code. A look-up it starts has been started when this returns. */
function auth(authenticator: Authenticator, key: string): Promise<string> {
  let result: ReturnType<Authenticator["authenticate"]>;
  try {
    result = authenticator.authenticate(`Bearer ${key}`, null, "tenant", "read");
  } catch (error) {
    return Promise.resolve((error as CyberneticError).code);
  }
  return Promise.resolve(result).then(
    (principal) => (principal.kind === "tenant" ? principal.tenantId : "admin"),
    (error: CyberneticError) => error.code,
  );
}

describe("createAuthenticator: cache invalidation", () => {
  const ctx = useTestPlatform();
  let proxy: HoldingProxy;
  let lookUpDb: Db;
  let authenticator: Authenticator;
  /** Look-ups sent to PostgreSQL so far (each is one call of the key-resolving function). */
  const lookUps = () => proxy.sent.split("resolve_api_key(").length - 1;

  beforeAll(async () => {
    const proxied = await HoldingProxy.forUrl(ctx.database.appUrl);
    proxy = proxied.proxy;
    lookUpDb = createDatabase({
      url: proxied.url,
      pooler: ctx.database.pooled ? "transaction" : "auto",
      poolSize: 2,
    });
    // Open both connections now: a connection opened while answers are held could not finish starting.
    await Promise.all([0, 1].map(() => sql`select pg_sleep(0.05)`.execute(lookUpDb)));
    authenticator = createAuthenticator({
      apiKeys: createPlatform({ db: lookUpDb }).apiKeys,
      adminKey: undefined,
      cacheTtlMs: 60_000,
    });
  });

  afterAll(async () => {
    proxy.release();
    await lookUpDb.destroy();
    await proxy.close();
  });

  /** A tenant with `extra` more keys than the one it is created with. */
  async function tenantWithKeys(extra = 0) {
    const { tenant, apiKey } = await seedTenant(ctx.platform);
    const keys = [apiKey.key];
    for (let i = 0; i < extra; i++)
      keys.push((await ctx.platform.apiKeys.issue(tenant.id, apiKeyInput())).key);
    return { id: tenant.id, keys };
  }

  it("forgetTenant drops every cached key of that tenant, and only of that tenant", async () => {
    const a = await tenantWithKeys(1);
    const b = await tenantWithKeys();
    const before = lookUps();
    for (const key of [...a.keys, ...b.keys]) expect(await auth(authenticator, key)).not.toBe("forbidden");
    expect(lookUps() - before).toBe(3);

    await ctx.platform.tenants.deactivate(a.id);
    await ctx.platform.tenants.deactivate(b.id); // B changed too, but B is not forgotten: its answer stands
    expect(await auth(authenticator, a.keys[0] as string)).toBe(a.id); // still cached
    authenticator.forgetTenant(a.id);
    expect(await auth(authenticator, a.keys[0] as string)).toBe("forbidden");
    expect(await auth(authenticator, a.keys[1] as string)).toBe("forbidden");
    expect(await auth(authenticator, b.keys[0] as string)).toBe(b.id);
    expect(lookUps() - before).toBe(5);
  });

  it("forgetTenant drops cached `tenant is deactivated` rejections, so re-activation is immediate", async () => {
    const a = await tenantWithKeys();
    const key = a.keys[0] as string;
    await ctx.platform.tenants.deactivate(a.id);
    expect(await auth(authenticator, key)).toBe("forbidden");
    await ctx.platform.tenants.activate(a.id);
    expect(await auth(authenticator, key)).toBe("forbidden"); // the rejection is cached
    authenticator.forgetTenant(a.id);
    expect(await auth(authenticator, key)).toBe(a.id);
  });

  it("a look-up in flight when the tenant is forgotten is neither cached nor joined", async () => {
    const a = await tenantWithKeys();
    const key = a.keys[0] as string;
    const start = lookUps();
    proxy.hold();
    try {
      const before = auth(authenticator, key); // answered "active" by PostgreSQL, held on the way back
      await until(() => lookUps() === start + 1, "the first look-up to reach PostgreSQL");
      await ctx.platform.tenants.deactivate(a.id);
      authenticator.forgetTenant(a.id);
      const after = auth(authenticator, key);
      // A second look-up of its own, while the first is still held: it did not join the stale one.
      await until(() => lookUps() === start + 2, "a second look-up, not a joined one");
      proxy.release();
      expect(await before).toBe(a.id); // it raced the deactivation: that answer is fair
      expect(await after).toBe("forbidden");
    } finally {
      proxy.release();
    }
    expect(await auth(authenticator, key)).toBe("forbidden"); // the stale answer was not cached
    expect(lookUps()).toBe(start + 2);
  });

  it("forget drops one key and does not cache a look-up that raced its revocation", async () => {
    const a = await tenantWithKeys(1);
    const [kept, revoked] = a.keys as [string, string];
    expect(await auth(authenticator, kept)).toBe(a.id);
    const revokedId = (await ctx.platform.apiKeys.list(a.id)).find((info) => revoked.startsWith(info.prefix))
      ?.id as string;
    const start = lookUps();
    proxy.hold();
    try {
      const racing = auth(authenticator, revoked);
      await until(() => lookUps() === start + 1, "the look-up to reach PostgreSQL");
      await ctx.platform.apiKeys.revoke(a.id, revokedId);
      authenticator.forget(revokedId);
      proxy.release();
      expect(await racing).toBe(a.id);
    } finally {
      proxy.release();
    }
    expect(await auth(authenticator, revoked)).toBe("unauthorized");
    expect(await auth(authenticator, kept)).toBe(a.id);
    expect(lookUps()).toBe(start + 2); // `kept` stayed cached
  });
});
