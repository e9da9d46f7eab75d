/** `PATCH /v1/tenants/:id`: a tenant's name and settings after creation, secrets write-only. */
import { describe, expect, it } from "vitest";
import { withTenant } from "../../core/src/index.ts";
import { ADMIN_KEY, createTenant, useGateway } from "./helpers/gateway-harness.ts";

const h = useGateway();

const patch = (id: string, body: unknown, key = ADMIN_KEY) =>
  h.request(`/v1/tenants/${id}`, { method: "PATCH", key, body });

describe("PATCH /v1/tenants/:id (admin)", () => {
  it("gives a tenant created without one a webhook secret, merges settings, and never reads a secret back", async () => {
    const { tenant } = await createTenant(h);
    const secret = "a-webhook-secret-of-some-length";
    const set = await patch(tenant.id, {
      name: "Renamed",
      settings: {
        webhookSecret: secret,
        alerts: [{ channel: "event", to: "ops" }],
        team: { botToken: "t0k" },
      },
    });
    expect(set.status, set.text).toBe(200);
    expect(set.body).toMatchObject({
      id: tenant.id,
      name: "Renamed",
      settings: {
        webhookSecret: "[redacted]",
        alerts: [{ channel: "event", to: "ops" }],
        team: { botToken: "[redacted]" },
      },
    });
    expect(set.text).not.toContain(secret);
    expect(set.text).not.toContain("t0k");
    // Every read redacts: get, list, and what the platform returns.
    const got = await h.request(`/v1/tenants/${tenant.id}`, { key: ADMIN_KEY });
    expect(got.body.settings.webhookSecret).toBe("[redacted]");
    let cursor: string | undefined;
    let listed: string | undefined;
    do {
      const page = await h.request(`/v1/tenants?limit=100${cursor ? `&cursor=${cursor}` : ""}`, {
        key: ADMIN_KEY,
      });
      listed ??= page.body.items.find((t: { id: string }) => t.id === tenant.id) ? page.text : undefined;
      cursor = page.body.nextCursor;
    } while (cursor && !listed);
    expect(listed).toContain("[redacted]");
    expect(listed).not.toContain(secret);
    // The secret is stored as given (the webhook sender signs with it).
    const stored = await withTenant(h.db.db, tenant.id, (trx) =>
      trx.selectFrom("tenants").select("settings").where("id", "=", tenant.id).executeTakeFirstOrThrow(),
    );
    expect(stored.settings.webhookSecret).toBe(secret);

    // A merge patch: untouched members stay, null removes one.
    const removed = await patch(tenant.id, { settings: { webhookSecret: null, note: "kept as given" } });
    expect(removed.status, removed.text).toBe(200);
    expect(removed.body.name).toBe("Renamed");
    expect(removed.body.settings).toEqual({
      alerts: [{ channel: "event", to: "ops" }],
      team: { botToken: "[redacted]" },
      note: "kept as given",
    });
  });

  it("refuses bad settings, unknown fields, an empty patch, an unknown tenant and a tenant key", async () => {
    const { tenant, key } = await createTenant(h);
    for (const body of [
      { settings: { webhookSecret: "short" } },
      { settings: { alerts: [{ channel: "carrier-pigeon", to: "x" }] } },
      { settings: [] },
      { slug: "renamed" },
      {},
      { name: "" },
    ]) {
      const res = await patch(tenant.id, body);
      expect(res.status, `${JSON.stringify(body)}: ${res.text}`).toBe(400);
      expect(res.body.error.code).toBe("validation_failed");
    }
    expect((await patch("00000000-0000-4000-8000-000000000000", { name: "x" })).status).toBe(404);
    expect((await patch("not-a-uuid", { name: "x" })).status).toBe(400);
    expect((await patch(tenant.id, { name: "x" }, key)).status).toBe(403);
  });
});
