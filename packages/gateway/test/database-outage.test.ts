/**
 * The gateway's database goes away and comes back (a loopback TCP proxy in front of the real PostgreSQL
 * resets every connection and refuses new ones, as a failover does). API calls answer `503 unavailable`
 * with `retry-after`, never a 500; `/health` stays up; `/ready` says 503; nothing crashes; and once the
 * database is back the same gateway serves again without a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedTenant } from "../../../test/factories/index.ts";
import { useTestPlatform } from "../../../test/setup/database.ts";
import { HoldingProxy } from "../../../test/support/holding-proxy.ts";
import { createDatabase, createPlatform, type Db } from "../../core/src/index.ts";
import { createGateway, type ServedGateway } from "../src/index.ts";
import { ADMIN_KEY, request } from "./helpers/gateway-harness.ts";
import { captureLogs } from "./helpers/log-capture.ts";

const { logger, lines } = captureLogs();
const ctx = useTestPlatform();
let proxy: HoldingProxy;
let db: Db;
let server: ServedGateway;
let key = "";
const uncaught: unknown[] = [];
const onUncaught = (error: unknown) => uncaught.push(error);

beforeAll(async () => {
  process.on("uncaughtException", onUncaught);
  key = (await seedTenant(ctx.platform)).apiKey.key;
  const proxied = await HoldingProxy.forUrl(ctx.database.appUrl);
  proxy = proxied.proxy;
  db = createDatabase({
    url: proxied.url,
    pooler: ctx.database.pooled ? "transaction" : "auto",
    poolSize: 4,
    connectionTimeoutMs: 2_000,
  });
  const gateway = createGateway({
    platform: createPlatform({ db }),
    config: { adminKey: ADMIN_KEY, apiKeyCacheTtlMs: 0 },
    logger,
  });
  server = await gateway.serve({ port: 0, host: "127.0.0.1" });
});

afterAll(async () => {
  process.off("uncaughtException", onUncaught);
  proxy?.restore();
  await server?.close({ timeoutMs: 1000 });
  await db?.destroy();
  await proxy?.close();
});

const get = (path: string, auth = key) => request(server.url, path, { key: auth });
const post = (path: string, body: unknown) => request(server.url, path, { method: "POST", key, body });

describe("the database goes away under a running gateway", () => {
  it("answers 503 with retry-after (never 500) while it is gone, and serves again when it is back", async () => {
    // Warm the pool: several connections open through the proxy.
    const warm = await Promise.all(Array.from({ length: 4 }, () => get("/v1/episodes")));
    expect(warm.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(proxy.openCount).toBeGreaterThan(0);

    proxy.cut();
    const during = await Promise.all([
      get("/v1/episodes"),
      get("/v1/systems/1"),
      post("/v1/episodes", { title: "during the outage", content: "the database is away" }),
      get("/v1/tenants", ADMIN_KEY),
    ]);
    for (const res of during) {
      expect(res.status, res.text).toBe(503);
      expect(res.body.error.code).toBe("unavailable");
      expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(res.headers.get("x-request-id")).toBeTruthy();
    }
    expect((await request(server.url, "/health")).status).toBe(200);
    const ready = await request(server.url, "/ready");
    expect(ready.status).toBe(503);
    expect(ready.body.error.details.checks.database.status).toBe("failed");

    proxy.restore();
    const created = await post("/v1/episodes", { title: "after the outage", content: "back again" });
    expect(created.status, created.text).toBe(201);
    expect((await get(`/v1/episodes/${created.body.episode?.id ?? created.body.id}`)).status).toBe(200);
    expect((await request(server.url, "/ready")).status).toBe(200);

    expect(uncaught).toEqual([]);
    expect(lines.filter((l) => Number(l.level) >= 50)).toEqual([]); // no error-level line: a 503 is a warning
  });

  it("a read whose connection is reset mid-flight is retried on a fresh connection and succeeds", async () => {
    await Promise.all(Array.from({ length: 4 }, () => get("/v1/episodes")));
    // Reset the open connections but keep accepting: the retry gets a fresh one.
    proxy.cut();
    proxy.restore();
    const res = await get("/v1/episodes");
    expect(res.status, res.text).toBe(200);
    expect(uncaught).toEqual([]);
  });
});
