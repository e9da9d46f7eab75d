/**
 * Two tenants through the API: neither can see or change the other's episodes, policies, systems or
 * jobs. Row-level security is what enforces it; these tests prove the gateway never bypasses it.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { episodeInput, policyInput } from "../../../test/factories/index.ts";
import { withTenant } from "../../core/src/index.ts";
import { ADMIN_KEY, createTenant, useGateway } from "./helpers/gateway-harness.ts";

const h = useGateway();
const a = { key: "", episode: "", policy: "", job: "", unit: "", alert: "", audit: "", indicator: "" };
const b = { key: "", unit: "" };

beforeAll(async () => {
  a.key = (await createTenant(h)).key;
  b.key = (await createTenant(h)).key;
  const episode = await h.request("/v1/episodes", {
    method: "POST",
    key: a.key,
    body: episodeInput({ tags: ["a-only"] }),
  });
  a.episode = episode.body.episode.id;
  a.job = episode.body.jobId;
  a.policy = (
    await h.request("/v1/policies", { method: "POST", key: a.key, body: policyInput({ name: "a policy" }) })
  ).body.id;
  a.unit = (
    await h.request("/v1/units", { method: "POST", key: a.key, body: { name: "A unit", slug: "a-unit" } })
  ).body.id;
  b.unit = (
    await h.request("/v1/units", { method: "POST", key: b.key, body: { name: "B unit", slug: "b-unit" } })
  ).body.id;
  a.alert = (
    await h.request("/v1/alerts", {
      method: "POST",
      key: a.key,
      body: { message: "A hurts", unitId: a.unit },
    })
  ).body.id;
  a.audit = (await h.request("/v1/audits", { method: "POST", key: a.key })).body.id;
  a.indicator = (
    await h.request(`/v1/units/${a.unit}/indicators`, {
      method: "POST",
      key: a.key,
      body: { name: "output", capability: 10, potentiality: 20 },
    })
  ).body.id;
  const s3 = await h.request("/v1/systems/3", { key: a.key });
  await h.request("/v1/systems/3", {
    method: "PUT",
    key: a.key,
    body: { state: { owner: "a" }, version: s3.body.version },
  });
});

describe("tenant isolation", () => {
  it("episodes: B cannot list, read or re-analyse A's", async () => {
    const list = await h.request("/v1/episodes?limit=100", { key: b.key });
    expect(list.body.items).toEqual([]);
    expect((await h.request("/v1/episodes?tag=a-only", { key: b.key })).body.items).toEqual([]);
    expect((await h.request(`/v1/episodes/${a.episode}`, { key: b.key })).status).toBe(404);
    expect(
      (await h.request(`/v1/episodes/${a.episode}/analyze`, { method: "POST", key: b.key })).status,
    ).toBe(404);
    expect((await h.request(`/v1/episodes/${a.episode}`, { key: a.key })).status).toBe(200);
  });

  it("policies: B cannot list, read, change, delete or evaluate A's", async () => {
    expect((await h.request("/v1/policies", { key: b.key })).body.items).toEqual([]);
    expect((await h.request(`/v1/policies/${a.policy}`, { key: b.key })).status).toBe(404);
    expect(
      (await h.request(`/v1/policies/${a.policy}`, { method: "PATCH", key: b.key, body: { active: false } }))
        .status,
    ).toBe(404);
    expect((await h.request(`/v1/policies/${a.policy}`, { method: "DELETE", key: b.key })).status).toBe(404);
    const evaluate = await h.request(`/v1/policies/${a.policy}/evaluate`, {
      method: "POST",
      key: b.key,
      body: { event: { type: "episode.analyzed" } },
    });
    expect(evaluate.status).toBe(404);
    expect((await h.request(`/v1/policies/${a.policy}/evaluations`, { key: b.key })).status).toBe(404);
    expect((await h.request(`/v1/policies/${a.policy}/evaluations`, { key: a.key })).status).toBe(200);
    const mine = await h.request(`/v1/policies/${a.policy}`, { key: a.key });
    expect(mine.body).toMatchObject({ active: true, version: 1 });
    // B may use the same name: names are unique per tenant only.
    expect(
      (
        await h.request("/v1/policies", {
          method: "POST",
          key: b.key,
          body: policyInput({ name: "a policy" }),
        })
      ).status,
    ).toBe(201);
  });

  it("systems: each tenant has its own five states and history", async () => {
    const bS3 = await h.request("/v1/systems/3", { key: b.key });
    expect(bS3.body).toMatchObject({ state: {}, version: 1 });
    const put = await h.request("/v1/systems/3", {
      method: "PUT",
      key: b.key,
      body: { state: { owner: "b" }, version: 1 },
    });
    expect(put.status).toBe(200);
    expect((await h.request("/v1/systems/3", { key: a.key })).body.state).toEqual({ owner: "a" });
    const history = await h.request("/v1/systems/3/history", { key: b.key });
    expect(history.body.items.map((e: { state: unknown }) => e.state)).toEqual([{ owner: "b" }, {}]);
  });

  it("jobs: B cannot see A's job", async () => {
    expect((await h.request(`/v1/jobs/${a.job}`, { key: b.key })).status).toBe(404);
    expect((await h.request(`/v1/jobs/${a.job}`, { key: a.key })).status).toBe(200);
  });

  it("telegram: B's webhook secret cannot post into A's webhook, and each tenant sees only its own updates", async () => {
    const tenants = await Promise.all([createTenant(h), createTenant(h)]);
    const secrets = ["isolation-secret-of-tenant-a-0001", "isolation-secret-of-tenant-b-0002"];
    for (const [i, t] of tenants.entries()) {
      await h.request(`/v1/tenants/${t.tenant.id}`, {
        method: "PATCH",
        key: ADMIN_KEY,
        body: { settings: { telegram: { webhookSecret: secrets[i] } } },
      });
    }
    const [ta, tb] = tenants as [(typeof tenants)[0], (typeof tenants)[0]];
    const update = {
      update_id: 4242,
      message: { message_id: 1, chat: { id: 9, type: "private" }, text: "a's" },
    };
    const post = (slug: string, secret: string) =>
      h.request(`/telegram/webhook/${slug}`, {
        method: "POST",
        body: update,
        headers: { "x-telegram-bot-api-secret-token": secret },
      });
    expect((await post(ta.tenant.slug, secrets[1] as string)).status).toBe(401);
    expect((await post(ta.tenant.slug, secrets[0] as string)).body.outcome).toBe("queued");
    // The same update_id at B is B's own: deduplication is per tenant.
    expect((await post(tb.tenant.slug, secrets[1] as string)).body.outcome).toBe("queued");
    for (const t of [ta, tb]) {
      const rows = await withTenant(h.db.db, t.tenant.id, (trx) =>
        trx.selectFrom("telegram_updates").select(["tenant_id", "update_id"]).execute(),
      );
      expect(rows).toEqual([{ tenant_id: t.tenant.id, update_id: "4242" }]);
    }
  });

  it("units: B cannot see, change, move, archive or build under A's units, nor read their systems", async () => {
    const tree = await h.request("/v1/units", { key: b.key });
    expect(tree.body.items.map((u: { id: string }) => u.id)).not.toContain(a.unit);
    const attempts: [string, string, unknown?][] = [
      ["GET", `/v1/units/${a.unit}`],
      ["GET", `/v1/units/${a.unit}/subtree`],
      ["PATCH", `/v1/units/${a.unit}`, { name: "mine now" }],
      ["POST", `/v1/units/${a.unit}/move`, { parentId: b.unit }],
      ["POST", `/v1/units/${a.unit}/archive`],
      ["POST", "/v1/units", { name: "x", slug: "x", parentId: a.unit }],
      ["POST", `/v1/units/${b.unit}/move`, { parentId: a.unit }],
      ["GET", `/v1/units/${a.unit}/systems`],
      ["GET", `/v1/units/${a.unit}/systems/3`],
      ["PUT", `/v1/units/${a.unit}/systems/3`, { state: { owner: "b" }, version: 1 }],
      ["GET", `/v1/units/${a.unit}/systems/3/history`],
      ["GET", `/v1/units/${a.unit}/viability`],
    ];
    for (const [method, path, body] of attempts) {
      const res = await h.request(path, { method, key: b.key, ...(body === undefined ? {} : { body }) });
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    // Naming A's unit in a body is refused the same way as naming no unit at all.
    const episode = await h.request("/v1/episodes", {
      method: "POST",
      key: b.key,
      body: episodeInput({ unitId: a.unit }),
    });
    expect(episode.status).toBe(400);
    const mine = await h.request(`/v1/units/${a.unit}`, { key: a.key });
    expect(mine.body).toMatchObject({ name: "A unit", archivedAt: null, depth: 1 });
    const viability = await h.request(`/v1/units/${a.unit}/viability`, { key: a.key });
    expect(viability.body.units.map((u: { unit: { id: string } }) => u.unit.id)).toEqual([a.unit]);
    expect((await h.request(`/v1/units/${a.unit}/systems/3`, { key: a.key })).body.version).toBe(1);
  });

  it("alerts: B cannot list, read, acknowledge or resolve A's, nor raise one at A's unit", async () => {
    expect((await h.request("/v1/alerts", { key: b.key })).body.items).toEqual([]);
    expect((await h.request(`/v1/alerts?unitId=${a.unit}`, { key: b.key })).body.items).toEqual([]);
    for (const [method, path] of [
      ["GET", `/v1/alerts/${a.alert}`],
      ["POST", `/v1/alerts/${a.alert}/ack`],
      ["POST", `/v1/alerts/${a.alert}/resolve`],
    ] as const) {
      expect((await h.request(path, { method, key: b.key })).status, `${method} ${path}`).toBe(404);
    }
    const raise = await h.request("/v1/alerts", {
      method: "POST",
      key: b.key,
      body: { message: "x", unitId: a.unit },
    });
    expect(raise.status).toBe(404);
    expect((await h.request(`/v1/alerts/${a.alert}`, { key: a.key })).body).toMatchObject({
      status: "raised",
      acknowledgedBy: null,
    });
  });

  it("audits: B cannot list or read A's, nor audit A's unit", async () => {
    expect((await h.request("/v1/audits", { key: b.key })).body.items).toEqual([]);
    expect((await h.request(`/v1/audits/${a.audit}`, { key: b.key })).status).toBe(404);
    const audit = await h.request("/v1/audits", { method: "POST", key: b.key, body: { unitId: a.unit } });
    expect(audit.status).toBe(404);
    expect((await h.request(`/v1/audits/${a.audit}`, { key: a.key })).status).toBe(200);
  });

  it("indicators: B cannot list, read, change or feed A's, nor declare one on A's unit", async () => {
    const base = `/v1/units/${a.unit}/indicators`;
    const reading = { readings: [{ at: "2026-01-01T00:00:00Z", actuality: 1 }] };
    const attempts: [string, string, unknown?][] = [
      ["GET", base],
      ["POST", base, { name: "mine", capability: 1, potentiality: 1 }],
      ["GET", `${base}/${a.indicator}`],
      ["PATCH", `${base}/${a.indicator}`, { name: "mine" }],
      ["POST", `${base}/${a.indicator}/readings`, reading],
      ["GET", `${base}/${a.indicator}/readings`],
      // A's indicator under B's own unit: still not found.
      ["GET", `/v1/units/${b.unit}/indicators/${a.indicator}`],
      ["POST", `/v1/units/${b.unit}/indicators/${a.indicator}/readings`, reading],
    ];
    for (const [method, path, body] of attempts) {
      const res = await h.request(path, { method, key: b.key, ...(body === undefined ? {} : { body }) });
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    const mine = await h.request(`${base}/${a.indicator}`, { key: a.key });
    expect(mine.body).toMatchObject({ name: "output", latest: null });
  });
});
