/**
 * The operator's hold on a tenant: listing and revoking its keys, deactivating and re-activating it, and
 * the tenant's own key list. This gateway runs with the API-key cache ON (the other files turn it off),
 * so every "at once" below proves the route dropped the cached resolution, not that there was none.
 */
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KEY, type ApiResponse, createTenant, useGateway } from "./helpers/gateway-harness.ts";

const h = useGateway({ config: { apiKeyCacheTtlMs: 60_000 } });

interface Fixture {
  id: string;
  key: string;
  keyId: string;
}
let a: Fixture;
let b: Fixture;

beforeAll(async () => {
  const ta = await createTenant(h);
  const tb = await createTenant(h);
  a = { id: ta.tenant.id, key: ta.key, keyId: ta.keyId };
  b = { id: tb.tenant.id, key: tb.key, keyId: tb.keyId };
});

const expectError = (res: ApiResponse, status: number, code: string) => {
  expect(res.status, res.text).toBe(status);
  expect(res.body.error.code, res.text).toBe(code);
  expect(res.body.requestId).toBe(res.headers.get("x-request-id"));
};

/** Issues another key for a tenant through the admin API. */
async function issue(tenantId: string, name: string) {
  const res = await h.request(`/v1/tenants/${tenantId}/api-keys`, {
    method: "POST",
    key: ADMIN_KEY,
    body: { name },
  });
  expect(res.status, res.text).toBe(201);
  return { id: res.body.id as string, key: res.body.key as string };
}

/** A cheap tenant request; its status tells whether the key works. */
const use = async (key: string) => (await h.request("/v1/systems/1", { key })).status;

const API_KEY_FIELDS = [
  "createdAt",
  "expiresAt",
  "id",
  "lastUsedAt",
  "name",
  "prefix",
  "revokedAt",
  "scopes",
  "tenantId",
];

describe("GET /v1/tenants/:id/api-keys (admin)", () => {
  it("lists the tenant's keys, newest first, without secrets", async () => {
    const extra = await issue(a.id, "listed");
    const res = await h.request(`/v1/tenants/${a.id}/api-keys`, { key: ADMIN_KEY });
    expect(res.status, res.text).toBe(200);
    expect(Object.keys(res.body)).toEqual(["items"]);
    const ids = res.body.items.map((k: { id: string }) => k.id);
    expect(ids).toContain(a.keyId);
    expect(ids.indexOf(extra.id)).toBeLessThan(ids.indexOf(a.keyId));
    expect(ids).not.toContain(b.keyId);
    for (const item of res.body.items) {
      expect(Object.keys(item).sort()).toEqual(API_KEY_FIELDS);
      expect(item.tenantId).toBe(a.id);
    }
    // Neither the key nor its hash is anywhere in the response.
    expect(res.text).not.toContain(extra.key);
    expect(res.text).not.toContain(a.key);
    expect(res.text).not.toMatch(/key_?hash|"key"/i);
  });

  it("answers 404 for an unknown tenant and 400 naming `id` for a malformed one", async () => {
    expectError(
      await h.request(`/v1/tenants/${randomUUID()}/api-keys`, { key: ADMIN_KEY }),
      404,
      "not_found",
    );
    const bad = await h.request("/v1/tenants/not-a-uuid/api-keys", { key: ADMIN_KEY });
    expectError(bad, 400, "validation_failed");
    expect(bad.body.error.details.issues[0].path).toBe("id");
  });
});

describe("DELETE /v1/tenants/:id/api-keys/:keyId (admin)", () => {
  it("revokes a key at once, leaves the tenant's other keys working, and is idempotent", async () => {
    const leaked = await issue(a.id, "leaked");
    // Used first, so this gateway has cached it as valid.
    expect(await use(leaked.key)).toBe(200);
    expect(await use(a.key)).toBe(200);

    const res = await h.request(`/v1/tenants/${a.id}/api-keys/${leaked.id}`, {
      method: "DELETE",
      key: ADMIN_KEY,
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ id: leaked.id, tenantId: a.id, name: "leaked" });
    expect(res.body.revokedAt).toBeTypeOf("string");
    expect(Object.keys(res.body).sort()).toEqual(API_KEY_FIELDS);

    const after = await h.request("/v1/systems/1", { key: leaked.key });
    expectError(after, 401, "unauthorized");
    expect(await use(a.key)).toBe(200);

    const again = await h.request(`/v1/tenants/${a.id}/api-keys/${leaked.id}`, {
      method: "DELETE",
      key: ADMIN_KEY,
    });
    expect(again.status, again.text).toBe(200);
    expect(again.body.revokedAt).toBe(res.body.revokedAt);

    const listed = await h.request(`/v1/tenants/${a.id}/api-keys`, { key: ADMIN_KEY });
    const row = listed.body.items.find((k: { id: string }) => k.id === leaked.id);
    expect(row.revokedAt).toBe(res.body.revokedAt);
  });

  it("cannot revoke another tenant's key through this tenant's URL", async () => {
    expect(await use(b.key)).toBe(200);
    expectError(
      await h.request(`/v1/tenants/${a.id}/api-keys/${b.keyId}`, { method: "DELETE", key: ADMIN_KEY }),
      404,
      "not_found",
    );
    expect(await use(b.key)).toBe(200);
    const bKeys = await h.request(`/v1/tenants/${b.id}/api-keys`, { key: ADMIN_KEY });
    expect(bKeys.body.items.find((k: { id: string }) => k.id === b.keyId).revokedAt).toBeNull();
  });

  it("answers 404 for an unknown tenant or key and 400 naming the malformed parameter", async () => {
    expectError(
      await h.request(`/v1/tenants/${randomUUID()}/api-keys/${a.keyId}`, {
        method: "DELETE",
        key: ADMIN_KEY,
      }),
      404,
      "not_found",
    );
    expectError(
      await h.request(`/v1/tenants/${a.id}/api-keys/${randomUUID()}`, { method: "DELETE", key: ADMIN_KEY }),
      404,
      "not_found",
    );
    const badKey = await h.request(`/v1/tenants/${a.id}/api-keys/42`, { method: "DELETE", key: ADMIN_KEY });
    expectError(badKey, 400, "validation_failed");
    expect(badKey.body.error.details.issues.map((i: { path: string }) => i.path)).toEqual(["keyId"]);
    const badTenant = await h.request(`/v1/tenants/nope/api-keys/${a.keyId}`, {
      method: "DELETE",
      key: ADMIN_KEY,
    });
    expectError(badTenant, 400, "validation_failed");
    expect(badTenant.body.error.details.issues.map((i: { path: string }) => i.path)).toEqual(["id"]);
    expect(await use(a.key)).toBe(200);
  });
});

describe("POST /v1/tenants/:id/deactivate and /activate (admin)", () => {
  it("stops the tenant's cached keys at once, and re-activation restores them at once", async () => {
    const t = await createTenant(h);
    const second = await issue(t.tenant.id, "second");
    expect(await use(t.key)).toBe(200);
    expect(await use(second.key)).toBe(200);

    // Deactivated behind the gateway's back: the cached resolution still admits the key, which is what
    // the route has to undo.
    await h.db.platform.tenants.deactivate(t.tenant.id);
    expect(await use(t.key)).toBe(200);

    const off = await h.request(`/v1/tenants/${t.tenant.id}/deactivate`, { method: "POST", key: ADMIN_KEY });
    expect(off.status, off.text).toBe(200);
    expect(off.body).toMatchObject({ id: t.tenant.id, active: false });
    for (const key of [t.key, second.key]) {
      const res = await h.request("/v1/systems/1", { key });
      expectError(res, 403, "forbidden");
      expect(res.body.error.message).toContain("deactivated");
    }
    // Other tenants are untouched.
    expect(await use(a.key)).toBe(200);
    // Idempotent.
    const offAgain = await h.request(`/v1/tenants/${t.tenant.id}/deactivate`, {
      method: "POST",
      key: ADMIN_KEY,
    });
    expect(offAgain.status).toBe(200);
    expect(offAgain.body.active).toBe(false);
    expect((await h.request(`/v1/tenants/${t.tenant.id}`, { key: ADMIN_KEY })).body.active).toBe(false);
    // The admin can still see and manage the deactivated tenant's keys.
    const keys = await h.request(`/v1/tenants/${t.tenant.id}/api-keys`, { key: ADMIN_KEY });
    expect(keys.body.items).toHaveLength(2);

    // A 403 is cached too (this one after the second deactivation dropped the earlier ones); activating
    // drops it.
    expectError(await h.request("/v1/systems/1", { key: t.key }), 403, "forbidden");
    expectError(await h.request("/v1/systems/1", { key: second.key }), 403, "forbidden");
    const on = await h.request(`/v1/tenants/${t.tenant.id}/activate`, { method: "POST", key: ADMIN_KEY });
    expect(on.status, on.text).toBe(200);
    expect(on.body).toMatchObject({ id: t.tenant.id, active: true });
    expect(await use(t.key)).toBe(200);
    expect(await use(second.key)).toBe(200);
    const onAgain = await h.request(`/v1/tenants/${t.tenant.id}/activate`, {
      method: "POST",
      key: ADMIN_KEY,
    });
    expect(onAgain.status).toBe(200);
    expect(onAgain.body.active).toBe(true);
  });

  it("answers 404 for an unknown tenant and 400 naming `id` for a malformed one", async () => {
    for (const action of ["deactivate", "activate"]) {
      expectError(
        await h.request(`/v1/tenants/${randomUUID()}/${action}`, { method: "POST", key: ADMIN_KEY }),
        404,
        "not_found",
      );
      const bad = await h.request(`/v1/tenants/123/${action}`, { method: "POST", key: ADMIN_KEY });
      expectError(bad, 400, "validation_failed");
      expect(bad.body.error.details.issues[0].path).toBe("id");
    }
  });
});

describe("GET /v1/api-keys (tenant)", () => {
  it("lists only the calling tenant's keys, without secrets", async () => {
    const res = await h.request("/v1/api-keys", { key: b.key });
    expect(res.status, res.text).toBe(200);
    const ids = res.body.items.map((k: { id: string }) => k.id);
    expect(ids).toEqual([b.keyId]);
    expect(res.body.items[0].tenantId).toBe(b.id);
    expect(Object.keys(res.body.items[0]).sort()).toEqual(API_KEY_FIELDS);
    expect(res.text).not.toContain(b.key);

    const mine = await h.request("/v1/api-keys", { key: a.key });
    expect(mine.status).toBe(200);
    expect(mine.body.items.length).toBeGreaterThan(1);
    for (const item of mine.body.items) expect(item.tenantId).toBe(a.id);
    expect(mine.body.items.map((k: { id: string }) => k.id)).not.toContain(b.keyId);
  });

  it("is open to read-only keys and closed to the admin key", async () => {
    const reader = await h.request(`/v1/tenants/${b.id}/api-keys`, {
      method: "POST",
      key: ADMIN_KEY,
      body: { name: "reader", scopes: ["read"] },
    });
    expect((await h.request("/v1/api-keys", { key: reader.body.key })).status).toBe(200);
    const admin = await h.request("/v1/api-keys", { key: ADMIN_KEY });
    expectError(admin, 403, "forbidden");
    expect(admin.body.error.details.reason).toBe("admin_key_on_tenant_route");
  });
});

describe("the admin/tenant split", () => {
  it("a tenant key gets 403 on every new admin route, even for its own tenant", async () => {
    const attempts: [string, string][] = [
      ["GET", `/v1/tenants/${a.id}/api-keys`],
      ["DELETE", `/v1/tenants/${a.id}/api-keys/${a.keyId}`],
      ["DELETE", `/v1/tenants/${b.id}/api-keys/${b.keyId}`],
      ["POST", `/v1/tenants/${a.id}/deactivate`],
      ["POST", `/v1/tenants/${b.id}/deactivate`],
      ["POST", `/v1/tenants/${a.id}/activate`],
    ];
    for (const [method, path] of attempts) {
      const res = await h.request(path, { method, key: a.key });
      expectError(res, 403, "forbidden");
      expect(res.body.error.details.reason, `${method} ${path}`).toBe("tenant_key_on_admin_route");
    }
    // Nothing happened.
    expect(await use(a.key)).toBe(200);
    expect(await use(b.key)).toBe(200);
    expect((await h.request(`/v1/tenants/${a.id}`, { key: ADMIN_KEY })).body.active).toBe(true);
  });
});

describe("OpenAPI", () => {
  it("documents the new routes with their parameters, schemas and security", async () => {
    const doc = (await h.request("/openapi.json")).body;
    const list = doc.paths["/v1/tenants/{id}/api-keys"].get;
    expect(list.operationId).toBe("listTenantApiKeys");
    expect(list.responses["200"].content["application/json"].schema).toEqual({
      $ref: "#/components/schemas/ApiKeyList",
    });
    expect(list.responses["404"]).toBeDefined();
    expect(doc.components.schemas.ApiKeyList.properties.items.items).toEqual({
      $ref: "#/components/schemas/ApiKey",
    });
    const revoke = doc.paths["/v1/tenants/{id}/api-keys/{keyId}"].delete;
    expect(revoke.operationId).toBe("revokeTenantApiKey");
    expect(revoke.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`)).toEqual([
      "path:id",
      "path:keyId",
    ]);
    expect(revoke.description).toContain("API_KEY_CACHE_TTL_MS");
    expect(revoke.responses["200"].content["application/json"].schema).toEqual({
      $ref: "#/components/schemas/ApiKey",
    });
    for (const action of ["deactivate", "activate"]) {
      const op = doc.paths[`/v1/tenants/{id}/${action}`].post;
      expect(op.operationId).toBe(`${action}Tenant`);
      expect(op.description).toContain("API_KEY_CACHE_TTL_MS");
      expect(op.responses["200"].content["application/json"].schema).toEqual({
        $ref: "#/components/schemas/Tenant",
      });
    }
    const own = doc.paths["/v1/api-keys"].get;
    expect(own.operationId).toBe("listApiKeys");
    expect(own.responses["200"].content["application/json"].schema).toEqual({
      $ref: "#/components/schemas/ApiKeyList",
    });
    expect(own.security).toEqual([{ bearerAuth: [] }, { apiKeyHeader: [] }]);
  });
});
