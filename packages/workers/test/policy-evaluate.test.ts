/**
 * S5 on real PostgreSQL and pg-boss: the dispatcher hands every published event out exactly once, a
 * `policy.evaluate` job run any number of times has one effect, the loop guard ends policy-caused chains
 * (stamped and inferred causation), nothing unknown ever fires, and a `set_state` that meets a concurrent
 * writer is retried (or, out of retries, recorded as failed) without blocking the other policies.
 *
 * Every test seeds its own tenant, so its policies never see another test's events.
 */
import { sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { policyInput, seedTenant } from "../../../test/factories/index.ts";
import { type JsonObject, type PolicyRules, withTenant } from "../../core/src/index.ts";
import {
  builtInJobs,
  type CyberneticQueue,
  createPolicyDispatcher,
  MAX_POLICY_DEPTH,
  type StartWorkersOptions,
  startWorkers,
  type WorkerRuntime,
} from "../src/index.ts";
import { until } from "./support/fake-servers.ts";
import { useQueuePlatform } from "./support/queue-platform.ts";

describe("policy evaluation", () => {
  let queue: CyberneticQueue;
  const ctx = useQueuePlatform(
    (q) => {
      queue = q;
    },
    { poolSize: 6 },
  );
  let runtime: WorkerRuntime | undefined;

  afterEach(async () => {
    await runtime?.stop({ timeoutMs: 5_000 });
    runtime = undefined;
  });
  const start = async (options: Partial<StartWorkersOptions> = {}) => {
    runtime = await startWorkers({
      platform: ctx.platform,
      queue,
      jobs: builtInJobs(),
      only: ["policy.evaluate", "notification.send"],
      listenUrl: ctx.database.directUrl,
      ...options,
    });
    return runtime;
  };
  const tenant = async () => (await seedTenant(ctx.platform)).tenant.id;
  const policy = (tenantId: string, rules: PolicyRules, priority = 100) =>
    ctx.platform.policies.create(tenantId, policyInput({ rules, priority }));
  const appendEvent = (tenantId: string, type: string, data: JsonObject) =>
    withTenant(ctx.db, tenantId, (trx) =>
      trx
        .insertInto("events")
        .values({ tenant_id: tenantId, type, data: JSON.stringify(data) })
        .returning("seq")
        .executeTakeFirstOrThrow(),
    );
  /**
   * Publishes committed events and returns the public id of the event written as `seq`. Publishing waits
   * for transactions older than the event's to end (any in the cluster: other test files run beside us),
   * so it may take a few rounds.
   */
  const publishedId = (tenantId: string, seq: string) =>
    until(async () => {
      await sql`select cybernetic.publish_events(10000)`.execute(ctx.db);
      const row = await withTenant(ctx.db, tenantId, (trx) =>
        trx.selectFrom("events").select("id").where("seq", "=", seq).executeTakeFirstOrThrow(),
      );
      return row.id === null ? undefined : String(row.id);
    }, `event ${seq} to be published`);
  const events = (tenantId: string, type: string) =>
    withTenant(ctx.db, tenantId, (trx) =>
      trx.selectFrom("events").select(["id", "data"]).where("type", "=", type).orderBy("seq").execute(),
    );
  const evaluations = (tenantId: string) =>
    withTenant(ctx.db, tenantId, (trx) =>
      trx.selectFrom("policy_evaluations").selectAll().orderBy("event_id").orderBy("evaluated_at").execute(),
    );
  const notifications = (tenantId: string) =>
    withTenant(ctx.db, tenantId, (trx) => trx.selectFrom("notifications").selectAll().execute());
  const completedJob = (jobId: string) =>
    until(async () => {
      const job = await queue.getJob(jobId);
      return job && (job.state === "completed" || job.state === "failed") ? job : undefined;
    }, `job ${jobId}`);

  it("evaluates an event once per policy, however many times its job runs", async () => {
    const tenantId = await tenant();
    const p = await policy(tenantId, {
      on: ["custom.order_placed"],
      then: [{ type: "notify", channel: "event", to: "orders", template: "order {{event.data.orderId}}" }],
    });
    await start();
    const { seq } = await appendEvent(tenantId, "custom.order_placed", { orderId: "A-17" });
    const eventId = await publishedId(tenantId, seq);
    // The dispatcher's job, plus two more for the same event, one of them concurrent with it.
    const extra = await Promise.all([
      queue.send("policy.evaluate", { tenantId, eventId }),
      queue.send("policy.evaluate", { tenantId, eventId }),
    ]);
    const outputs = await Promise.all(extra.map((id) => completedJob(String(id))));
    await until(async () => (await events(tenantId, "notification.sent")).length === 1, "the notification");
    for (const job of outputs) expect(job.state).toBe("completed");

    expect(await evaluations(tenantId)).toEqual([
      expect.objectContaining({ event_id: eventId, policy_id: p.id, matched: true }),
    ]);
    expect(await events(tenantId, "policy.triggered")).toHaveLength(1);
    expect(await notifications(tenantId)).toHaveLength(1);
    const statuses = outputs.map(
      (job) => (job.output as { policies: { status: string }[] }).policies[0]?.status,
    );
    expect(statuses).toContain("already_evaluated");
  });

  it("hands every published event to exactly one job, also with dispatchers racing, and starts fresh at the newest", async () => {
    const tenantId = await tenant();
    const before = await appendEvent(tenantId, "custom.before_install", {});
    await publishedId(tenantId, before.seq);
    const first = createPolicyDispatcher({ db: ctx.db, queue, consumer: "dispatch-test", batchSize: 7 });
    const second = createPolicyDispatcher({ db: ctx.db, queue, consumer: "dispatch-test", batchSize: 7 });
    // A fresh consumer starts at the newest published event: history is not replayed.
    expect(await first.dispatch()).toBe(0);
    let lastTick = "";
    for (let i = 0; i < 30; i++) lastTick = (await appendEvent(tenantId, "custom.tick", { i })).seq;
    // Ids follow commit order: once the last tick is published, all are.
    await publishedId(tenantId, lastTick);
    const counts = await Promise.all([first.dispatch(), second.dispatch(), first.dispatch()]);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(30);
    expect(await first.dispatch()).toBe(0);

    const ticks = (await events(tenantId, "custom.tick")).map((e) => String(e.id));
    const { rows } = await sql<{ event_id: string; key: string }>`
      select data->>'eventId' as event_id, singleton_key as key from pgboss.job
       where name = 'policy.evaluate' and data->>'tenantId' = ${tenantId}`.execute(ctx.db);
    // The "policy" consumer of any earlier test is not running here; only this consumer's jobs exist.
    expect(rows.map((r) => r.event_id).sort()).toEqual([...ticks].sort());
    for (const r of rows) expect(r.key).toBe(`policy:${r.event_id}`);
  });

  it("stops a policy that feeds itself at the loop guard, and records that outcome", async () => {
    const tenantId = await tenant();
    const p = await policy(tenantId, {
      on: ["custom.ping"],
      then: [{ type: "publish", event: "custom.ping", data: { echo: "{{event.id}}" } }],
    });
    await start();
    await appendEvent(tenantId, "custom.ping", { echo: "root" });
    const guard = await until(async () => {
      const rows = await evaluations(tenantId);
      return rows.find((r) => r.outcome.status === "loop_guard");
    }, "the loop guard");

    const pings = await events(tenantId, "custom.ping");
    expect(pings.map((e) => (e.data.causedBy as { depth?: number } | undefined)?.depth ?? 0)).toEqual([
      0, 1, 2, 3,
    ]);
    expect(pings[1]?.data).toMatchObject({
      echo: String(pings[0]?.id),
      causedBy: { policyId: p.id, eventId: String(pings[0]?.id) },
    });
    expect(guard).toMatchObject({
      event_id: String(pings[3]?.id),
      matched: false,
      outcome: { status: "loop_guard", depth: MAX_POLICY_DEPTH },
    });
    const all = await evaluations(tenantId);
    expect(all.map((r) => r.outcome.status)).toEqual(["applied", "applied", "applied", "loop_guard"]);
    expect(await events(tenantId, "policy.triggered")).toHaveLength(3);
  });

  it("infers causation for events written by services on a policy's behalf (set_state loops stop too)", async () => {
    const tenantId = await tenant();
    await policy(tenantId, {
      on: ["system.state_changed"],
      if: { "==": [{ var: "event.data.system" }, 1] },
      then: [{ type: "set_state", system: 1, patch: { touchedByPolicy: true } }],
    });
    await start();
    const s1 = await ctx.platform.systems.get(tenantId, 1);
    await ctx.platform.systems.update(tenantId, 1, { state: { units: 3 }, version: s1.version });
    await until(
      async () => (await evaluations(tenantId)).some((r) => r.outcome.status === "loop_guard"),
      "the loop guard",
    );

    const changes = await events(tenantId, "system.state_changed");
    // The operator's change, then three generations of policy writes; the third is not evaluated.
    expect(changes).toHaveLength(4);
    expect((await evaluations(tenantId)).map((r) => [r.outcome.status, r.outcome.depth])).toEqual([
      ["applied", 0],
      ["applied", 1],
      ["applied", 2],
      ["loop_guard", 3],
    ]);
    const state = await ctx.platform.systems.get(tenantId, 1);
    expect(state.version).toBe(s1.version + 4);
    expect(state.state).toEqual({ units: 3, touchedByPolicy: true });
  });

  it("raises an algedonic signal from a policy, stamped with its cause, to the tenant's alert channels", async () => {
    const tenantId = (
      await seedTenant(ctx.platform, { settings: { alerts: [{ channel: "event", to: "alerts" }] } })
    ).tenant.id;
    const p = await policy(tenantId, {
      on: ["custom.breach"],
      then: [{ type: "algedonic", severity: "pain", message: "Breach on {{event.data.host}}" }],
    });
    await start();
    const { seq } = await appendEvent(tenantId, "custom.breach", { host: "db-2" });
    const sent = await until(async () => {
      const rows = await events(tenantId, "notification.sent");
      return rows.length === 1 ? rows : undefined;
    }, "the alert to be delivered");
    const eventId = await publishedId(tenantId, seq);
    const causedBy = { policyId: p.id, eventId, depth: 1 };
    // The alert's event gets its public id when the publisher numbers it, which waits for older
    // transactions anywhere on the cluster: wait for that, not for a fixed time.
    const alerts = await until(async () => {
      const rows = await events(tenantId, "algedonic.alert");
      return rows.length === 1 && rows[0]?.id !== null ? rows : undefined;
    }, "the alert's event to be published");
    expect(alerts).toEqual([
      {
        id: expect.any(String),
        data: {
          severity: "pain",
          message: "Breach on db-2",
          source: { kind: "policy", policyId: p.id, eventId },
          causedBy,
          alertId: expect.any(String),
          unitId: (await ctx.platform.units.root(tenantId)).id,
        },
      },
    ]);
    expect(sent[0]?.data).toMatchObject({ channel: "event", target: "alerts", causedBy });
    const [n] = await notifications(tenantId);
    expect(n).toMatchObject({ idempotency_key: `algedonic:policy:${p.id}:${eventId}:0:0`, status: "sent" });
  });

  it("never fires a stored policy it does not understand; records why", async () => {
    const tenantId = await tenant();
    // Rules written around validation (an older version, a manual fix): the engine re-validates them.
    const raw = async (name: string, rules: unknown) =>
      withTenant(ctx.db, tenantId, (trx) =>
        trx
          .insertInto("policies")
          .values({ tenant_id: tenantId, name, rules: JSON.stringify(rules) })
          .returning("id")
          .executeTakeFirstOrThrow(),
      );
    const notify = { type: "notify", channel: "event", to: "x", template: "fired" };
    await raw("unknown operator", { on: ["custom.probe"], if: { eval: ["true"] }, then: [notify] });
    await raw("method operator", { on: ["custom.probe"], if: { method: ["x", "toString"] }, then: [notify] });
    await raw("unknown action", { on: ["custom.probe"], then: [{ type: "shell", command: "true" }] });
    await start();
    const { seq } = await appendEvent(tenantId, "custom.probe", {});
    await until(async () => (await evaluations(tenantId)).length === 3, "three evaluation records");

    for (const row of await evaluations(tenantId)) {
      expect(row.matched).toBe(false);
      expect(row.outcome).toMatchObject({ status: "error", errors: [expect.any(String)] });
    }
    expect(await events(tenantId, "policy.triggered")).toHaveLength(0);
    expect(await notifications(tenantId)).toHaveLength(0);
    expect(seq).toEqual(expect.any(String));
  });

  /**
   * Holds a lock on a system's state row with an uncommitted write while `during` runs, then commits: a
   * job that read the state before the commit meets a version conflict when it tries to write.
   */
  async function withConcurrentWriter(tenantId: string, during: () => Promise<void>): Promise<void> {
    await withTenant(ctx.db, tenantId, async (trx) => {
      await ctx.platform.systems.patchIn(trx, tenantId, 3, { byOperator: true });
      await during();
      // Commit only once the job is waiting for our row lock (it has read the old version by then).
      await until(async () => {
        const { rows } = await sql<{ n: number }>`
          select count(*)::int as n from pg_stat_activity
           where datname = current_database() and wait_event_type = 'Lock'
             and query ilike '%system_states%' and query ilike '%for update%'`.execute(ctx.db);
        return (rows[0]?.n ?? 0) > 0;
      }, "the job to wait for the row lock");
    });
  }

  it("retries a set_state that met a concurrent writer, without holding up the other policies", async () => {
    const tenantId = await tenant();
    const writer = await policy(
      tenantId,
      // Patches are applied as written (templates render in texts and publish data only).
      {
        on: ["custom.adjust"],
        then: [{ type: "set_state", system: 3, patch: { adjusted: "{{event.id}}" } }],
      },
      200,
    );
    const notifier = await policy(tenantId, {
      on: ["custom.adjust"],
      then: [{ type: "notify", channel: "event", to: "ops", template: "adjusting" }],
    });
    const s3 = await ctx.platform.systems.get(tenantId, 3);
    const { seq } = await appendEvent(tenantId, "custom.adjust", { system: 3 });
    const eventId = await publishedId(tenantId, seq);
    let jobId: string | null = null;
    await withConcurrentWriter(tenantId, async () => {
      await start({ dispatchPolicies: false });
      jobId = await queue.send("policy.evaluate", { tenantId, eventId });
    });
    const job = await until(async () => {
      const j = await queue.getJob(String(jobId));
      return j?.state === "completed" ? j : undefined;
    }, "the retried job");
    expect(job.attempts).toBe(2);

    const state = await ctx.platform.systems.get(tenantId, 3);
    expect(state.version).toBe(s3.version + 2);
    expect(state.state).toEqual({ byOperator: true, adjusted: "{{event.id}}" });
    const triggered = await events(tenantId, "policy.triggered");
    expect(triggered.map((e) => e.data.policyId).sort()).toEqual([writer.id, notifier.id].sort());
    expect(await notifications(tenantId)).toHaveLength(1);
    const rows = await evaluations(tenantId);
    expect(rows.map((r) => [r.policy_id, r.outcome.status]).sort()).toEqual(
      [
        [writer.id, "applied"],
        [notifier.id, "applied"],
      ].sort(),
    );
  });

  it("records a policy that failed on its last attempt as failed, with policy.triggered saying why", async () => {
    const tenantId = await tenant();
    const writer = await policy(tenantId, {
      on: ["custom.adjust"],
      then: [{ type: "set_state", system: 3, patch: { adjusted: true } }],
    });
    const { seq } = await appendEvent(tenantId, "custom.adjust", { system: 3 });
    const eventId = await publishedId(tenantId, seq);
    let jobId: string | null = null;
    await withConcurrentWriter(tenantId, async () => {
      await start({ dispatchPolicies: false });
      jobId = await queue.boss.send("policy.evaluate", { tenantId, eventId }, { retryLimit: 0 });
    });
    const job = await completedJob(String(jobId));
    expect(job.state).toBe("completed");
    expect(job.output).toMatchObject({ policies: [{ policyId: writer.id, status: "failed" }] });
    const [row] = await evaluations(tenantId);
    expect(row).toMatchObject({ policy_id: writer.id, matched: true, outcome: { status: "failed" } });
    expect(String(row?.outcome.error)).toContain("version");
    const triggered = await events(tenantId, "policy.triggered");
    expect(triggered).toHaveLength(1);
    expect(triggered[0]?.data).toMatchObject({ policyId: writer.id, eventId, outcome: { status: "failed" } });
    expect((await ctx.platform.systems.get(tenantId, 3)).state).toEqual({ byOperator: true });
  });
});
