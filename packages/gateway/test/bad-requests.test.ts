/**
 * A table of bad requests, each with the status and `error.code` it must get. Every error is JSON with
 * the request id; none is a 500.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { episodeInput, policyInput, policyRules } from "../../../test/factories/index.ts";
import { withTenant } from "../../core/src/index.ts";
import {
  ADMIN_KEY,
  type ApiResponse,
  createTenant,
  rawRequest,
  useGateway,
} from "./helpers/gateway-harness.ts";

const BODY_LIMIT = 64 * 1024;
const h = useGateway({ config: { bodyLimitBytes: BODY_LIMIT } });

/** Keys and ids the table refers to by name. */
const f = {
  a: "",
  b: "",
  reader: "",
  revoked: "",
  expired: "",
  deactivated: "",
  bEpisode: "",
  bPolicy: "",
  bKeyId: "",
  bJob: "",
  aTenant: "",
};

beforeAll(async () => {
  const a = await createTenant(h);
  const b = await createTenant(h);
  f.a = a.key;
  f.b = b.key;
  const issue = async (body: object) =>
    (await h.request(`/v1/tenants/${a.tenant.id}/api-keys`, { method: "POST", key: ADMIN_KEY, body })).body;
  f.reader = (await issue({ name: "reader", scopes: ["read"] })).key;
  const revoked = await issue({ name: "revoked" });
  await h.request(`/v1/api-keys/${revoked.id}`, { method: "DELETE", key: f.a });
  f.revoked = revoked.key;
  const expired = await issue({ name: "expired", expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
  await withTenant(h.db.owner, a.tenant.id, (trx) =>
    trx
      .updateTable("api_keys")
      .set({ expires_at: new Date(Date.now() - 60_000) })
      .where("id", "=", expired.id)
      .execute(),
  );
  f.expired = expired.key;
  const c = await createTenant(h);
  await h.db.platform.tenants.deactivate(c.tenant.id);
  f.deactivated = c.key;
  const episode = await h.request("/v1/episodes", { method: "POST", key: f.b, body: episodeInput() });
  f.bEpisode = episode.body.episode.id;
  f.bJob = episode.body.jobId;
  f.bPolicy = (await h.request("/v1/policies", { method: "POST", key: f.b, body: policyInput() })).body.id;
  f.bKeyId = b.keyId;
  f.aTenant = a.tenant.id;
});

type Who = Exclude<keyof typeof f, "aTenant"> | "admin" | "none" | { raw: string } | { header: string };

interface Case {
  name: string;
  method?: string;
  path: string | (() => string);
  as: Who;
  /** JSON-encoded unless a string. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Sent with node:http as these chunks (no Content-Length unless given in headers). */
  chunks?: (string | Buffer)[];
  status: number;
  code: string;
}

const json = { "content-type": "application/json" };
const deep = (levels: number): unknown => (levels === 0 ? 1 : { a: deep(levels - 1) });

const cases: Case[] = [
  // Malformed and mistyped bodies
  {
    name: "malformed JSON",
    method: "POST",
    path: "/v1/episodes",
    as: "a",
    body: "{",
    headers: json,
    status: 400,
    code: "invalid_json",
  },
  {
    name: "truncated JSON",
    method: "POST",
    path: "/v1/episodes",
    as: "a",
    body: '{"title": "x"',
    headers: json,
    status: 400,
    code: "invalid_json",
  },
  {
    name: "trailing garbage after JSON",
    method: "POST",
    path: "/v1/episodes",
    as: "a",
    body: '{"title":"x"} x',
    headers: json,
    status: 400,
    code: "invalid_json",
  },
  {
    name: "array instead of object",
    method: "POST",
    path: "/v1/episodes",
    as: "a",
    body: [],
    status: 400,
    code: "validation_failed",
  },
  {
    name: "string instead of object",
    method: "POST",
    path: "/v1/episodes",
    as: "a",
    body: '"title"',
    headers: json,
    status: 400,
    code: "validation_failed",
  },
  {
    name: "null body",
    method: "POST",
    path: "/v1/episodes",
    as: "a",
    body: "null",
    headers: json,
    status: 400,
    code: "validation_failed",
  },
  {
    name: "empty JSON body",
    method: "POST",
    path: "/v1/episodes",
    as: "a",
    body: "",
    headers: { ...json, "content-length": "0" },
    status: 400,
    code: "validation_failed",
  },
  {
    name: "title of the wrong type",
    method: "POST",
    path: "/v1/episodes",
    as: "a",
    body: { title: 42 },
    status: 400,
    code: "validation_failed",
  },
  {
    name: "tags not an array",
    method: "POST",
    path: "/v1/episodes",
    as: "a",
    body: { title: "x", tags: "ops" },
    status: 400,
    code: "validation_failed",
  },
  {
    name: "missing title",
    method: "POST",
    path: "/v1/episodes",
    as: "a",
    body: { content: "x" },
    status: 400,
    code: "validation_failed",
  },
  {
    name: "unknown field",
    method: "POST",
    path: "/v1/episodes",
    as: "a",
    body: { title: "x", colour: "red" },
    status: 400,
    code: "validation_failed",
  },
  {
    name: "title too long",
    method: "POST",
    path: "/v1/episodes",
    as: "a",
    body: { title: "x".repeat(501) },
    status: 400,
    code: "validation_failed",
  },
  {
    name: "NUL character in a string",
    method: "POST",
    path: "/v1/episodes",
    as: "a",
    body: { title: "a\u0000b" },
    status: 400,
    code: "validation_failed",
  },
  {
    name: "JSON nested 100 levels deep",
    method: "PUT",
    path: "/v1/systems/1",
    as: "a",
    body: { state: deep(100), version: 1 },
    status: 400,
    code: "validation_failed",
  },
  {
    name: "version as a string",
    method: "PUT",
    path: "/v1/systems/1",
    as: "a",
    body: { state: {}, version: "1" },
    status: 400,
    code: "validation_failed",
  },
  {
    name: "state not an object",
    method: "PUT",
    path: "/v1/systems/1",
    as: "a",
    body: { state: "on", version: 1 },
    status: 400,
    code: "validation_failed",
  },
  {
    name: "stale version",
    method: "PUT",
    path: "/v1/systems/1",
    as: "a",
    body: { state: {}, version: 99 },
    status: 409,
    code: "version_conflict",
  },
  {
    name: "unknown enum value in a policy action",
    method: "POST",
    path: "/v1/policies",
    as: "a",
    body: policyInput({ rules: policyRules({ then: [{ type: "explode" } as never] }) }),
    status: 400,
    code: "validation_failed",
  },
  {
    name: "unknown event type in a policy",
    method: "POST",
    path: "/v1/policies",
    as: "a",
    body: policyInput({ rules: policyRules({ on: ["episode.exploded"] }) }),
    status: 400,
    code: "validation_failed",
  },
  {
    name: "policy window backwards",
    method: "POST",
    path: "/v1/policies",
    as: "a",
    body: policyInput({ effectiveFrom: "2030-01-01T00:00:00Z", effectiveUntil: "2029-01-01T00:00:00Z" }),
    status: 400,
    code: "validation_failed",
  },
  {
    name: "tenant slug with capitals",
    method: "POST",
    path: "/v1/tenants",
    as: "admin",
    body: { name: "X", slug: "BadSlug" },
    status: 400,
    code: "validation_failed",
  },
  // Queries
  {
    name: "unknown status value",
    path: "/v1/episodes?status=sleeping",
    as: "a",
    status: 400,
    code: "validation_failed",
  },
  {
    name: "limit not a number",
    path: "/v1/episodes?limit=abc",
    as: "a",
    status: 400,
    code: "validation_failed",
  },
  {
    name: "limit too large",
    path: "/v1/episodes?limit=101",
    as: "a",
    status: 400,
    code: "validation_failed",
  },
  {
    name: "unknown query parameter",
    path: "/v1/episodes?sort=asc",
    as: "a",
    status: 400,
    code: "validation_failed",
  },
  {
    name: "repeated cursor",
    path: "/v1/episodes?cursor=a&cursor=b",
    as: "a",
    status: 400,
    code: "validation_failed",
  },
  {
    name: "forged cursor",
    path: `/v1/episodes?cursor=${Buffer.from('["x"]').toString("base64url")}`,
    as: "a",
    status: 400,
    code: "invalid_cursor",
  },
  {
    name: "garbage cursor",
    path: "/v1/policies?cursor=%FF%FE",
    as: "a",
    status: 400,
    code: "invalid_cursor",
  },
  // Sizes and media types
  {
    name: "Content-Length over the limit",
    method: "POST",
    path: "/v1/episodes",
    as: "a",
    body: { title: "x", content: "y".repeat(BODY_LIMIT) },
    status: 413,
    code: "payload_too_large",
  },
  {
    name: "chunked body growing over the limit",
    method: "POST",
    path: "/v1/episodes",
    as: "a",
    headers: { ...json, "transfer-encoding": "chunked" },
    chunks: ['{"title":"x","content":"', ...Array.from({ length: 20 }, () => "y".repeat(8 * 1024)), '"}'],
    status: 413,
    code: "payload_too_large",
  },
  {
    name: "text/plain body",
    method: "POST",
    path: "/v1/episodes",
    as: "a",
    body: '{"title":"x"}',
    headers: { "content-type": "text/plain" },
    status: 415,
    code: "unsupported_media_type",
  },
  {
    name: "form-encoded body",
    method: "POST",
    path: "/v1/policies",
    as: "a",
    body: "name=x",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    status: 415,
    code: "unsupported_media_type",
  },
  {
    name: "XML body",
    method: "PUT",
    path: "/v1/systems/1",
    as: "a",
    body: "<state/>",
    headers: { "content-type": "application/xml" },
    status: 415,
    code: "unsupported_media_type",
  },
  {
    name: "body without a content type",
    method: "POST",
    path: "/v1/episodes",
    as: "a",
    headers: { "content-length": "13" },
    chunks: ['{"title":"x"}'],
    status: 415,
    code: "unsupported_media_type",
  },
  // Ids
  {
    name: "episode id not a UUID",
    path: "/v1/episodes/123",
    as: "a",
    status: 400,
    code: "validation_failed",
  },
  {
    name: "policy id not a UUID",
    method: "PATCH",
    path: "/v1/policies/zzz",
    as: "a",
    body: { priority: 1 },
    status: 400,
    code: "validation_failed",
  },
  { name: "system 0", path: "/v1/systems/0", as: "a", status: 400, code: "validation_failed" },
  { name: "system 1.5", path: "/v1/systems/1.5", as: "a", status: 400, code: "validation_failed" },
  {
    name: "malformed percent-encoding",
    path: "/v1/episodes/%ZZ",
    as: "a",
    status: 400,
    code: "validation_failed",
  },
  { name: "unknown episode", path: `/v1/episodes/${randomUUID()}`, as: "a", status: 404, code: "not_found" },
  {
    name: "tenant id not a UUID listing keys",
    path: "/v1/tenants/123/api-keys",
    as: "admin",
    status: 400,
    code: "validation_failed",
  },
  {
    name: "key id not a UUID on the admin revoke",
    method: "DELETE",
    path: () => `/v1/tenants/${f.aTenant}/api-keys/not-a-key`,
    as: "admin",
    status: 400,
    code: "validation_failed",
  },
  {
    name: "tenant id not a UUID deactivating",
    method: "POST",
    path: "/v1/tenants/x/deactivate",
    as: "admin",
    status: 400,
    code: "validation_failed",
  },
  {
    name: "unknown tenant listing keys",
    path: `/v1/tenants/${randomUUID()}/api-keys`,
    as: "admin",
    status: 404,
    code: "not_found",
  },
  {
    name: "unknown tenant revoking a key",
    method: "DELETE",
    path: `/v1/tenants/${randomUUID()}/api-keys/${randomUUID()}`,
    as: "admin",
    status: 404,
    code: "not_found",
  },
  {
    name: "unknown tenant deactivated",
    method: "POST",
    path: `/v1/tenants/${randomUUID()}/deactivate`,
    as: "admin",
    status: 404,
    code: "not_found",
  },
  {
    name: "unknown tenant activated",
    method: "POST",
    path: `/v1/tenants/${randomUUID()}/activate`,
    as: "admin",
    status: 404,
    code: "not_found",
  },
  // Another tenant's ids
  {
    name: "another tenant's episode",
    path: () => `/v1/episodes/${f.bEpisode}`,
    as: "a",
    status: 404,
    code: "not_found",
  },
  {
    name: "re-analysing another tenant's episode",
    method: "POST",
    path: () => `/v1/episodes/${f.bEpisode}/analyze`,
    as: "a",
    status: 404,
    code: "not_found",
  },
  {
    name: "another tenant's policy",
    path: () => `/v1/policies/${f.bPolicy}`,
    as: "a",
    status: 404,
    code: "not_found",
  },
  {
    name: "patching another tenant's policy",
    method: "PATCH",
    path: () => `/v1/policies/${f.bPolicy}`,
    as: "a",
    body: { active: false },
    status: 404,
    code: "not_found",
  },
  {
    name: "deleting another tenant's policy",
    method: "DELETE",
    path: () => `/v1/policies/${f.bPolicy}`,
    as: "a",
    status: 404,
    code: "not_found",
  },
  {
    name: "evaluating another tenant's policy",
    method: "POST",
    path: () => `/v1/policies/${f.bPolicy}/evaluate`,
    as: "a",
    body: { event: { type: "episode.analyzed" } },
    status: 404,
    code: "not_found",
  },
  {
    name: "revoking another tenant's key",
    method: "DELETE",
    path: () => `/v1/api-keys/${f.bKeyId}`,
    as: "a",
    status: 404,
    code: "not_found",
  },
  { name: "another tenant's job", path: () => `/v1/jobs/${f.bJob}`, as: "a", status: 404, code: "not_found" },
  {
    name: "admin revoking B's key through A's URL",
    method: "DELETE",
    path: () => `/v1/tenants/${f.aTenant}/api-keys/${f.bKeyId}`,
    as: "admin",
    status: 404,
    code: "not_found",
  },
  // Keys
  { name: "no key", path: "/v1/episodes", as: "none", status: 401, code: "unauthorized" },
  {
    name: "Basic instead of Bearer",
    path: "/v1/episodes",
    as: { header: "Basic dXNlcjpwYXNz" },
    status: 401,
    code: "unauthorized",
  },
  {
    name: "malformed key",
    path: "/v1/episodes",
    as: { raw: "not-a-key" },
    status: 401,
    code: "unauthorized",
  },
  {
    name: "unknown key",
    path: "/v1/episodes",
    as: { raw: `cyb_${randomBytes(32).toString("base64url")}` },
    status: 401,
    code: "unauthorized",
  },
  { name: "revoked key", path: "/v1/episodes", as: "revoked", status: 401, code: "unauthorized" },
  { name: "expired key", path: "/v1/episodes", as: "expired", status: 401, code: "unauthorized" },
  {
    name: "deactivated tenant's key",
    path: "/v1/episodes",
    as: "deactivated",
    status: 403,
    code: "forbidden",
  },
  {
    name: "read-only key writing",
    method: "POST",
    path: "/v1/policies",
    as: "reader",
    body: policyInput(),
    status: 403,
    code: "forbidden",
  },
  { name: "admin key on a tenant route", path: "/v1/episodes", as: "admin", status: 403, code: "forbidden" },
  {
    name: "admin key writing a system",
    method: "PUT",
    path: "/v1/systems/1",
    as: "admin",
    body: { state: {}, version: 1 },
    status: 403,
    code: "forbidden",
  },
  {
    name: "tenant key creating a tenant",
    method: "POST",
    path: "/v1/tenants",
    as: "a",
    body: { name: "X", slug: "x-tenant" },
    status: 403,
    code: "forbidden",
  },
  { name: "tenant key listing tenants", path: "/v1/tenants", as: "a", status: 403, code: "forbidden" },
  {
    name: "tenant key issuing keys",
    method: "POST",
    path: () => `/v1/tenants/${randomUUID()}/api-keys`,
    as: "a",
    body: { name: "k" },
    status: 403,
    code: "forbidden",
  },
  {
    name: "tenant key listing a tenant's keys",
    path: () => `/v1/tenants/${f.aTenant}/api-keys`,
    as: "a",
    status: 403,
    code: "forbidden",
  },
  {
    name: "tenant key on the admin revoke",
    method: "DELETE",
    path: () => `/v1/tenants/${f.aTenant}/api-keys/${f.bKeyId}`,
    as: "a",
    status: 403,
    code: "forbidden",
  },
  {
    name: "tenant key deactivating its tenant",
    method: "POST",
    path: () => `/v1/tenants/${f.aTenant}/deactivate`,
    as: "a",
    status: 403,
    code: "forbidden",
  },
  {
    name: "tenant key activating a tenant",
    method: "POST",
    path: () => `/v1/tenants/${f.aTenant}/activate`,
    as: "a",
    status: 403,
    code: "forbidden",
  },
  {
    name: "admin key listing tenant keys",
    path: "/v1/api-keys",
    as: "admin",
    status: 403,
    code: "forbidden",
  },
  // Routing
  { name: "unknown route", path: "/v1/nothing", as: "a", status: 404, code: "not_found" },
  {
    name: "wrong method",
    method: "PUT",
    path: "/v1/episodes",
    as: "a",
    body: {},
    status: 405,
    code: "method_not_allowed",
  },
];

async function send(c: Case): Promise<ApiResponse> {
  const path = typeof c.path === "function" ? c.path() : c.path;
  const headers: Record<string, string> = { ...c.headers };
  if (c.as === "admin") headers.authorization = `Bearer ${ADMIN_KEY}`;
  else if (typeof c.as === "object") {
    if ("raw" in c.as) headers["x-api-key"] = c.as.raw;
    else headers.authorization = c.as.header;
  } else if (c.as !== "none") headers.authorization = `Bearer ${f[c.as]}`;
  if (c.chunks || path.includes("%ZZ")) {
    return rawRequest(h.url, { method: c.method ?? "GET", path, headers, chunks: c.chunks ?? [] });
  }
  return h.request(path, {
    method: c.method ?? "GET",
    headers,
    ...(c.body === undefined ? {} : { body: c.body }),
  });
}

describe("bad requests", () => {
  it("the table has at least 40 cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  it.each(cases)("$name → $status $code", async (c) => {
    const res = await send(c);
    expect(res.status, res.text).toBe(c.status);
    expect(res.body?.error?.code, res.text).toBe(c.code);
    expect(res.body.error.message).toBeTypeOf("string");
    expect(res.body.requestId).toBe(res.headers.get("x-request-id"));
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    if (c.status === 401) expect(res.headers.get("www-authenticate")).toContain("Bearer");
    if (c.status === 413) expect(res.headers.get("connection")).toBe("close");
  });
});
