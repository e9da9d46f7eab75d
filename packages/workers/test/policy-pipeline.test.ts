/**
 * The whole S4 → S5 → delivery pipeline on real PostgreSQL and pg-boss: an episode is created, analysed,
 * the analysis event is dispatched to `policy.evaluate`, the policy fires, and its notifications reach a
 * loopback webhook receiver (which checks the signature itself), a fake Telegram Bot API (which first
 * answers 429 with `retry_after`) and SSE subscribers (the `event` channel).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { episodeInput, policyInput, seedTenant } from "../../../test/factories/index.ts";
import { type Policy, withTenant } from "../../core/src/index.ts";
import {
  builtInJobs,
  type CyberneticQueue,
  createHeuristicAnalyzer,
  startWorkers,
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

const SECRET = "whsec_pipeline_5e4d3c2b1a";

describe("episode → analysis → policy → notifications", () => {
  let queue: CyberneticQueue;
  const ctx = useQueuePlatform(
    (q) => {
      queue = q;
    },
    { poolSize: 6 },
  );
  let receiver: WebhookReceiver;
  let telegram: FakeTelegram;
  let runtime: WorkerRuntime;
  let tenantId: string;
  let policy: Policy;

  beforeAll(async () => {
    receiver = await startWebhookReceiver(SECRET);
    telegram = await startFakeTelegram();
    tenantId = (await seedTenant(ctx.platform, { settings: { webhookSecret: SECRET, region: "eu" } })).tenant
      .id;
    policy = await ctx.platform.policies.create(
      tenantId,
      policyInput({
        name: "high risk to ops",
        rules: {
          on: ["episode.analyzed"],
          if: { in: [{ var: "event.data.risk" }, ["high", "critical"]] },
          then: [
            {
              type: "notify",
              channel: "webhook",
              to: receiver.url("/ops"),
              template: "Risk {{event.data.risk}}: {{episode.title}}",
            },
            {
              type: "notify",
              channel: "telegram",
              to: "-100777",
              template: "🚨 {{episode.title}} (risk: {{event.data.risk}})!",
            },
            { type: "notify", channel: "event", to: "ops", template: "{{episode.title}} needs attention" },
          ],
        },
      }),
    );
    runtime = await startWorkers({
      platform: ctx.platform,
      queue,
      jobs: builtInJobs(),
      listenUrl: ctx.database.directUrl,
      schedules: false,
      deps: {
        analyzer: createHeuristicAnalyzer(),
        telegram: { token: telegram.token, baseUrl: telegram.baseUrl },
        webhook: { allowPrivateNetworks: true },
      },
    });
  });
  afterAll(async () => {
    await runtime?.stop({ timeoutMs: 5_000 });
    await receiver.close();
    await telegram.close();
  });

  const eventsOf = (type: string) =>
    withTenant(ctx.db, tenantId, (trx) =>
      trx
        .selectFrom("events")
        .select(["id", "type", "data"])
        .where("type", "=", type)
        .orderBy("seq")
        .execute(),
    );
  const notifications = () =>
    withTenant(ctx.db, tenantId, (trx) =>
      trx.selectFrom("notifications").selectAll().orderBy("idempotency_key").execute(),
    );

  it("delivers every notification of the fired policy exactly once, on every channel", async () => {
    telegram.rateLimitNext(1);
    const { episode } = await ctx.platform.episodes.create(
      tenantId,
      episodeInput({
        title: "Checkout outage",
        content: "The payment service is down and customers cannot pay. Revenue is lost every minute.",
      }),
    );

    const sent = await until(
      async () => {
        const rows = await notifications();
        return rows.length === 3 && rows.every((n) => n.status === "sent") ? rows : undefined;
      },
      "three notifications sent",
      30_000,
    );

    const analyzed = (await eventsOf("episode.analyzed")).find((e) => e.data.episodeId === episode.id);
    expect(analyzed?.id).toEqual(expect.any(String));
    const eventId = String(analyzed?.id);
    const risk = analyzed?.data.risk as string;
    expect(["high", "critical"]).toContain(risk);

    // The policy fired once, with the outcome of each action.
    const triggered = await eventsOf("policy.triggered");
    expect(triggered).toHaveLength(1);
    expect(triggered[0]?.data).toMatchObject({
      policyId: policy.id,
      eventId,
      outcome: {
        status: "applied",
        actions: [
          { type: "notify", channel: "webhook" },
          { type: "notify", channel: "telegram" },
          { type: "notify", channel: "event" },
        ],
      },
      causedBy: { policyId: policy.id, eventId, depth: 1 },
    });

    // Each notification: sent once, one attempt, keyed by policy, event and action index.
    expect(sent.map((n) => [n.channel, n.status, n.attempts, n.idempotency_key])).toEqual([
      ["webhook", "sent", 1, `policy:${policy.id}:${eventId}:0`],
      ["telegram", "sent", 1, `policy:${policy.id}:${eventId}:1`],
      ["event", "sent", 1, `policy:${policy.id}:${eventId}:2`],
    ]);

    // The webhook: signed with the tenant's secret, the idempotency key, the rendered text.
    expect(receiver.deliveries).toHaveLength(1);
    const delivery = receiver.deliveries[0];
    expect(delivery?.signatureValid).toBe(true);
    expect(delivery?.path).toBe("/ops");
    expect(delivery?.headers["x-cybernetic-idempotency-key"]).toBe(`policy:${policy.id}:${eventId}:0`);
    expect(JSON.parse(delivery?.body ?? "{}")).toMatchObject({
      text: `Risk ${risk}: Checkout outage`,
      policy: { id: policy.id, name: "high risk to ops" },
      event: { id: eventId, type: "episode.analyzed" },
    });

    // Telegram: rate limited once (429, retry_after 1), then accepted; the text escaped for MarkdownV2.
    expect(telegram.calls.map((c) => c.status)).toEqual([429, 200]);
    expect(telegram.calls[1]).toMatchObject({
      chatId: "-100777",
      parseMode: "MarkdownV2",
      text: `🚨 Checkout outage \\(risk: ${risk}\\)\\!`,
    });

    // notification.sent for each; the event channel's carries the payload for SSE subscribers.
    const sentEvents = await until(async () => {
      const rows = await eventsOf("notification.sent");
      return rows.length === 3 ? rows : undefined;
    }, "notification.sent events");
    for (const e of sentEvents) expect(e.data.causedBy).toEqual({ policyId: policy.id, eventId, depth: 1 });
    const viaEvent = sentEvents.find((e) => e.data.channel === "event");
    expect(viaEvent?.data).toMatchObject({
      target: "ops",
      payload: { text: "Checkout outage needs attention" },
    });
    expect(sentEvents.find((e) => e.data.channel === "webhook")?.data.target).toBe(
      `http://127.0.0.1:${receiver.port}`,
    );

    // One evaluation record for (event, policy).
    const evaluations = await withTenant(ctx.db, tenantId, (trx) =>
      trx.selectFrom("policy_evaluations").selectAll().where("event_id", "=", eventId).execute(),
    );
    expect(evaluations).toEqual([expect.objectContaining({ policy_id: policy.id, matched: true })]);
  });

  it("does not fire for a low-risk episode, but records the evaluation", async () => {
    const { episode } = await ctx.platform.episodes.create(
      tenantId,
      episodeInput({
        title: "Thank-you note",
        content: "A customer thanked the team for the quick delivery. Great work.",
      }),
    );
    const analyzed = await until(async () => {
      const rows = await eventsOf("episode.analyzed");
      // Published (it has its public id) once the event bus has seen its transaction commit.
      return rows.find((e) => e.data.episodeId === episode.id && e.id !== null);
    }, "the analysis to be published");
    const eventId = String(analyzed.id);
    const evaluation = await until(
      () =>
        withTenant(ctx.db, tenantId, (trx) =>
          trx.selectFrom("policy_evaluations").selectAll().where("event_id", "=", eventId).executeTakeFirst(),
        ),
      "the evaluation record",
    );
    expect(evaluation).toMatchObject({
      matched: false,
      outcome: { status: "not_matched", conditionResult: false },
    });
    expect(await eventsOf("policy.triggered")).toHaveLength(1);
    expect(await notifications()).toHaveLength(3);
  });
});
