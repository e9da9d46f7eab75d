/**
 * `GET /v1/events` end to end: a real gateway on loopback over a per-file database, a real event bus
 * (its own LISTEN connection), real SSE clients (a strict frame reader and the `eventsource` package).
 * Covers auth and stream tokens, topics, the `connected` promise, resume with no gap and no duplicate,
 * out-of-order commits, the list cursor, two gateway instances, limits, slow consumers and clean-up.
 */

import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createEventBus, type EventBus } from "@cybernetic/core";
import { EventSource } from "eventsource";
import pg from "pg";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { episodeInput } from "../../../test/factories/index.ts";
import { until } from "../../../test/support/until.ts";
import { createGateway, type EventStreamConfig, type ServedGateway } from "../src/index.ts";
import { ADMIN_KEY, createTenant, request, useGateway } from "./helpers/gateway-harness.ts";
import { openStream, type SseStream } from "./helpers/sse-reader.ts";

const STREAM: Partial<EventStreamConfig> = {
  heartbeatMs: 100,
  retryMs: 50,
  maxConnectionsPerTenant: 8,
  maxBufferedBytes: 64 * 1024,
};

describe("GET /v1/events", () => {
  const buses: EventBus[] = [];
  const servers: ServedGateway[] = [];
  const newBus = () => {
    const bus = createEventBus({ db: h.db.db, listenUrl: h.db.database.directUrl, pollIntervalMs: 60_000 });
    buses.push(bus);
    return bus;
  };
  const h = useGateway({ config: { events: STREAM }, gateway: () => ({ bus: newBus() }) });
  let tenant: Awaited<ReturnType<typeof createTenant>>;
  let other: Awaited<ReturnType<typeof createTenant>>;

  /** Another gateway process on the same database, with its own bus. */
  const secondGateway = async (events: Partial<EventStreamConfig> = STREAM) => {
    const bus = newBus();
    await bus.start();
    const gateway = createGateway({
      platform: h.db.platform,
      config: { adminKey: ADMIN_KEY, apiKeyCacheTtlMs: 0, events },
      logger: pino({ level: "silent" }),
      bus,
    });
    const server = await gateway.serve({ port: 0 });
    servers.push(server);
    return { gateway, server, bus };
  };

  const createEpisode = async (key = tenant.key, base = h.url) => {
    const res = await request(base, "/v1/episodes", { method: "POST", key, body: episodeInput() });
    expect(res.status).toBe(201);
    return res.body.episode.id as string;
  };
  const episodeIds = (stream: SseStream) =>
    stream.events("episode.created").map((e) => e.data.data.episodeId as string);
  const metric = async (name: string, base = h.url) => {
    const text = (await request(base, "/metrics")).text;
    const line = text.split("\n").find((l) => l.startsWith(`${name} `));
    return Number(line?.split(" ")[1]);
  };

  /** Inserts `count` events in one transaction, as the runtime role (the outbox's writers do the same). */
  const insertEvents = async (tenantId: string, type: string, count: number, padding = 0) => {
    const c = new pg.Client({ connectionString: h.db.database.appUrl });
    await c.connect();
    try {
      await c.query("begin");
      await c.query("select set_config('app.tenant_id', $1, true)", [tenantId]);
      await c.query(
        `insert into cybernetic.events (tenant_id, type, data)
         select $1, $2, jsonb_build_object('n', g, 'pad', repeat('x', $4)) from generate_series(1, $3) g`,
        [tenantId, type, count, padding],
      );
      await c.query("commit");
    } finally {
      await c.end();
    }
  };

  beforeAll(async () => {
    await buses[0]?.start();
    tenant = await createTenant(h);
    other = await createTenant(h);
  });
  afterAll(async () => {
    for (const server of servers) await server.close({ timeoutMs: 1000 });
    for (const bus of buses) await bus.stop();
  });

  describe("auth and input", () => {
    it("refuses a request without credentials, and an API key in the URL", async () => {
      const none = await openStream(h.url);
      expect(none.status).toBe(401);
      await none.ended;
      expect(JSON.parse(none.text()).error.code).toBe("unauthorized");
      const inUrl = await openStream(h.url, { query: { token: tenant.key } });
      await inUrl.ended;
      expect(inUrl.status).toBe(401);
      expect(JSON.parse(inUrl.text()).error.details.reason).toBe("api_key_in_url");
      const forged = await openStream(h.url, { query: { token: "cst1.e30.AAAA" } });
      await forged.ended;
      expect(forged.status).toBe(401);
    });

    it("accepts a stream token from POST /v1/events/token as ?token=", async () => {
      const issued = await h.request("/v1/events/token", { method: "POST", key: tenant.key });
      expect(issued.status).toBe(201);
      expect(issued.body.token).toMatch(/^cst1\./);
      expect(Date.parse(issued.body.expiresAt)).toBeGreaterThan(Date.now());
      const stream = await openStream(h.url, { query: { token: issued.body.token } });
      expect(stream.status).toBe(200);
      await until(() => stream.events("connected").length === 1, "connected");
      // A token is for the stream only, never for the REST API.
      const rest = await h.request("/v1/episodes", {
        headers: { authorization: `Bearer ${issued.body.token}` },
      });
      expect(rest.status).toBe(401);
      stream.close();
    });

    it("rejects an invalid topic by name, more than 20 topics, and a malformed Last-Event-ID", async () => {
      const bad = await openStream(h.url, { key: tenant.key, query: { topics: "episode.*,episode.nope" } });
      await bad.ended;
      expect(bad.status).toBe(400);
      expect(JSON.parse(bad.text()).error.message).toContain('"episode.nope"');
      const many = Array.from({ length: 21 }, (_, i) => `custom.t${i}`).join(",");
      const tooMany = await openStream(h.url, { key: tenant.key, query: { topics: many } });
      await tooMany.ended;
      expect(tooMany.status).toBe(400);
      const cursor = await openStream(h.url, { key: tenant.key, headers: { "last-event-id": "abc" } });
      await cursor.ended;
      expect(cursor.status).toBe(400);
      expect(JSON.parse(cursor.text()).error.code).toBe("validation_failed");
    });
  });

  describe("the stream", () => {
    it("starts with retry and connected, then delivers the tenant's matching events, and heartbeats", async () => {
      const stream = await openStream(h.url, { key: tenant.key, query: { topics: "episode.created" } });
      expect(stream.status).toBe(200);
      expect(stream.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
      expect(stream.headers["cache-control"]).toBe("no-cache");
      expect(stream.headers["x-accel-buffering"]).toBe("no");
      expect(stream.headers["x-request-id"]).toBeTruthy();
      await until(() => stream.frames.length > 0, "first frame");
      const first = stream.frames[0];
      expect(first?.event).toBe("connected");
      expect(first?.retry).toBe("50");
      const connected = JSON.parse(first?.data as string);
      expect(connected).toMatchObject({ topics: ["episode.created"], heartbeatMs: 100, retryMs: 50 });
      expect(connected.cursor).toMatch(/^\d+$/);
      // Its id is the cursor: a client cut off before its first event resumes from there.
      expect(first?.id).toBe(connected.cursor);
      // Written after `connected`: always delivered. Another tenant's: never.
      const mine = [await createEpisode(), await createEpisode()];
      await createEpisode(other.key);
      await until(() => episodeIds(stream).length === 2, "two events");
      expect(episodeIds(stream)).toEqual(mine);
      const frames = stream.frames.filter((f) => f.event === "episode.created");
      for (const frame of frames) {
        const event = JSON.parse(frame.data as string);
        expect(frame.id).toBe(event.id);
        expect(event.tenantId).toBe(tenant.tenant.id);
      }
      await until(() => stream.frames.some((f) => f.comment === "heartbeat"), "a heartbeat");
      stream.close();
    });

    it("filters by category and exact type", async () => {
      const custom = await openStream(h.url, { key: tenant.key, query: { topics: "custom.*" } });
      const all = await openStream(h.url, { key: tenant.key, query: { topics: "*" } });
      await until(() => custom.events("connected").length && all.events("connected").length, "connected");
      await createEpisode();
      await insertEvents(tenant.tenant.id, "custom.ping", 1);
      await until(() => all.events("custom.ping").length === 1, "custom event on *");
      await until(() => custom.events("custom.ping").length === 1, "custom event on custom.*");
      expect(all.events("episode.created").length).toBe(1);
      expect(custom.events("episode.created")).toEqual([]);
      custom.close();
      all.close();
    });
  });

  describe("resume", () => {
    it("replays every missed event after Last-Event-ID, then continues live: none lost, none twice", async () => {
      const first = await openStream(h.url, { key: tenant.key, query: { topics: "episode.created" } });
      await until(() => first.events("connected").length, "connected");
      const before = [await createEpisode(), await createEpisode()];
      await until(() => episodeIds(first).length === 2, "live events");
      const lastId = first.events("episode.created").at(-1)?.id as string;
      first.close();
      const missed = [await createEpisode(), await createEpisode(), await createEpisode()];
      // Writers keep going while the client resumes (the seam between replay and live).
      const writing = Promise.all([createEpisode(), createEpisode(), createEpisode()]);
      const resumed = await openStream(h.url, {
        key: tenant.key,
        query: { topics: "episode.created" },
        headers: { "last-event-id": lastId },
      });
      const during = await writing;
      const after = await createEpisode();
      await until(() => episodeIds(resumed).length === 7, "7 events after the cursor");
      const ids = episodeIds(resumed);
      expect(ids.slice(0, 3)).toEqual(missed);
      expect(new Set(ids)).toEqual(new Set([...missed, ...during, after]));
      expect(ids.some((id) => before.includes(id))).toBe(false);
      const outboxIds = resumed.events("episode.created").map((e) => BigInt(e.id as string));
      expect(outboxIds.every((id, i) => i === 0 || id > (outboxIds[i - 1] as bigint))).toBe(true);
      expect(resumed.events("connected")[0]?.data.cursor).toBe(lastId);
      // ?last_event_id= does the same.
      const byQuery = await openStream(h.url, {
        key: tenant.key,
        query: { topics: "episode.created", last_event_id: lastId },
      });
      await until(() => episodeIds(byQuery).length === 7, "7 events by query cursor");
      expect(episodeIds(byQuery)).toEqual(ids);
      resumed.close();
      byQuery.close();
    });

    it("sends resync for a cursor it cannot resume from", async () => {
      const stream = await openStream(h.url, {
        key: tenant.key,
        headers: { "last-event-id": "999999999999" },
      });
      await until(() => stream.frames.length >= 2, "connected and resync");
      expect(stream.frames[0]?.event).toBe("connected");
      expect(stream.frames[1]?.event).toBe("resync");
      const resync = JSON.parse(stream.frames[1]?.data as string);
      expect(resync.reason).toBe("cursor_expired");
      expect(stream.frames[1]?.id).toBe(resync.cursor);
      expect(stream.frames[0]?.id).toBe(resync.cursor);
      const id = await createEpisode();
      await until(() => episodeIds(stream).includes(id), "live after resync");
      stream.close();
    });

    it("an EventSource cut off before its first event misses nothing written while it reconnects", async () => {
      // A long retry: the episode is written inside the gap between the end and the reconnect.
      const { server } = await secondGateway({ ...STREAM, maxDurationMs: 200, retryMs: 1_500 });
      const token = (await h.request("/v1/events/token", { method: "POST", key: tenant.key })).body.token;
      const source = new EventSource(`${server.url}/v1/events?topics=episode.created&token=${token}`);
      const cursors: string[] = [];
      const received: string[] = [];
      let dropped = 0;
      source.addEventListener("connected", (e) => cursors.push(e.lastEventId));
      source.addEventListener("episode.created", (e) => received.push(JSON.parse(e.data).data.episodeId));
      source.addEventListener("error", () => dropped++);
      try {
        await until(() => cursors.length >= 1 && dropped >= 1, "the first stream to end");
        expect(received).toEqual([]);
        const id = await createEpisode();
        await until(() => received.includes(id), "the episode written during the reconnect", 30_000);
        expect(received).toEqual([id]);
        expect(cursors[0]).toMatch(/^\d+$/);
      } finally {
        source.close();
      }
    });

    it("the eventsource package consumes the stream and resumes after the server ends it", async () => {
      const { server } = await secondGateway({ ...STREAM, maxDurationMs: 300 });
      const token = (await h.request("/v1/events/token", { method: "POST", key: tenant.key })).body.token;
      const source = new EventSource(`${server.url}/v1/events?topics=episode.created&token=${token}`);
      const received: string[] = [];
      let connects = 0;
      source.addEventListener("connected", () => connects++);
      source.addEventListener("episode.created", (e) => received.push(JSON.parse(e.data).data.episodeId));
      try {
        await until(() => connects >= 1, "connected");
        const written: string[] = [];
        // Keep writing across at least two server-side disconnects, paced below the key's rate limit
        // (the reconnects count against it too, and EventSource gives up for good on a 429).
        while (connects < 3) {
          written.push(await createEpisode());
          await new Promise((r) => setTimeout(r, 25));
        }
        written.push(await createEpisode());
        await until(
          () => received.length >= written.length || source.readyState === EventSource.CLOSED,
          "every event",
        );
        expect(source.readyState, "the EventSource gave up reconnecting").not.toBe(EventSource.CLOSED);
        expect(received).toEqual(written);
      } finally {
        source.close();
      }
    });
  });

  it("never skips an event whose transaction commits after later ones (and the list cursor taken in between)", async () => {
    const stream = await openStream(h.url, { key: tenant.key, query: { topics: "custom.*" } });
    await until(() => stream.events("connected").length, "connected");
    const open = async () => {
      const c = new pg.Client({ connectionString: h.db.database.appUrl });
      await c.connect();
      await c.query("begin");
      await c.query("select set_config('app.tenant_id', $1, true)", [tenant.tenant.id]);
      return c;
    };
    const write = (c: pg.Client, label: string) =>
      c.query("insert into cybernetic.events (tenant_id, type, data) values ($1, 'custom.order', $2)", [
        tenant.tenant.id,
        JSON.stringify({ label }),
      ]);
    const held = await open();
    const later = await open();
    try {
      await write(held, "held"); // the lower sequence number…
      await write(later, "later");
      await later.query("commit"); // …commits last
      const list = await h.request("/v1/episodes", { key: tenant.key });
      const cursor = list.headers.get("x-event-cursor") as string;
      expect(cursor).toMatch(/^\d+$/);
      await held.query("commit");
      await until(() => stream.events("custom.order").length === 2, "both events live");
      expect(
        stream
          .events("custom.order")
          .map((e) => e.data.data.label)
          .sort(),
      ).toEqual(["held", "later"]);
      // A subscriber resuming from the cursor taken between the commits skips nothing.
      const resumed = await openStream(h.url, {
        key: tenant.key,
        query: { topics: "custom.*" },
        headers: { "last-event-id": cursor },
      });
      await until(() => resumed.events("custom.order").length === 2, "both after the cursor");
      resumed.close();
    } finally {
      await held.end();
      await later.end();
      stream.close();
    }
  });

  it("snapshot then subscribe: a list's x-event-cursor misses nothing and repeats nothing", async () => {
    // A tenant of its own: no earlier episode of it can still be waiting for publication.
    const own = await createTenant(h);
    const before = await createEpisode(own.key);
    const page = await h.request("/v1/episodes", { key: own.key, headers: {} });
    expect(page.status).toBe(200);
    const cursor = page.headers.get("x-event-cursor") as string;
    const inPage = new Set((page.body.items as { id: string }[]).map((e) => e.id));
    expect(inPage.has(before)).toBe(true);
    for (const path of ["/v1/systems", "/v1/policies"]) {
      expect((await h.request(path, { key: own.key })).headers.get("x-event-cursor")).toMatch(/^\d+$/);
    }
    const created = [await createEpisode(own.key), await createEpisode(own.key)];
    const stream = await openStream(h.url, {
      key: own.key,
      query: { topics: "episode.created" },
      headers: { "last-event-id": cursor },
    });
    await until(() => episodeIds(stream).length === 2, "the two new episodes");
    expect(episodeIds(stream)).toEqual(created);
    expect(created.some((id) => inPage.has(id))).toBe(false);
    stream.close();
  });

  it("snapshot then subscribe while a transaction elsewhere holds publication back: the list keeps the earlier cursor, and the event comes at least once", async () => {
    const own = await createTenant(h);
    // Any open transaction with an id holds the cluster's xmin, and so the publisher, back.
    const holder = new pg.Client({ connectionString: h.db.database.ownerUrl });
    await holder.connect();
    try {
      await holder.query("begin");
      await holder.query("select pg_current_xact_id()");
      const held = await createEpisode(own.key);
      const page = await h.request("/v1/episodes", { key: own.key });
      expect(page.status).toBe(200);
      expect((page.body.items as { id: string }[]).map((e) => e.id)).toContain(held);
      const cursor = page.headers.get("x-event-cursor") as string;
      expect(cursor).toMatch(/^\d+$/);
      await holder.query("commit");
      const stream = await openStream(h.url, {
        key: own.key,
        query: { topics: "episode.created" },
        headers: { "last-event-id": cursor },
      });
      await until(() => episodeIds(stream).length === 1, "the held episode's event");
      expect(episodeIds(stream)).toEqual([held]);
      expect(BigInt(stream.events("episode.created")[0]?.id ?? "0")).toBeGreaterThan(BigInt(cursor));
      stream.close();
    } finally {
      await holder.end();
    }
  });

  it("two gateway instances on one database: an event written through one reaches the other's subscribers", async () => {
    const second = await secondGateway();
    const stream = await openStream(second.server.url, { key: tenant.key, query: { topics: "episode.*" } });
    await until(() => stream.events("connected").length, "connected");
    const id = await createEpisode(tenant.key, h.url);
    await until(() => episodeIds(stream).includes(id), "the event on the other instance");
    stream.close();
  });

  describe("limits and clean-up", () => {
    it("answers 429 JSON past the per-tenant connection limit, and frees every slot when clients go", async () => {
      const limited = await createTenant(h);
      const streams = await Promise.all(
        Array.from({ length: STREAM.maxConnectionsPerTenant as number }, () =>
          openStream(h.url, { key: limited.key }),
        ),
      );
      for (const s of streams) expect(s.status).toBe(200);
      await until(async () => (await metric("cybernetic_sse_connections")) >= streams.length, "all counted");
      const over = await openStream(h.url, { key: limited.key });
      await over.ended;
      expect(over.status).toBe(429);
      expect(over.headers["retry-after"]).toBeTruthy();
      expect(JSON.parse(over.text()).error.code).toBe("rate_limited");
      const before = await metric("cybernetic_sse_connections");
      for (const s of streams) s.close();
      // Gone clients free their slots at once: the gauge drops and the tenant can connect again.
      await until(
        async () => (await metric("cybernetic_sse_connections")) <= before - streams.length,
        "slots freed",
      );
      const again = await openStream(h.url, { key: limited.key });
      expect(again.status).toBe(200);
      again.close();
    });

    it("ends a stream at its maximum duration with a disconnected event", async () => {
      const { server } = await secondGateway({ ...STREAM, maxDurationMs: 200 });
      const stream = await openStream(server.url, { key: tenant.key });
      await stream.ended;
      expect(stream.frames.at(-1)?.event).toBe("disconnected");
      expect(JSON.parse(stream.frames.at(-1)?.data as string).reason).toBe("max_duration");
    });

    it("cuts off a consumer that stops reading; the server's memory stays flat; others still get everything", async () => {
      const { server } = await secondGateway({ ...STREAM, maxBufferedBytes: 4 * 1024 * 1024 });
      const slowTenant = await createTenant(h);
      const slow = await openStream(server.url, { key: slowTenant.key });
      const healthy = await openStream(server.url, { key: slowTenant.key, countOnly: true });
      await until(() => slow.events("connected").length && healthy.events("connected").length, "connected");
      slow.pause();
      const dropped = await metric("cybernetic_sse_slow_consumers_dropped_total", server.url);
      // A real collection before each reading, so garbage does not count as growth.
      setFlagsFromString("--expose-gc");
      const gc = runInNewContext("gc") as () => void;
      const memory = () => {
        gc();
        const usage = process.memoryUsage();
        return usage.heapUsed + usage.arrayBuffers;
      };
      const before = memory();
      // 40 MB of events in 4 KB frames: far past the socket buffers and the 4 MB allowance.
      const total = 10_000;
      for (let batch = 0; batch < total / 500; batch++)
        await insertEvents(slowTenant.tenant.id, "custom.bulk", 500, 4096);
      await until(
        async () => (await metric("cybernetic_sse_slow_consumers_dropped_total", server.url)) > dropped,
        "counted",
      );
      await until(() => healthy.counts.get("custom.bulk") === total, "every event to the healthy one");
      // The slow stream's backlog was dropped with it, not kept: far less than the 40 MB written. Its
      // socket's buffers go once the destroyed socket has closed (a loop turn or more, and on Node 24 the
      // external memory can lag a collection), so the reading may take a few tries; a kept backlog never
      // comes down.
      await until(() => memory() - before < 20 * 1024 * 1024, "the dropped backlog freed", 30_000);
      healthy.close();
    });

    it("ends every stream with a disconnected event on shutdown", async () => {
      const { server } = await secondGateway();
      const stream = await openStream(server.url, { key: tenant.key });
      await until(() => stream.events("connected").length, "connected");
      await server.close({ timeoutMs: 2000 });
      await stream.ended;
      expect(stream.frames.at(-1)?.event).toBe("disconnected");
      expect(JSON.parse(stream.frames.at(-1)?.data as string).reason).toBe("shutdown");
    });
  });
});
