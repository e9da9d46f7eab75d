/**
 * `notification.send` on real PostgreSQL and pg-boss, against a loopback webhook receiver and a fake
 * Telegram Bot API: the SSRF guard refuses loopback unless allowed, a sent notification is never sent
 * again, retries keep the idempotency key, a long `retry_after` defers the job by that long, permanent
 * refusals fail at once, and status, attempts and last error are recorded with their events.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { seedTenant } from "../../../test/factories/index.ts";
import { withTenant } from "../../core/src/index.ts";
import {
  builtInJobs,
  type CyberneticQueue,
  deadLetterQueue,
  type NotificationRequest,
  recordNotification,
  startWorkers,
  type WorkerDependencies,
  type WorkerRuntime,
} from "../src/index.ts";
import {
  type FakeTelegram,
  startFakeTelegram,
  startWebhookReceiver,
  until,
  type WebhookReceiver,
} from "./support/fake-servers.ts";
import { useQueuePlatform } from "./support/queue-platform.ts";

const SECRET = "whsec_send_0a1b2c3d4e";

describe("notification.send", () => {
  let queue: CyberneticQueue;
  const ctx = useQueuePlatform((q) => {
    queue = q;
  });
  let runtime: WorkerRuntime | undefined;
  let receiver: WebhookReceiver;
  let telegram: FakeTelegram;
  let tenantId: string;
  let keyCounter = 0;

  beforeAll(async () => {
    receiver = await startWebhookReceiver(SECRET);
    telegram = await startFakeTelegram();
    tenantId = (await seedTenant(ctx.platform, { settings: { webhookSecret: SECRET } })).tenant.id;
  });
  afterEach(async () => {
    await runtime?.stop({ timeoutMs: 5_000 });
    runtime = undefined;
  });
  afterAll(async () => {
    await receiver.close();
    await telegram.close();
  });

  const start = async (deps: WorkerDependencies) => {
    runtime = await startWorkers({
      platform: ctx.platform,
      queue,
      jobs: builtInJobs(),
      only: ["notification.send"],
      deps,
    });
  };
  const record = async (request: Omit<NotificationRequest, "idempotencyKey">, tenant = tenantId) => {
    const id = await withTenant(ctx.db, tenant, (trx) =>
      recordNotification(trx, queue, tenant, { ...request, idempotencyKey: `test:${++keyCounter}` }),
    );
    if (!id) throw new Error("notification not recorded");
    return id;
  };
  const notification = (id: string, tenant = tenantId) =>
    withTenant(ctx.db, tenant, (trx) =>
      trx.selectFrom("notifications").selectAll().where("id", "=", id).executeTakeFirstOrThrow(),
    );
  const settled = (id: string, tenant = tenantId) =>
    until(async () => {
      const n = await notification(id, tenant);
      return n.status === "sent" || n.status === "failed" ? n : undefined;
    }, `notification ${id} to settle`);
  const eventsFor = (type: string, id: string, tenant = tenantId) =>
    withTenant(ctx.db, tenant, (trx) =>
      trx
        .selectFrom("events")
        .select("data")
        .where("type", "=", type)
        .where((eb) => eb(eb.ref("data", "->>").key("notificationId"), "=", id))
        .execute(),
    );
  const jobsOf = (id: string, name = "notification.send") =>
    queue.boss.findJobs(name, { data: { notificationId: id } });

  it("refuses a loopback webhook by default: failed at once, nothing sent, the job dead-lettered", async () => {
    await start({ webhook: {} });
    const before = receiver.deliveries.length;
    const id = await record({
      channel: "webhook",
      target: receiver.url("/private"),
      payload: { text: "hi" },
    });
    const n = await settled(id);
    expect(n).toMatchObject({ status: "failed", attempts: 1, sent_at: null });
    expect(n.last_error).toMatch(/^refused: 127\.0\.0\.1 resolves to 127\.0\.0\.1 \(loopback\)/);
    expect(receiver.deliveries.length).toBe(before);
    expect(await eventsFor("notification.failed", id)).toEqual([
      { data: expect.objectContaining({ notificationId: id, channel: "webhook", error: n.last_error }) },
    ]);
    const dead = await until(async () => {
      const jobs = await queue.boss.findJobs(deadLetterQueue("notification.send"), {
        data: { notificationId: id },
      });
      return jobs.length > 0 ? jobs : undefined;
    }, "the dead letter");
    expect(dead).toHaveLength(1);
  });

  it("delivers to loopback when private networks are allowed, and never sends a sent notification again", async () => {
    await start({ webhook: { allowPrivateNetworks: true } });
    const before = receiver.deliveries.length;
    const id = await record({
      channel: "webhook",
      target: receiver.url("/allowed?token=abc"),
      payload: { text: "hello" },
    });
    const n = await settled(id);
    expect(n).toMatchObject({ status: "sent", attempts: 1, last_error: null });
    expect(n.sent_at).toBeInstanceOf(Date);
    expect(receiver.deliveries.slice(before)).toEqual([
      expect.objectContaining({ path: "/allowed?token=abc", body: '{"text":"hello"}', signatureValid: true }),
    ]);
    // The event names the receiver's origin, never its path or query (they may hold a token).
    expect(await eventsFor("notification.sent", id)).toEqual([
      { data: { notificationId: id, channel: "webhook", target: `http://127.0.0.1:${receiver.port}` } },
    ]);

    const again = await queue.send("notification.send", { tenantId, notificationId: id });
    const job = await until(async () => {
      const j = await queue.getJob(String(again));
      return j?.state === "completed" ? j : undefined;
    }, "the repeated job");
    expect(job.output).toEqual({ status: "already_sent" });
    expect(receiver.deliveries.length).toBe(before + 1);
    expect((await notification(id)).attempts).toBe(1);
  });

  it("retries a failed delivery with the same idempotency key and records the attempts and last error", async () => {
    await start({ webhook: { allowPrivateNetworks: true } });
    receiver.respondNext(503);
    const before = receiver.deliveries.length;
    const id = await record({
      channel: "webhook",
      target: receiver.url("/flaky"),
      payload: { text: "retry me" },
    });
    const n = await until(
      async () => {
        const row = await notification(id);
        return row.status === "sent" ? row : undefined;
      },
      "the retried delivery",
      30_000,
    );
    expect(n.attempts).toBe(2);
    expect(n.last_error).toBe("webhook answered 503");
    const deliveries = receiver.deliveries.slice(before);
    expect(deliveries).toHaveLength(2);
    expect(new Set(deliveries.map((d) => d.headers["x-cybernetic-idempotency-key"])).size).toBe(1);
    expect(deliveries.every((d) => d.signatureValid)).toBe(true);
  });

  it("defers a Telegram message by the retry_after it was told, then sends it", async () => {
    await start({
      telegram: { token: telegram.token, baseUrl: telegram.baseUrl, maxInlineRetryAfterSeconds: 0 },
    });
    telegram.rateLimitNext(1);
    const before = telegram.calls.length;
    const id = await record({
      channel: "telegram",
      target: "-100555",
      payload: { text: "Budget approved." },
    });
    const n = await until(
      async () => {
        const row = await notification(id);
        return row.status === "sent" ? row : undefined;
      },
      "the deferred message",
      30_000,
    );
    expect(n.attempts).toBe(2);
    expect(n.last_error).toBe("telegram rate limit: retry after 1 s");
    expect(telegram.calls.slice(before).map((c) => [c.status, c.text])).toEqual([
      [429, "Budget approved\\."],
      [200, "Budget approved\\."],
    ]);
    const jobs = await jobsOf(id);
    expect(jobs).toHaveLength(2);
    const first = jobs.find((j) => (j.output as { status?: string } | null)?.status === "deferred");
    expect(first?.output).toMatchObject({
      status: "deferred",
      retryAfterSeconds: 1,
      continuedAs: expect.any(String),
    });
    expect(await eventsFor("notification.sent", id)).toHaveLength(1);
  });

  it("fails at once on a permanent Telegram refusal, and when no bot is configured", async () => {
    await start({ telegram: { token: telegram.token, baseUrl: telegram.baseUrl } });
    telegram.failNext(400, "Bad Request: chat not found");
    const refused = await settled(
      await record({ channel: "telegram", target: "-1", payload: { text: "x" } }),
    );
    expect(refused).toMatchObject({
      status: "failed",
      attempts: 1,
      last_error: "telegram answered 400: Bad Request: chat not found",
    });

    await runtime?.stop();
    await start({});
    const unconfigured = await settled(
      await record({ channel: "telegram", target: "-1", payload: { text: "x" } }),
    );
    expect(unconfigured).toMatchObject({
      status: "failed",
      attempts: 1,
      last_error: "no Telegram bot configured",
    });
  });

  it("refuses to send an unsigned webhook when the tenant has no secret", async () => {
    const other = (await seedTenant(ctx.platform)).tenant.id;
    await start({ webhook: { allowPrivateNetworks: true } });
    const before = receiver.deliveries.length;
    const n = await settled(
      await record({ channel: "webhook", target: receiver.url(), payload: { text: "x" } }, other),
      other,
    );
    expect(n).toMatchObject({ status: "failed", last_error: "the tenant has no webhookSecret to sign with" });
    expect(receiver.deliveries.length).toBe(before);
  });

  it("delivers the event channel as a notification.sent event carrying the payload, exactly once", async () => {
    await start({});
    const id = await record({ channel: "event", target: "ops", payload: { text: "Shift handover at 6" } });
    const n = await settled(id);
    expect(n).toMatchObject({ status: "sent", attempts: 1 });
    await queue.send("notification.send", { tenantId, notificationId: id });
    await until(async () => (await jobsOf(id)).every((j) => j.state === "completed"), "both jobs");
    expect(await eventsFor("notification.sent", id)).toEqual([
      {
        data: {
          notificationId: id,
          channel: "event",
          target: "ops",
          payload: { text: "Shift handover at 6" },
        },
      },
    ]);
  });
});
