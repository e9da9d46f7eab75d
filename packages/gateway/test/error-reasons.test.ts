/** `details.reason` is one convention: a lowercase snake_case identifier; the prose is in `message`. */
import { describe, expect, it } from "vitest";
import { ADMIN_KEY, createTenant, useGateway } from "./helpers/gateway-harness.ts";

const h = useGateway();
const IDENTIFIER = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;

describe("details.reason", () => {
  it("is an identifier for every refusal of a key", async () => {
    const { tenant, key, keyId } = await createTenant(h);
    const revoked = await h.request(`/v1/tenants/${tenant.id}/api-keys`, {
      method: "POST",
      key: ADMIN_KEY,
      body: { name: "to revoke" },
    });
    await h.request(`/v1/tenants/${tenant.id}/api-keys/${revoked.body.id}`, {
      method: "DELETE",
      key: ADMIN_KEY,
    });
    const readOnly = await h.request(`/v1/tenants/${tenant.id}/api-keys`, {
      method: "POST",
      key: ADMIN_KEY,
      body: { name: "read only", scopes: ["read"] },
    });
    const cases: [RequestInit & { key?: string; path?: string }, string][] = [
      [{}, "missing_key"],
      [{ headers: { authorization: "Basic abc" } }, "malformed_authorization"],
      [{ key: "not-a-key" }, "malformed_key"],
      [{ key: `cyb_${"A".repeat(43)}` }, "unknown_key"],
      [{ key: revoked.body.key }, "revoked_key"],
      [{ key: ADMIN_KEY }, "admin_key_on_tenant_route"],
      [{ key, path: "/v1/tenants" }, "tenant_key_on_admin_route"],
      [{ key: readOnly.body.key, method: "POST", path: "/v1/episodes" }, "missing_scope"],
    ];
    expect(keyId).toBeTruthy();
    for (const [init, reason] of cases) {
      const res = await h.request(init.path ?? "/v1/systems", {
        ...(init.key ? { key: init.key } : {}),
        ...(init.method ? { method: init.method, body: { title: "t", content: "c" } } : {}),
        headers: (init.headers as Record<string, string>) ?? {},
      });
      expect(res.body.error.details.reason, res.text).toBe(reason);
      expect(reason).toMatch(IDENTIFIER);
      expect(res.body.error.message).not.toBe(reason);
    }
  });
});
