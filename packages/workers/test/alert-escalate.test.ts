/**
 * The `alert.escalate` job on real pg-boss: it is scheduled (cron, once across workers), climbs an
 * unacknowledged alert one level per escalation window of the platform's clock (moved by hand, never
 * slept on), and a restart of the workers neither loses a step nor repeats one.
 */
import { sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { seedTenant } from "../../../test/factories/index.ts";
import { createPlatform, withTenant } from "../../core/src/index.ts";
import { builtInJobs, type CyberneticQueue, startWorkers, type WorkerRuntime } from "../src/index.ts";
import { until } from "./support/fake-servers.ts";
import { useQueuePlatform } from "./support/queue-platform.ts";

describe("alert escalation job", () => {
  let queue: CyberneticQueue;
  const ctx = useQueuePlatform((q) => {
    queue = q;
  });
  let runtime: WorkerRuntime | undefined;
  afterEach(async () => {
    await runtime?.stop({ timeoutMs: 5_000 });
    runtime = undefined;
  });

  let now = Date.parse("2026-04-01T00:00:00.000Z");
  const clock = () => new Date(now);
  const platform = () => createPlatform({ db: ctx.db, queue, clock });
  const start = async () => {
    runtime = await startWorkers({
      platform: platform(),
      queue,
      jobs: builtInJobs(),
      only: ["alert.escalate"],
    });
  };
  /** Runs one `alert.escalate` job through the workers and waits for it to finish. */
  const runJob = async () => {
    const id = String(await queue.send("alert.escalate", {}));
    const job = await until(async () => {
      const found = await queue.getJob(id);
      return found?.state === "completed" || found?.state === "failed" ? found : undefined;
    }, "the escalation job");
    expect(job.state).toBe("completed");
    return job.output as { escalated: number };
  };

  it("is scheduled every minute, climbs per window, and neither loses nor repeats a step across a restart", async () => {
    const tenantId = (
      await seedTenant(ctx.platform, { settings: { alerts: [{ channel: "event", to: "board" }] } })
    ).tenant.id;
    const root = await ctx.platform.units.root(tenantId);
    const area = await ctx.platform.units.create(tenantId, {
      name: "Area",
      slug: "area",
      escalationSeconds: 600,
      alerts: [{ channel: "event", to: "area" }],
    });
    const cell = await ctx.platform.units.create(tenantId, {
      name: "Cell",
      slug: "cell",
      parentId: area.id,
      escalationSeconds: 60,
    });
    const { alert } = await platform().alerts.raise(tenantId, { message: "cell down", unitId: cell.id });
    await start();
    const { rows: schedules } = await sql<{ cron: string }>`
      select cron from pgboss.schedule where name = 'alert.escalate'`.execute(ctx.db);
    expect(schedules.map((s) => s.cron)).toEqual(["* * * * *"]);

    const level = async () => (await ctx.platform.alerts.get(tenantId, alert.id)).levelUnitId;
    await runJob();
    expect(await level()).toBe(cell.id);
    now += 60_000;
    await runJob();
    expect(await level()).toBe(area.id);

    // A restart: new workers, the same clock. The step already taken is not taken again.
    await runtime?.stop({ timeoutMs: 5_000 });
    await start();
    await runJob();
    await runJob();
    expect(await level()).toBe(area.id);
    now += 600_000;
    await runJob();
    expect(await ctx.platform.alerts.get(tenantId, alert.id)).toMatchObject({
      levelUnitId: root.id,
      escalationStep: 2,
      nextEscalationAt: null,
    });
    const escalated = await withTenant(ctx.db, tenantId, (trx) =>
      trx
        .selectFrom("events")
        .select("data")
        .where("type", "=", "algedonic.escalated")
        .orderBy("seq")
        .execute(),
    );
    expect(escalated.map((e) => e.data.step)).toEqual([1, 2]);
    // Each step notified its level once, and its delivery job was enqueued with it.
    const sent = await withTenant(ctx.db, tenantId, (trx) =>
      trx.selectFrom("notifications").select(["id", "target"]).orderBy("created_at").execute(),
    );
    expect(sent.map((n) => n.target)).toEqual(["area", "board"]);
    const { rows: jobs } = await sql<{ n: number }>`
      select count(*)::int as n from pgboss.job
       where name = 'notification.send' and data->>'notificationId' = any(${sent.map((n) => n.id)}::text[])`.execute(
      ctx.db,
    );
    expect(jobs[0]?.n).toBe(2);
  });
});
