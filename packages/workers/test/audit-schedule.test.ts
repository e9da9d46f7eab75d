/**
 * S3*'s schedule on real pg-boss: `audit.schedule` gives every active tenant (and no inactive one) an
 * `audit.run` at a random moment within the jitter, and `audit.run` stores a scheduled audit.
 */
import { sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { seedTenant } from "../../../test/factories/index.ts";
import { builtInJobs, type CyberneticQueue, startWorkers, type WorkerRuntime } from "../src/index.ts";
import { until } from "./support/fake-servers.ts";
import { useQueuePlatform } from "./support/queue-platform.ts";

describe("S3* audit schedule", () => {
  let queue: CyberneticQueue;
  const ctx = useQueuePlatform((q) => {
    queue = q;
  });
  let runtime: WorkerRuntime | undefined;
  afterEach(async () => {
    await runtime?.stop({ timeoutMs: 5_000 });
    runtime = undefined;
  });
  const finished = (id: string) =>
    until(async () => {
      const job = await queue.getJob(id);
      return job?.state === "completed" || job?.state === "failed" ? job : undefined;
    }, `job ${id}`);

  it("audits every active tenant, at once without jitter, and never an inactive one", async () => {
    const active = (await seedTenant(ctx.platform)).tenant.id;
    const inactive = (await seedTenant(ctx.platform)).tenant.id;
    await ctx.platform.tenants.deactivate(inactive);
    runtime = await startWorkers({
      platform: ctx.platform,
      queue,
      jobs: builtInJobs(),
      only: ["audit.schedule", "audit.run"],
      deps: { audits: { jitterSeconds: 0, sample: 5 } },
    });
    const tick = await finished(String(await queue.send("audit.schedule", {})));
    expect(tick.state).toBe("completed");
    const audits = await until(async () => {
      const page = await ctx.platform.audits.list(active);
      return page.items.length > 0 ? page.items : undefined;
    }, "the scheduled audit");
    expect(audits[0]).toMatchObject({ trigger: "scheduled", summary: { sample: 5 } });
    expect((await ctx.platform.audits.list(inactive)).items).toEqual([]);
    const { rows } = await sql<{ tenant: string }>`
      select data->>'tenantId' as tenant from pgboss.job where name = 'audit.run'`.execute(ctx.db);
    expect(rows.map((r) => r.tenant)).toContain(active);
    expect(rows.map((r) => r.tenant)).not.toContain(inactive);
  });

  it("spreads the tenants' audits over the jitter window", async () => {
    for (let i = 0; i < 6; i++) await seedTenant(ctx.platform);
    runtime = await startWorkers({
      platform: ctx.platform,
      queue,
      jobs: builtInJobs(),
      only: ["audit.schedule"],
      deps: { audits: { jitterSeconds: 3600 } },
    });
    const id = String(await queue.send("audit.schedule", {}));
    const tick = await finished(id);
    const { scheduled } = tick.output as { scheduled: number };
    expect(scheduled).toBeGreaterThanOrEqual(6);
    const { rows } = await sql<{ delay: number }>`
      select extract(epoch from start_after - created_on)::float8 as delay from pgboss.job
       where name = 'audit.run' and state = 'created' and created_on >= (select created_on from pgboss.job where id = ${id}::uuid)`.execute(
      ctx.db,
    );
    expect(rows).toHaveLength(scheduled);
    expect(rows.every((r) => r.delay >= -1 && r.delay <= 3601)).toBe(true);
    expect(new Set(rows.map((r) => Math.round(r.delay))).size).toBeGreaterThan(1);
  });
});
