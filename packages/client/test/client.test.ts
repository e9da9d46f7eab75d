/**
 * @cybernetic/client against a real gateway on loopback (real database, real event bus): every method,
 * the error shape, retries, uploads and downloads, and the event stream's reconnect and resume, also
 * across a gateway restart.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { episodeInput } from "../../../test/factories/index.ts";
import { until } from "../../../test/support/until.ts";
import { createEventBus, type EventBus, silentLogger } from "../../core/src/index.ts";
import { createGateway, type ServedGateway } from "../../gateway/src/index.ts";
import { ADMIN_KEY, useGateway } from "../../gateway/test/helpers/gateway-harness.ts";
import { createMemoryStorage } from "../../storage/src/index.ts";
import { CyberneticApiError, type CyberneticClient, createClient, type StreamItem } from "../src/index.ts";

describe("@cybernetic/client", () => {
  const buses: EventBus[] = [];
  const newBus = () => {
    const bus = createEventBus({ db: h.db.db, listenUrl: h.db.database.directUrl, pollIntervalMs: 60_000 });
    buses.push(bus);
    return bus;
  };
  const h = useGateway({
    storage: () => createMemoryStorage(),
    config: { events: { heartbeatMs: 200, retryMs: 20 } },
    gateway: () => ({ bus: newBus() }),
  });
  let admin: CyberneticClient;
  let client: CyberneticClient;
  let tenantId: string;

  beforeAll(async () => {
    await buses[0]?.start();
    admin = createClient({ baseUrl: h.url, apiKey: ADMIN_KEY });
    const created = await admin.tenants.create({
      name: "Client tests",
      slug: `c-${randomBytes(4).toString("hex")}`,
    });
    tenantId = created.tenant.id;
    client = createClient({ baseUrl: h.url, apiKey: created.apiKey?.key as string });
  });
  afterAll(async () => {
    for (const bus of buses) await bus.stop();
  });

  it("the admin API: tenants and their keys", async () => {
    const tenant = await admin.tenants.get(tenantId);
    expect(tenant.id).toBe(tenantId);
    const page = await admin.tenants.list({ limit: 100 });
    expect(page.items.some((t) => t.id === tenantId)).toBe(true);
    const key = await admin.tenants.createApiKey(tenantId, { name: "second", scopes: ["read"] });
    expect(key.key).toMatch(/^cyb_/);
    expect((await admin.tenants.listApiKeys(tenantId)).items.map((k) => k.id)).toContain(key.id);
    expect((await admin.tenants.revokeApiKey(tenantId, key.id)).revokedAt).not.toBeNull();
    const other = await admin.tenants.create({ name: "Other", slug: `o-${randomBytes(4).toString("hex")}` });
    expect((await admin.tenants.deactivate(other.tenant.id)).active).toBe(false);
    expect((await admin.tenants.activate(other.tenant.id)).active).toBe(true);
    const renamed = await admin.tenants.update(other.tenant.id, {
      name: "Other, renamed",
      settings: { telegram: { webhookSecret: "client-test-webhook-secret-0123" } },
    });
    expect(renamed).toMatchObject({
      name: "Other, renamed",
      settings: { telegram: { webhookSecret: "[redacted]" } },
    });
  });

  it("systems, episodes, policies, jobs and API keys", async () => {
    const systems = await client.systems.list();
    expect(systems.items).toHaveLength(5);
    expect(systems.cursor).toMatch(/^\d+$/);
    const s3 = await client.systems.get(3);
    const updated = await client.systems.update(3, { state: { budget: 10 }, version: s3.version });
    expect(updated.version).toBe(s3.version + 1);
    expect((await client.systems.history(3, { limit: 5 })).items.length).toBeGreaterThan(0);

    const written = await client.episodes.create(episodeInput(), { idempotencyKey: randomUUID() });
    expect(written.created).toBe(true);
    expect((await client.episodes.get(written.episode.id)).id).toBe(written.episode.id);
    const episodes = await client.episodes.list({ limit: 10 });
    expect(episodes.items.map((e) => e.id)).toContain(written.episode.id);
    expect(episodes.cursor).toMatch(/^\d+$/);
    if (written.jobId) expect((await client.jobs.get(written.jobId)).id).toBe(written.jobId);

    const policy = await client.policies.create({
      name: `p-${randomBytes(3).toString("hex")}`,
      rules: { on: ["episode.analyzed"], then: [{ type: "publish", event: "custom.flagged" }] },
    } as never);
    expect((await client.policies.get(policy.id)).name).toBe(policy.name);
    expect((await client.policies.list()).items.map((p) => p.id)).toContain(policy.id);
    expect((await client.policies.update(policy.id, { description: "changed" } as never)).description).toBe(
      "changed",
    );
    const outcome = await client.policies.evaluate(policy.id, {
      event: { type: "episode.analyzed", data: {} },
    });
    expect(outcome).toBeTruthy();
    await client.policies.delete(policy.id);
    await expect(client.policies.get(policy.id)).rejects.toMatchObject({ status: 404, code: "not_found" });

    const keys = await client.apiKeys.list();
    expect(keys.items.length).toBeGreaterThan(0);
  });

  it("errors are CyberneticApiError with status, code, message, details and request id", async () => {
    const error = await client.episodes.create({ title: "" } as never).catch((e: unknown) => e);
    expect(CyberneticApiError.isInstance(error)).toBe(true);
    const e = error as CyberneticApiError;
    expect(e.status).toBe(400);
    expect(e.code).toBe("validation_failed");
    expect(e.message).toMatch(/title/);
    expect(e.details).toBeTruthy();
    expect(e.requestId).toMatch(/\S/);
    const anonymous = createClient({ baseUrl: h.url });
    await expect(anonymous.systems.list()).rejects.toMatchObject({ status: 401, code: "unauthorized" });
  });

  it("retries idempotent requests on 503 and network errors, never a plain POST", async () => {
    // A front that answers 503 twice, then passes requests to the gateway.
    let failuresLeft = 2;
    let posts = 0;
    const front: Server = createServer(async (req, res) => {
      if (req.method === "POST") posts++;
      if (failuresLeft > 0 || req.method === "POST") {
        failuresLeft--;
        res.writeHead(503, { "content-type": "application/json", "retry-after": "0" });
        res.end(JSON.stringify({ error: { code: "unavailable", message: "busy" }, requestId: "r" }));
        return;
      }
      const upstream = await fetch(`${h.url}${req.url}`, {
        headers: { authorization: String(req.headers.authorization) },
      });
      res.writeHead(upstream.status, { "content-type": "application/json" });
      res.end(await upstream.text());
    });
    await new Promise<void>((r) => front.listen(0, "127.0.0.1", r));
    const port = (front.address() as { port: number }).port;
    try {
      const key = (await admin.tenants.createApiKey(tenantId, { name: "retry", scopes: ["read", "write"] }))
        .key;
      const viaFront = createClient({
        baseUrl: `http://127.0.0.1:${port}`,
        apiKey: key,
        retry: { baseDelayMs: 1 },
      });
      expect((await viaFront.systems.list()).items).toHaveLength(5);
      await expect(viaFront.episodes.create(episodeInput())).rejects.toMatchObject({ status: 503 });
      expect(posts).toBe(1);
      // Nothing listens here: a network error, retried, then reported with status 0.
      const nowhere = createClient({
        baseUrl: "http://127.0.0.1:9",
        apiKey: key,
        retry: { retries: 1, baseDelayMs: 1 },
      });
      await expect(nowhere.systems.list()).rejects.toMatchObject({ status: 0, code: "network_error" });
    } finally {
      await new Promise((r) => front.close(r));
    }
  });

  it("artifacts: upload from Uint8Array, Blob, ReadableStream and Node Readable with progress; download as a stream", async () => {
    const bytes = randomBytes(200_000);
    const progress: number[] = [];
    const stored = await client.artifacts.put("reports/a.bin", new Uint8Array(bytes), {
      contentType: "application/octet-stream",
      metadata: { owner: "ops" },
      onProgress: (sent) => progress.push(sent),
    });
    expect(stored.size).toBe(bytes.length);
    expect(progress.at(-1)).toBe(bytes.length);
    await client.artifacts.put("reports/b.txt", new Blob(["hello"]), { contentType: "text/plain" });
    await client.artifacts.put("reports/c.bin", new Blob([bytes]).stream());
    await client.artifacts.put(
      "reports/d.bin",
      Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]),
    );
    const download = await client.artifacts.get("reports/d.bin");
    expect(download.size).toBe(bytes.length);
    const chunks: Uint8Array[] = [];
    for await (const chunk of download.body as unknown as AsyncIterable<Uint8Array>) chunks.push(chunk);
    expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
    expect((await client.artifacts.head("reports/b.txt")).size).toBe(5);
    const list = await client.artifacts.list({ prefix: "reports/" });
    expect(list.items.map((a) => a.path).sort()).toEqual([
      "reports/a.bin",
      "reports/b.txt",
      "reports/c.bin",
      "reports/d.bin",
    ]);
    expect(list.cursor).toMatch(/^\d+$/);
    await client.artifacts.delete("reports/b.txt");
    await expect(client.artifacts.head("reports/b.txt")).rejects.toMatchObject({ status: 404 });
  });

  describe("events.subscribe", () => {
    const take = async (
      iterator: AsyncGenerator<StreamItem>,
      until: (items: StreamItem[]) => boolean,
      items: StreamItem[] = [],
    ) => {
      for await (const item of iterator) {
        items.push(item);
        if (until(items)) break;
      }
      return items;
    };
    const episodeIds = (items: StreamItem[]) =>
      items.flatMap((i) => (i.type === "episode.created" ? [i.data.episodeId] : []));

    it("snapshot then subscribe: continues after a page's cursor with typed events, and stops on abort", async () => {
      // The earlier tests' episodes are published first: while a transaction elsewhere on the cluster holds
      // publication back, a page's cursor is the earlier one and their events may come again (documented).
      const existing = (await client.episodes.list({ limit: 100 })).items.map((e) => e.id);
      await until(async () => {
        const published = await client.events.list({ type: "episode.created", limit: 100 });
        const ids = new Set(published.items.map((e) => (e.data as { episodeId?: string }).episodeId));
        return existing.every((id) => ids.has(id));
      }, "the earlier episodes' events published");
      const page = await client.episodes.list();
      const controller = new AbortController();
      const created = [(await client.episodes.create(episodeInput())).episode.id];
      const stream = client.events.subscribe({
        topics: ["episode.*"],
        after: page.cursor,
        signal: controller.signal,
      });
      const items = await take(stream, (got) => episodeIds(got).length === 1);
      expect(items[0]?.type).toBe("connected");
      expect(episodeIds(items)).toEqual(created);
      controller.abort();
      const rest: StreamItem[] = [];
      for await (const item of stream) rest.push(item);
      expect(rest).toEqual([]);
    });

    it("receives every event exactly once, in order, while the server drops the connection and the gateway restarts", async () => {
      // A gateway of its own (streams end every 150 ms), restarted halfway on the same port.
      const start = async (port = 0) => {
        const bus = newBus();
        await bus.start();
        const gateway = createGateway({
          platform: h.db.platform,
          config: {
            adminKey: ADMIN_KEY,
            apiKeyCacheTtlMs: 0,
            events: { heartbeatMs: 100, retryMs: 10, maxDurationMs: 150 },
          },
          logger: silentLogger,
          bus,
        });
        return { server: await gateway.serve({ port }), bus };
      };
      let running: { server: ServedGateway; bus: EventBus } = await start();
      const port = running.server.port;
      let tokens = 0;
      const key = (
        await admin.tenants.createApiKey(tenantId, { name: "stream", scopes: ["read", "write", "events"] })
      ).key;
      const streaming = createClient({
        baseUrl: `http://127.0.0.1:${port}`,
        getToken: () => {
          tokens++;
          return key;
        },
      });
      const controller = new AbortController();
      const received: string[] = [];
      let connects = 0;
      const control: string[] = []; // connected and reconnecting items, in order
      let ended: unknown; // set when the subscription ends by itself: it must not
      const reading = (async () => {
        for await (const item of streaming.events.subscribe({
          topics: ["episode.created"],
          signal: controller.signal,
        })) {
          if (item.type === "connected") connects++;
          if (item.type === "connected") control.push("connected");
          if (item.type === "reconnecting") control.push(`reconnecting:${item.reason}`);
          if (item.type === "episode.created") received.push(item.data.episodeId);
        }
      })().catch((error: unknown) => {
        ended = error;
      });
      const written: string[] = [];
      try {
        await until(() => connects >= 1, "connected");
        while (connects < 3) written.push((await client.episodes.create(episodeInput())).episode.id);
        await running.server.close({ timeoutMs: 1000 });
        await running.bus.stop();
        for (let i = 0; i < 5; i++) written.push((await client.episodes.create(episodeInput())).episode.id);
        running = await start(port);
        const before = connects;
        await until(() => connects > before, "reconnected after the restart");
        for (let i = 0; i < 3; i++) written.push((await client.episodes.create(episodeInput())).episode.id);
        await until(() => received.length >= written.length || ended !== undefined, "every event");
        expect(ended, "the subscription gave up").toBeUndefined();
        expect(received).toEqual(written);
        // Every reconnect was announced by a `reconnecting` item first (what a page shows meanwhile):
        // the server ending its streams says so; while it was down, `network` (refused) or `unavailable`
        // (503 while it drained).
        expect(control[0]).toBe("connected");
        for (let i = 1; i < control.length; i++) {
          if (control[i] === "connected") expect(control[i - 1]).toMatch(/^reconnecting:/);
        }
        expect(control).toContain("reconnecting:server_closed");
        expect(
          control.every((c) => /^(connected|reconnecting:(server_closed|network|unavailable))$/.test(c)),
        ).toBe(true);
        // Credentials were asked for on every (re)connect.
        expect(tokens).toBeGreaterThanOrEqual(connects);
      } finally {
        controller.abort();
        await reading;
        await running.server.close({ timeoutMs: 1000 });
      }
    });

    it("stops with an error on 401 instead of retrying forever, and offers a stream token", async () => {
      const bad = createClient({ baseUrl: h.url, apiKey: `cyb_${randomBytes(32).toString("base64url")}` });
      const error = await (async () => {
        for await (const _ of bad.events.subscribe()) void _;
      })().catch((e: unknown) => e);
      expect(error).toMatchObject({ status: 401, code: "unauthorized" });
      const { token } = await client.events.token();
      expect(token).toMatch(/^cst1\./);
    });

    it("a stream cut off before its first event resumes from the connected cursor", async () => {
      // A loopback SSE server: the first stream says connected (cursor 41, no event) and ends; the
      // second is where the client must ask to continue after 41, not start live again.
      const seen: (string | undefined)[] = [];
      const sse = createServer((req, res) => {
        seen.push(req.headers["last-event-id"] as string | undefined);
        res.writeHead(200, { "content-type": "text/event-stream" });
        const connected = { topics: ["*"], serverTime: new Date().toISOString(), heartbeatMs: 15_000 };
        if (seen.length === 1) {
          res.end(
            `retry: 10\nid: 41\nevent: connected\ndata: ${JSON.stringify({ ...connected, cursor: "41" })}\n\n`,
          );
          return;
        }
        const event = {
          id: "42",
          type: "custom.tick",
          tenantId,
          occurredAt: new Date().toISOString(),
          data: {},
        };
        res.write(`id: 41\nevent: connected\ndata: ${JSON.stringify({ ...connected, cursor: "41" })}\n\n`);
        res.write(`id: 42\nevent: custom.tick\ndata: ${JSON.stringify(event)}\n\n`);
      });
      await new Promise<void>((r) => sse.listen(0, "127.0.0.1", r));
      const controller = new AbortController();
      try {
        const address = sse.address() as { port: number };
        const items = await take(
          createClient({ baseUrl: `http://127.0.0.1:${address.port}`, apiKey: "k" }).events.subscribe({
            signal: controller.signal,
          }),
          (got) => got.some((i) => i.type === "custom.tick"),
        );
        expect(items.map((i) => i.type)).toEqual(["connected", "reconnecting", "connected", "custom.tick"]);
        expect(seen).toEqual([undefined, "41"]);
      } finally {
        controller.abort();
        sse.closeAllConnections();
        await new Promise((r) => sse.close(r));
      }
    });

    it("surfaces resync for a cursor it cannot resume from", async () => {
      const controller = new AbortController();
      const items = await take(
        client.events.subscribe({ lastEventId: "999999999999", signal: controller.signal }),
        (got) => got.length >= 2,
      );
      controller.abort();
      expect(items.map((i) => i.type)).toEqual(["connected", "resync"]);
    });
  });
});
