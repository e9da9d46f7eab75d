/**
 * A job definition is everything about a job: adding one is its file (name, payload schema, queue
 * policy, optional schedule, handler) plus its line in a list. Here a host's job goes through the real
 * `installQueue` and `startWorkers` on pg-boss with nothing else written: its queue and dead-letter
 * queue get its policy, its schedule is registered, and it runs. The built-in job names are derived
 * from the built-in list.
 */
import { beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import { z } from "zod";
import { seedTenant } from "../../../test/factories/index.ts";
import { until } from "../../../test/support/until.ts";
import {
  type BuiltInJobName,
  builtInJobs,
  type CyberneticQueue,
  createJobQueue,
  deadLetterQueue,
  defineJob,
  installQueue,
  jobNames,
  queuePolicyOf,
  startWorkers,
} from "../src/index.ts";
import { useQueuePlatform } from "./support/queue-platform.ts";

declare module "../../core/src/jobs.ts" {
  interface JobPayloads {
    /** Test only: a host's own job, registered as a host registers one. */
    "test.report.render": { tenantId: string; reportId: string };
  }
}

/** The host's job: one definition, one file in a real host. */
const renderReportJob = defineJob({
  name: "test.report.render",
  schema: z.object({ tenantId: z.uuid(), reportId: z.string().min(1) }).strict(),
  policy: {
    retryLimit: 1,
    retryDelay: 1,
    retryDelayMax: 5,
    expireInSeconds: 60,
    heartbeatSeconds: 10,
    priority: "low",
    batchSize: 5,
    deadLetterRetentionDays: 3,
  },
  schedule: {
    cron: "0 3 * * *",
    payload: { tenantId: "00000000-0000-4000-8000-000000000000", reportId: "nightly" },
  },
  async handler({ reportId }) {
    return { rendered: reportId };
  },
});

describe("job definitions", () => {
  let queue: CyberneticQueue;
  const ctx = useQueuePlatform((q) => {
    queue = q;
  });
  let tenantId: string;
  beforeAll(async () => {
    tenantId = (await seedTenant(ctx.platform)).tenant.id;
  });

  it("derives the built-in job names from the built-in list", () => {
    expectTypeOf<BuiltInJobName>().toEqualTypeOf<
      | "episode.analyze"
      | "policy.evaluate"
      | "notification.send"
      | "telegram.update"
      | "housekeeping"
      | "alert.escalate"
      | "audit.run"
      | "audit.schedule"
    >();
    expect(jobNames).toEqual(builtInJobs().map((job) => job.name));
    for (const job of builtInJobs()) expect(queuePolicyOf(job.name)).toBe(job.policy);
    expect(queuePolicyOf("test.report.render")).toBeUndefined();
  });

  it("creates each built-in queue and its dead-letter queue with the definition's policy", async () => {
    for (const job of builtInJobs()) {
      const created = await queue.boss.getQueue(job.name);
      expect(created, job.name).toMatchObject({
        retryLimit: job.policy.retryLimit,
        retryDelay: job.policy.retryDelay,
        retryDelayMax: job.policy.retryDelayMax,
        expireInSeconds: job.policy.expireInSeconds,
        deadLetter: deadLetterQueue(job.name),
        // Telegram updates run one at a time per chat, oldest first.
        policy: job.policy.orderedByKey ? "key_strict_fifo" : "standard",
      });
      const dead = await queue.boss.getQueue(deadLetterQueue(job.name));
      expect(dead?.deleteAfterSeconds, job.name).toBe(job.policy.deadLetterRetentionDays * 86400);
    }
  });

  it("installs, schedules and runs a host's job from its definition alone", async () => {
    await installQueue(ctx.database.ownerUrl, { jobs: [renderReportJob] });
    expect(await queue.boss.getQueue("test.report.render")).toMatchObject({
      retryLimit: 1,
      expireInSeconds: 60,
      deadLetter: "test.report.render.dead",
    });
    expect((await queue.boss.getQueue("test.report.render.dead"))?.deleteAfterSeconds).toBe(3 * 86400);

    // The host's queue client knows its jobs too (their default priority).
    const hostQueue = createJobQueue({
      connectionString: ctx.database.directUrl,
      jobs: [...builtInJobs(), renderReportJob],
    });
    await hostQueue.start();
    const runtime = await startWorkers({ platform: ctx.platform, queue: hostQueue, jobs: [renderReportJob] });
    try {
      const schedules = await queue.boss.getSchedules("test.report.render");
      expect(schedules.map((s) => [s.cron, s.data])).toEqual([
        ["0 3 * * *", renderReportJob.schedule?.payload],
      ]);
      const id = await hostQueue.send("test.report.render", { tenantId, reportId: "q3" });
      const job = await until(async () => {
        const found = await queue.getJob(id as string);
        return found?.state === "completed" ? found : undefined;
      }, "the host's job to run");
      expect(job).toMatchObject({ name: "test.report.render", priority: 0, output: { rendered: "q3" } });
    } finally {
      await runtime.stop();
      await queue.boss.unschedule("test.report.render");
      await hostQueue.stop({ graceful: false });
    }
  });
});
