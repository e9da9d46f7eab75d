/**
 * The request pipeline's stages on a real server: request ids, security headers, CORS, rate limits,
 * the API-key cache, 500s that keep their stack to the log, in-memory `app.fetch`, and graceful close.
 */
import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { seedTenant } from "../../../test/factories/index.ts";
import { createDatabase, createPlatform } from "../../core/src/index.ts";
import { createGateway, freePort } from "../src/index.ts";
import { ADMIN_KEY, type ApiResponse, createTenant, request, useGateway } from "./helpers/gateway-harness.ts";
import { captureLogs } from "./helpers/log-capture.ts";

const { logger: capture, lines: logLines } = captureLogs();

const h = useGateway({
  config: {
    corsOrigins: ["https://app.example.com"],
    rateLimit: { perSecond: 1, burst: 3 },
    apiKeyCacheTtlMs: 60_000,
  },
  gateway: () => ({ logger: capture }),
});
let key = "";

beforeAll(async () => {
  key = (await createTenant(h)).key;
});

describe("request id", () => {
  it("accepts a well-formed x-request-id and echoes it", async () => {
    const res = await h.request("/health", { headers: { "x-request-id": "trace-123.abc_DEF" } });
    expect(res.headers.get("x-request-id")).toBe("trace-123.abc_DEF");
  });

  it("replaces a malformed or oversized one", async () => {
    for (const bad of ["has space", "x".repeat(129), "semi;colon"]) {
      const res = await h.request("/health", { headers: { "x-request-id": bad } });
      expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    }
  });
});

describe("access log", () => {
  it("writes one JSON line per request with request id, tenant, route template, status and duration", async () => {
    const res = await h.request("/v1/systems/2", { key, headers: { "x-request-id": "log-check-1" } });
    expect(res.status).toBe(200);
    const line = logLines.find((l) => l.requestId === "log-check-1");
    expect(line).toMatchObject({ msg: "request", method: "GET", route: "/v1/systems/:system", status: 200 });
    expect(line?.tenantId).toMatch(/^[0-9a-f-]{36}$/);
    expect(line?.durationMs).toBeTypeOf("number");
  });
});

describe("security headers and CORS", () => {
  it("sends the security headers on successes and errors", async () => {
    for (const res of [await h.request("/health"), await h.request("/v1/episodes")]) {
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
      expect(res.headers.get("cache-control")).toBe("no-store");
    }
  });

  it("allows configured origins only, on responses and preflights", async () => {
    const allowed = await h.request("/v1/episodes", { headers: { origin: "https://app.example.com" } });
    expect(allowed.status).toBe(401);
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(allowed.headers.get("access-control-expose-headers")).toContain("x-request-id");
    const other = await h.request("/health", { headers: { origin: "https://evil.example" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    const preflight = await h.request("/v1/episodes", {
      method: "OPTIONS",
      headers: { origin: "https://app.example.com", "access-control-request-method": "POST" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-methods")).toContain("POST");
    expect(preflight.headers.get("access-control-allow-headers")).toContain("authorization");
    const refused = await h.request("/v1/episodes", {
      method: "OPTIONS",
      headers: { origin: "https://evil.example" },
    });
    expect(refused.status).toBe(204);
    expect(refused.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("rate limit", () => {
  it("limits each key with its own token bucket and answers 429 with retry-after", async () => {
    const own = (await createTenant(h)).key;
    const other = (await createTenant(h)).key;
    const statuses: number[] = [];
    let limited: ApiResponse | undefined;
    for (let i = 0; i < 6; i++) {
      const res = await h.request("/v1/systems", { key: own });
      statuses.push(res.status);
      if (res.status === 429) limited = res;
    }
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(limited?.body.error.code).toBe("rate_limited");
    expect(Number(limited?.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    // Another key has its own bucket.
    expect((await h.request("/v1/systems", { key: other })).status).toBe(200);
  });
});

describe("API key cache", () => {
  // Tenants are seeded through the service here: this file's admin bucket is deliberately tiny.
  it("a key revoked through this gateway stops working at once despite the cache", async () => {
    const { apiKey } = await seedTenant(h.db.platform);
    expect((await h.request("/v1/systems", { key: apiKey.key })).status).toBe(200);
    expect((await h.request(`/v1/api-keys/${apiKey.id}`, { method: "DELETE", key: apiKey.key })).status).toBe(
      200,
    );
    expect((await h.request("/v1/systems", { key: apiKey.key })).status).toBe(401);
  });

  it("a key revoked elsewhere keeps working until the cache entry expires (the documented TTL)", async () => {
    const { tenant, apiKey } = await seedTenant(h.db.platform);
    expect((await h.request("/v1/systems", { key: apiKey.key })).status).toBe(200);
    await h.db.platform.apiKeys.revoke(tenant.id, apiKey.id); // as another gateway instance would
    expect((await h.request("/v1/systems", { key: apiKey.key })).status).toBe(200);
  });
});

/** A gateway over `url`, its log lines, and its close. */
async function gatewayOver(url: string) {
  const lines: Record<string, unknown>[] = [];
  const db = createDatabase({ url, poolSize: 1, connectionTimeoutMs: 1000 });
  const logger = pino(
    { level: "info" },
    new Writable({
      write(chunk, _e, cb) {
        for (const line of String(chunk).split("\n")) if (line) lines.push(JSON.parse(line));
        cb();
      },
    }),
  );
  const gateway = createGateway({
    platform: createPlatform({ db }),
    config: { adminKey: ADMIN_KEY },
    logger,
  });
  const server = await gateway.serve({ port: 0 });
  return {
    url: server.url,
    lines,
    close: async () => {
      await server.close();
      await db.destroy();
    },
  };
}

describe("unexpected errors", () => {
  let gw: Awaited<ReturnType<typeof gatewayOver>>;
  beforeAll(async () => {
    // A database that answers but has no platform schema: the query fails with an error that is neither
    // the caller's fault nor a lost connection (42P01/3F000), i.e. a server fault.
    const admin = new URL(inject("database").adminUrl);
    admin.pathname = "/postgres";
    gw = await gatewayOver(admin.toString());
  });
  afterAll(() => gw.close());

  it("answer 500 with the request id, log the stack, and never send it", async () => {
    const res = await request(gw.url, "/v1/tenants", {
      key: ADMIN_KEY,
      headers: { "x-request-id": "boom-1" },
    });
    expect(res.status).toBe(500);
    expect(res.body).toEqual({
      error: { code: "internal", message: "internal error; quote request id boom-1 when reporting it" },
      requestId: "boom-1",
    });
    expect(res.text).not.toContain("at ");
    expect(res.text).not.toContain("cybernetic.");
    const logged = gw.lines.find((l) => l.requestId === "boom-1" && l.msg === "unhandled error");
    expect((logged?.err as { stack?: string })?.stack).toMatch(/\n\s+at /);
  });
});

describe("a database that does not answer", () => {
  let gw: Awaited<ReturnType<typeof gatewayOver>>;
  beforeAll(async () => {
    // Every query fails with a driver error (ECONNREFUSED): the database is unavailable, not broken.
    gw = await gatewayOver(`postgres://nobody:secret@127.0.0.1:${await freePort()}/none`);
  });
  afterAll(() => gw.close());

  it("answers 503 unavailable with retry-after, never 500, and logs one warning line", async () => {
    const res = await request(gw.url, "/v1/tenants", {
      key: ADMIN_KEY,
      headers: { "x-request-id": "down-1" },
    });
    expect(res.text).not.toContain("secret");
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe("unavailable");
    expect(res.body.error.message).toContain("ECONNREFUSED");
    expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
    const logged = gw.lines.filter((l) => l.requestId === "down-1" && Number(l.level) >= 40);
    expect(logged).toHaveLength(1);
    expect(logged[0]?.level).toBe(40);
    expect(logged[0]?.err).toBeUndefined();
  });

  it("/ready names the database as failing", async () => {
    const res = await request(gw.url, "/ready");
    expect(res.status).toBe(503);
    expect(res.body.error.details.failing).toEqual(["database"]);
  });
});

describe("in memory and shutdown", () => {
  it("serves through app.fetch without a server", async () => {
    const res = await h.gateway.app.fetch(new Request("http://local/health"));
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toBeTruthy();
    const body = await h.gateway.app.fetch(
      new Request("http://local/v1/episodes", {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "text/plain" },
        body: "hello",
      }),
    );
    expect(body.status).toBe(415);
  });

  it("close() lets an in-flight request finish, then refuses new connections", async () => {
    const own = createGateway({
      platform: h.db.platform,
      config: { adminKey: ADMIN_KEY },
      logger: pino({ level: "silent" }),
    });
    const server = await own.serve({ port: 0 });
    const t = { key: (await seedTenant(h.db.platform)).apiKey.key };
    // A slow request: a chunked body whose last chunk arrives after close() has begun.
    const { request: httpRequest } = await import("node:http");
    const u = new URL(server.url);
    const inFlight = new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        {
          host: u.hostname,
          port: u.port,
          method: "POST",
          path: "/v1/episodes",
          headers: {
            authorization: `Bearer ${t.key}`,
            "content-type": "application/json",
            "transfer-encoding": "chunked",
          },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      req.write('{"title":');
      setTimeout(() => req.end('"late"}'), 200);
    });
    await new Promise((r) => setTimeout(r, 50));
    const closing = server.close({ timeoutMs: 5000 });
    expect(await inFlight).toBe(201);
    await closing;
    await expect(fetch(`${server.url}/health`)).rejects.toThrow();
  });
});
