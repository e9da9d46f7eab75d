/**
 * Every route on a real server: its success path and each of its errors.
 */
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { episodeInput, policyInput, policyRules } from "../../../test/factories/index.ts";
import { withTenant } from "../../core/src/index.ts";
import { ADMIN_KEY, type ApiResponse, createTenant, useGateway } from "./helpers/gateway-harness.ts";

const h = useGateway();
let key: string;
let tenantId: string;

beforeAll(async () => {
  const created = await createTenant(h);
  key = created.key;
  tenantId = created.tenant.id;
});

const expectError = (res: ApiResponse, status: number, code: string) => {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.error.code).toBe(code);
  expect(typeof res.body.error.message).toBe("string");
  expect(res.body.requestId).toBe(res.headers.get("x-request-id"));
};

describe("operations", () => {
  it("GET /health is alive without any dependency", async () => {
    const res = await h.request("/health");
    expect(res.status).toBe(200);
    expect(res.body.status).toBe("ok");
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  });

  it("GET /ready reports each check", async () => {
    const res = await h.request("/ready");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      status: "ready",
      checks: { database: { status: "ok" }, queue: { status: "ok" }, storage: { status: "disabled" } },
    });
  });

  it("GET /ready answers 503 naming the failing check", async () => {
    h.queue.failing = "queue database unreachable";
    try {
      const res = await h.request("/ready");
      expectError(res, 503, "unavailable");
      expect(res.body.error.message).toContain("queue");
      expect(res.body.error.details.failing).toEqual(["queue"]);
      expect(res.body.error.details.checks.queue.error).toBe("queue database unreachable");
    } finally {
      h.queue.failing = undefined;
    }
  });

  it("GET /metrics serves the Prometheus text format", async () => {
    const res = await h.request("/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(res.text).toContain("cybernetic_http_requests_total");
  });

  it("GET /openapi.json serves an OpenAPI 3.1 document", async () => {
    const res = await h.request("/openapi.json");
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe("3.1.0");
  });
});

describe("tenants (admin)", () => {
  it("POST /v1/tenants creates a tenant and shows its key once", async () => {
    const res = await h.request("/v1/tenants", {
      method: "POST",
      key: ADMIN_KEY,
      body: { name: "Acme", slug: "acme" },
    });
    expect(res.status).toBe(201);
    expect(res.body.tenant).toMatchObject({ name: "Acme", slug: "acme", active: true });
    expect(res.body.apiKey.key).toMatch(/^cyb_/);
    const again = await h.request("/v1/tenants", {
      method: "POST",
      key: ADMIN_KEY,
      body: { name: "Acme", slug: "acme" },
    });
    expectError(again, 409, "duplicate");
    const invalid = await h.request("/v1/tenants", {
      method: "POST",
      key: ADMIN_KEY,
      body: { name: "x", slug: "Not A Slug" },
    });
    expectError(invalid, 400, "validation_failed");
    expect(invalid.body.error.details.issues[0].path).toBe("slug");
  });

  it("GET /v1/tenants lists tenants with a cursor", async () => {
    const first = await h.request("/v1/tenants?limit=1", { key: ADMIN_KEY });
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(1);
    expect(first.body.nextCursor).toBeTypeOf("string");
    const second = await h.request(`/v1/tenants?limit=1&cursor=${first.body.nextCursor}`, { key: ADMIN_KEY });
    expect(second.status).toBe(200);
    expect(second.body.items[0].slug).not.toBe(first.body.items[0].slug);
    expectError(await h.request("/v1/tenants?cursor=garbage!", { key: ADMIN_KEY }), 400, "invalid_cursor");
    expectError(await h.request("/v1/tenants?limit=0", { key: ADMIN_KEY }), 400, "validation_failed");
    expectError(await h.request("/v1/tenants?color=red", { key: ADMIN_KEY }), 400, "validation_failed");
  });

  it("GET /v1/tenants/:id", async () => {
    const res = await h.request(`/v1/tenants/${tenantId}`, { key: ADMIN_KEY });
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(tenantId);
    expectError(await h.request(`/v1/tenants/${randomUUID()}`, { key: ADMIN_KEY }), 404, "not_found");
    expectError(await h.request("/v1/tenants/not-a-uuid", { key: ADMIN_KEY }), 400, "validation_failed");
  });

  it("POST /v1/tenants/:id/api-keys issues a key with scopes", async () => {
    const res = await h.request(`/v1/tenants/${tenantId}/api-keys`, {
      method: "POST",
      key: ADMIN_KEY,
      body: { name: "reader", scopes: ["read"] },
    });
    expect(res.status).toBe(201);
    expect(res.body.scopes).toEqual(["read"]);
    const reader = res.body.key as string;
    expect((await h.request("/v1/episodes", { key: reader })).status).toBe(200);
    expectError(
      await h.request("/v1/episodes", { method: "POST", key: reader, body: episodeInput() }),
      403,
      "forbidden",
    );
    expectError(
      await h.request(`/v1/tenants/${randomUUID()}/api-keys`, {
        method: "POST",
        key: ADMIN_KEY,
        body: { name: "k" },
      }),
      404,
      "not_found",
    );
    expectError(
      await h.request(`/v1/tenants/${tenantId}/api-keys`, {
        method: "POST",
        key: ADMIN_KEY,
        body: { name: "k", scopes: ["root"] },
      }),
      400,
      "validation_failed",
    );
    expectError(
      await h.request(`/v1/tenants/${tenantId}/api-keys`, {
        method: "POST",
        key: ADMIN_KEY,
        body: { name: "k", expiresAt: "2001-01-01T00:00:00Z" },
      }),
      400,
      "validation_failed",
    );
  });

  it("DELETE /v1/api-keys/:id revokes one of the tenant's keys at once", async () => {
    const issued = await h.request(`/v1/tenants/${tenantId}/api-keys`, {
      method: "POST",
      key: ADMIN_KEY,
      body: { name: "temp" },
    });
    const temp = issued.body.key as string;
    expect((await h.request("/v1/systems", { key: temp })).status).toBe(200);
    const res = await h.request(`/v1/api-keys/${issued.body.id}`, { method: "DELETE", key });
    expect(res.status).toBe(200);
    expect(res.body.revokedAt).toBeTypeOf("string");
    const after = await h.request("/v1/systems", { key: temp });
    expectError(after, 401, "unauthorized");
    expect(after.body.error.details.reason).toBeDefined();
    expectError(await h.request(`/v1/api-keys/${randomUUID()}`, { method: "DELETE", key }), 404, "not_found");
    expectError(await h.request("/v1/api-keys/123", { method: "DELETE", key }), 400, "validation_failed");
  });
});

describe("systems", () => {
  it("GET /v1/systems lists S1..S5", async () => {
    const res = await h.request("/v1/systems", { key });
    expect(res.status).toBe(200);
    expect(res.body.items.map((s: { system: number }) => s.system)).toEqual([1, 2, 3, 4, 5]);
  });

  it("GET /v1/systems/:system", async () => {
    const res = await h.request("/v1/systems/3", { key });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ system: 3, name: "control", version: 1 });
    const bad = await h.request("/v1/systems/6", { key });
    expectError(bad, 400, "validation_failed");
    expect(bad.body.error.details.issues[0].path).toBe("system");
    expectError(await h.request("/v1/systems/three", { key }), 400, "validation_failed");
  });

  it("PUT /v1/systems/:system with optimistic locking", async () => {
    const current = await h.request("/v1/systems/2", { key });
    const res = await h.request("/v1/systems/2", {
      method: "PUT",
      key,
      body: { state: { damping: "on" }, version: current.body.version },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      system: 2,
      state: { damping: "on" },
      version: current.body.version + 1,
    });
    const stale = await h.request("/v1/systems/2", {
      method: "PUT",
      key,
      body: { state: { damping: "off" }, version: current.body.version },
    });
    expectError(stale, 409, "version_conflict");
    expect(stale.body.error.details.currentVersion).toBe(current.body.version + 1);
    expectError(
      await h.request("/v1/systems/2", { method: "PUT", key, body: { state: [], version: 1 } }),
      400,
      "validation_failed",
    );
  });

  it("GET /v1/systems/:system/history pages newest first", async () => {
    for (let i = 0; i < 3; i++) {
      const current = await h.request("/v1/systems/4", { key });
      await h.request("/v1/systems/4", {
        method: "PUT",
        key,
        body: { state: { i }, version: current.body.version },
      });
    }
    const page = await h.request("/v1/systems/4/history?limit=2", { key });
    expect(page.status).toBe(200);
    expect(page.body.items.map((e: { version: number }) => e.version)).toEqual([4, 3]);
    const next = await h.request(`/v1/systems/4/history?limit=2&cursor=${page.body.nextCursor}`, { key });
    expect(next.body.items.map((e: { version: number }) => e.version)).toEqual([2, 1]);
    expectError(await h.request("/v1/systems/4/history?cursor=%25%25", { key }), 400, "invalid_cursor");
    expectError(await h.request("/v1/systems/4/history?limit=1000", { key }), 400, "validation_failed");
  });
});

describe("episodes", () => {
  it("POST /v1/episodes records a pending episode and enqueues its analysis", async () => {
    const res = await h.request("/v1/episodes", {
      method: "POST",
      key,
      body: episodeInput({ title: "Line stopped" }),
    });
    expect(res.status).toBe(201);
    expect(res.body.episode).toMatchObject({ title: "Line stopped", status: "pending" });
    expect(res.body.created).toBe(true);
    expect(h.queue.jobs.get(res.body.jobId)?.name).toBe("episode.analyze");
  });

  it("POST /v1/episodes with a seen (source, sourceId) returns the first episode with 200", async () => {
    const body = episodeInput({ source: "telegram", sourceId: `m-${randomUUID()}` });
    const first = await h.request("/v1/episodes", { method: "POST", key, body });
    const second = await h.request("/v1/episodes", { method: "POST", key, body });
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.body.created).toBe(false);
    expect(second.body.episode.id).toBe(first.body.episode.id);
  });

  it("POST /v1/episodes errors name the field", async () => {
    const res = await h.request("/v1/episodes", { method: "POST", key, body: { title: "" } });
    expectError(res, 400, "validation_failed");
    expect(res.body.error.details.issues[0].path).toBe("title");
    expect(res.body.error.message).toContain("title");
  });

  it("GET /v1/episodes filters by status and tag, with a cursor", async () => {
    await h.request("/v1/episodes", { method: "POST", key, body: episodeInput({ tags: ["rare-tag"] }) });
    const tagged = await h.request("/v1/episodes?tag=rare-tag", { key });
    expect(tagged.status).toBe(200);
    expect(tagged.body.items).toHaveLength(1);
    const pending = await h.request("/v1/episodes?status=pending&limit=1", { key });
    expect(pending.body.items).toHaveLength(1);
    expect(pending.body.nextCursor).toBeTypeOf("string");
    const next = await h.request(`/v1/episodes?status=pending&limit=1&cursor=${pending.body.nextCursor}`, {
      key,
    });
    expect(next.body.items[0].id).not.toBe(pending.body.items[0].id);
    const bad = await h.request("/v1/episodes?status=sleeping", { key });
    expectError(bad, 400, "validation_failed");
    expect(bad.body.error.details.issues[0].path).toBe("status");
    expectError(await h.request("/v1/episodes?cursor=bm9wZQ", { key }), 400, "invalid_cursor");
  });

  it("GET /v1/episodes/:id", async () => {
    const created = await h.request("/v1/episodes", { method: "POST", key, body: episodeInput() });
    const res = await h.request(`/v1/episodes/${created.body.episode.id}`, { key });
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(created.body.episode.id);
    expectError(await h.request(`/v1/episodes/${randomUUID()}`, { key }), 404, "not_found");
    expectError(await h.request("/v1/episodes/nope", { key }), 400, "validation_failed");
  });

  it("POST /v1/episodes/:id/analyze re-queues a finished episode", async () => {
    const created = await h.request("/v1/episodes", { method: "POST", key, body: episodeInput() });
    const id = created.body.episode.id as string;
    // Still pending: nothing to re-analyse yet.
    expectError(await h.request(`/v1/episodes/${id}/analyze`, { method: "POST", key }), 409, "conflict");
    await withTenant(h.db.db, tenantId, async (trx) => {
      await h.db.platform.episodes.startAnalysis(trx, id);
      await h.db.platform.episodes.failAnalysis(trx, tenantId, id, "analyzer down");
    });
    const res = await h.request(`/v1/episodes/${id}/analyze`, { method: "POST", key });
    expect(res.status).toBe(202);
    expect(res.body.episode.status).toBe("pending");
    expect(h.queue.jobs.has(res.body.jobId)).toBe(true);
    expectError(
      await h.request(`/v1/episodes/${randomUUID()}/analyze`, { method: "POST", key }),
      404,
      "not_found",
    );
  });
});

describe("policies", () => {
  it("POST, GET, PATCH, DELETE /v1/policies[/:id]", async () => {
    const created = await h.request("/v1/policies", {
      method: "POST",
      key,
      body: policyInput({ name: "ops alerts" }),
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expectError(
      await h.request("/v1/policies", { method: "POST", key, body: policyInput({ name: "ops alerts" }) }),
      409,
      "duplicate",
    );
    const got = await h.request(`/v1/policies/${id}`, { key });
    expect(got.body.name).toBe("ops alerts");
    const patched = await h.request(`/v1/policies/${id}`, {
      method: "PATCH",
      key,
      body: { priority: 7, version: 1 },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ priority: 7, version: 2 });
    expectError(
      await h.request(`/v1/policies/${id}`, { method: "PATCH", key, body: { priority: 8, version: 1 } }),
      409,
      "version_conflict",
    );
    expectError(
      await h.request(`/v1/policies/${id}`, { method: "PATCH", key, body: { priority: -1 } }),
      400,
      "validation_failed",
    );
    const list = await h.request("/v1/policies?active=true", { key });
    expect(list.body.items.some((p: { id: string }) => p.id === id)).toBe(true);
    expectError(await h.request("/v1/policies?active=maybe", { key }), 400, "validation_failed");
    const deleted = await h.request(`/v1/policies/${id}`, { method: "DELETE", key });
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe("");
    expectError(await h.request(`/v1/policies/${id}`, { key }), 404, "not_found");
    expectError(await h.request(`/v1/policies/${id}`, { method: "DELETE", key }), 404, "not_found");
  });

  it("POST /v1/policies rejects unknown JSON Logic operators, naming the path", async () => {
    const res = await h.request("/v1/policies", {
      method: "POST",
      key,
      body: policyInput({ rules: policyRules({ if: { eval: ["1"] } as never }) }),
    });
    expectError(res, 400, "validation_failed");
    expect(res.body.error.details.issues[0].path).toContain("rules.if");
  });

  it("POST /v1/policies/:id/evaluate dry-runs the `on` match (no policy engine here)", async () => {
    const created = await h.request("/v1/policies", { method: "POST", key, body: policyInput() });
    const id = created.body.id as string;
    const hit = await h.request(`/v1/policies/${id}/evaluate`, {
      method: "POST",
      key,
      body: { event: { type: "episode.analyzed", data: { risk: "high" } } },
    });
    expect(hit.status).toBe(200);
    expect(hit.body).toMatchObject({
      policyId: id,
      matched: true,
      inEffect: true,
      evaluator: "on-match-only",
      patterns: [{ pattern: "episode.analyzed", matches: true }],
      condition: { evaluated: false, result: null },
    });
    expect(hit.body.condition.note).toContain("not evaluated");
    const miss = await h.request(`/v1/policies/${id}/evaluate`, {
      method: "POST",
      key,
      body: { event: { type: "policy.created" } },
    });
    expect(miss.body.matched).toBe(false);
    const unknown = await h.request(`/v1/policies/${id}/evaluate`, {
      method: "POST",
      key,
      body: { event: { type: "nope" } },
    });
    expectError(unknown, 400, "validation_failed");
    expect(unknown.body.error.details.issues[0].path).toBe("event.type");
    expectError(
      await h.request(`/v1/policies/${randomUUID()}/evaluate`, {
        method: "POST",
        key,
        body: { event: { type: "episode.created" } },
      }),
      404,
      "not_found",
    );
  });
});

describe("jobs", () => {
  it("GET /v1/jobs/:id shows the tenant's own job", async () => {
    const created = await h.request("/v1/episodes", { method: "POST", key, body: episodeInput() });
    const res = await h.request(`/v1/jobs/${created.body.jobId}`, { key });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: created.body.jobId, name: "episode.analyze", state: "created" });
    expect(res.body.tenantId).toBeUndefined();
    expectError(await h.request(`/v1/jobs/${randomUUID()}`, { key }), 404, "not_found");
    expectError(await h.request("/v1/jobs/12", { key }), 400, "validation_failed");
  });
});

describe("routing", () => {
  it("unknown routes are 404 JSON; wrong methods are 405 with allow", async () => {
    expectError(await h.request("/v1/nothing-here"), 404, "not_found");
    expectError(await h.request("/"), 404, "not_found");
    const res = await h.request("/v1/episodes", { method: "DELETE", key });
    expectError(res, 405, "method_not_allowed");
    expect(res.headers.get("allow")).toBe("POST, GET, HEAD, OPTIONS");
    expectError(await h.request("/health", { method: "POST" }), 405, "method_not_allowed");
  });

  it("HEAD on a GET route answers without a body", async () => {
    const res = await h.request("/health", { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.text).toBe("");
  });
});
