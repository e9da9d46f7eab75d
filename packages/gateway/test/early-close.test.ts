/**
 * Clients that send a request and leave while the gateway is still authenticating it. The gateway's
 * database connections go through a loopback TCP proxy that holds PostgreSQL's answers, so the key
 * look-up is provably in flight when the client closes; by the time the handler runs, the request stream
 * is destroyed and will never emit again. Every such request must still end (answered, logged, its
 * in-flight slot freed, no file left open or behind), never wait forever.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createStorage } from "@cybernetic/storage";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedTenant } from "../../../test/factories/index.ts";
import { useTestPlatform } from "../../../test/setup/database.ts";
import { HoldingProxy } from "../../../test/support/holding-proxy.ts";
import { until } from "../../../test/support/until.ts";
import { createDatabase, createPlatform, type Db } from "../../core/src/index.ts";
import { createGateway, type Gateway, type ServedGateway } from "../src/index.ts";
import { fdsUnder, filesUnder } from "./helpers/files.ts";
import { captureLogs } from "./helpers/log-capture.ts";

const { logger, lines: logLines } = captureLogs();
const ctx = useTestPlatform();
let proxy: HoldingProxy;
let proxiedDb: Db;
let gateway: Gateway;
let server: ServedGateway;
let key = "";
let tenantId = "";
let storageRoot = "";

beforeAll(async () => {
  const seeded = await seedTenant(ctx.platform);
  key = seeded.apiKey.key;
  tenantId = seeded.tenant.id;
  const proxied = await HoldingProxy.forUrl(ctx.database.appUrl);
  proxy = proxied.proxy;
  proxiedDb = createDatabase({
    url: proxied.url,
    pooler: ctx.database.pooled ? "transaction" : "auto",
    poolSize: 2,
  });
  storageRoot = await mkdtemp(join(tmpdir(), "cyb-gw-early-close-"));
  const storage = await createStorage({ driver: "local", root: storageRoot });
  gateway = createGateway({
    platform: createPlatform({ db: proxiedDb, storage }),
    storage,
    config: { apiKeyCacheTtlMs: 0 },
    logger,
  });
  server = await gateway.serve({ port: 0, host: "127.0.0.1" });
  // Open the pool's connections now: one opened while answers are held could not finish starting.
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${server.url}/v1/systems/1`, { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);
  }
  const put = await fetch(`${server.url}/v1/artifacts/g.bin`, {
    method: "PUT",
    headers: { authorization: `Bearer ${key}` },
    body: randomBytes(256 * 1024),
  });
  expect(put.status).toBe(201);
});

afterAll(async () => {
  proxy?.release();
  await server?.close({ timeoutMs: 1000 });
  await proxiedDb?.destroy();
  await proxy?.close();
  if (storageRoot) await rm(storageRoot, { recursive: true, force: true });
});

/** Sends `request`, waits until its key look-up reached PostgreSQL (answer held), then closes. */
async function leaveDuringAuth(request: string): Promise<void> {
  const url = new URL(server.url);
  const lookUps = () => proxy.sent.split("resolve_api_key(").length - 1;
  const before = lookUps();
  proxy.hold();
  try {
    const socket = connect(Number(url.port), url.hostname);
    socket.on("error", () => {});
    const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    socket.write(request);
    await until(() => lookUps() > before, "the key look-up to reach PostgreSQL");
    socket.destroy();
    await closed;
    expect(gateway.metrics.inFlight).toBe(1);
  } finally {
    proxy.release();
  }
}

/** The status the access log recorded for `requestId`, once it is there. */
async function loggedStatus(requestId: string): Promise<number> {
  await expect.poll(() => logLines.find((l) => l.requestId === requestId)?.status).toBeTypeOf("number");
  return logLines.find((l) => l.requestId === requestId)?.status as number;
}

describe("a request whose client leaves while it is being authenticated", () => {
  it("a JSON POST ends as a 4xx and frees its in-flight slot; nothing is written", async () => {
    const body = '{"title":"left early"}';
    await leaveDuringAuth(
      `POST /v1/episodes HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer ${key}\r\n` +
        `content-type: application/json\r\nx-request-id: early-post\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
    );
    await expect.poll(() => gateway.metrics.inFlight).toBe(0);
    const status = await loggedStatus("early-post");
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(500);
    const episodes = await ctx.platform.episodes.list(tenantId);
    expect(episodes.items.map((e) => e.title)).not.toContain("left early");
  });

  it("an artifact GET ends, frees its in-flight slot and closes the file", async () => {
    await leaveDuringAuth(
      `GET /v1/artifacts/g.bin HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${key}\r\nx-request-id: early-get\r\n\r\n`,
    );
    await expect.poll(() => gateway.metrics.inFlight).toBe(0);
    expect(await loggedStatus("early-get")).toBeLessThan(500);
    await expect.poll(() => fdsUnder(storageRoot)).toBe(0);
  });

  it("an artifact PUT ends as a 4xx, frees its slot, and leaves no temp file, open file or object", async () => {
    const body = "hello";
    await leaveDuringAuth(
      `PUT /v1/artifacts/early.txt HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${key}\r\n` +
        `x-request-id: early-put\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
    );
    await expect.poll(() => gateway.metrics.inFlight).toBe(0);
    const status = await loggedStatus("early-put");
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(500);
    await expect.poll(() => fdsUnder(storageRoot)).toBe(0);
    await expect.poll(async () => (await filesUnder(join(storageRoot, "tmp"))).length).toBe(0);
    const get = await fetch(`${server.url}/v1/artifacts/early.txt`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(get.status).toBe(404);
  });
});
