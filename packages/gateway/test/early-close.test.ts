/**
 * A client that sends a whole request and closes its side while the gateway is still authenticating it.
 * The gateway's database connections go through a loopback TCP proxy that holds PostgreSQL's answers, so
 * the key look-up is provably still in flight when the client leaves; by the time the body is read, the
 * request stream is destroyed and will never emit again. The request must still end (answered as a 4xx,
 * logged, its in-flight slot freed), never wait forever.
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedTenant } from "../../../test/factories/index.ts";
import { useTestPlatform } from "../../../test/setup/database.ts";
import { HoldingProxy } from "../../../test/support/holding-proxy.ts";
import { until } from "../../../test/support/until.ts";
import { createDatabase, createPlatform, type Db } from "../../core/src/index.ts";
import { createGateway, type Gateway, type ServedGateway } from "../src/index.ts";
import { captureLogs } from "./helpers/log-capture.ts";

const { logger: capture, lines: logLines } = captureLogs();

const ctx = useTestPlatform();
let proxy: HoldingProxy;
let proxiedDb: Db;
let gateway: Gateway;
let server: ServedGateway;
let key = "";

beforeAll(async () => {
  key = (await seedTenant(ctx.platform)).apiKey.key;
  const proxied = await HoldingProxy.forUrl(ctx.database.appUrl);
  proxy = proxied.proxy;
  proxiedDb = createDatabase({ url: proxied.url, poolSize: 2 });
  gateway = createGateway({
    platform: createPlatform({ db: proxiedDb }),
    config: { apiKeyCacheTtlMs: 0 },
    logger: capture,
  });
  server = await gateway.serve({ port: 0, host: "127.0.0.1" });
  // Open the pool's connections now: one opened while answers are held could not finish starting.
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${server.url}/v1/systems/1`, { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);
  }
});

afterAll(async () => {
  proxy?.release();
  await server?.close({ timeoutMs: 1000 });
  await proxiedDb?.destroy();
  await proxy?.close();
});

describe("a request whose client closes while it is being authenticated", () => {
  it("ends as a 4xx, is logged, and frees its in-flight slot", async () => {
    const url = new URL(server.url);
    const body = '{"title":"x"}';
    const requestId = "early-close";
    const lookUps = () => proxy.sent.split("resolve_api_key(").length - 1;
    const before = lookUps();
    proxy.hold();
    try {
      const socket = connect(Number(url.port), url.hostname);
      socket.on("error", () => {});
      const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
      socket.write(
        `POST /v1/episodes HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer ${key}\r\n` +
          `content-type: application/json\r\nx-request-id: ${requestId}\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
      );
      // The key look-up is on its way to PostgreSQL and its answer is held: authentication is pending.
      await until(() => lookUps() > before, "the key look-up to reach PostgreSQL");
      socket.destroy();
      await closed;
      expect(gateway.metrics.inFlight).toBe(1);
    } finally {
      proxy.release();
    }
    await expect.poll(() => gateway.metrics.inFlight).toBe(0);
    await expect
      .poll(() => logLines.find((l) => l.requestId === requestId)?.status)
      .toBeGreaterThanOrEqual(400);
    const logged = logLines.find((l) => l.requestId === requestId)?.status as number;
    expect(logged).toBeLessThan(500);
    const titles = await ctx.platform.episodes.list(
      (await ctx.platform.tenants.list()).items[0]?.id as string,
    );
    expect(titles.items.map((e) => e.title)).not.toContain("x");
  });
});
