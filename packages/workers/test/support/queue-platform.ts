import { PgBoss, type Queue } from "pg-boss";
import { afterAll, beforeAll } from "vitest";
import { type TestPlatformContext, useTestPlatform } from "../../../../test/setup/database.ts";
import {
  builtInJobs,
  type CyberneticQueue,
  createJobQueue,
  QUEUE_SCHEMA,
  startWorkers,
  type WorkerRuntime,
} from "../../src/index.ts";
import { until } from "./fake-servers.ts";

/**
 * A test platform whose services enqueue into a real pg-boss queue on the file's own database. The queue
 * is started before the file's `beforeAll` hooks and stopped after its `afterAll` hooks; `onQueue`
 * receives it as soon as it exists. Maintenance runs every 2 s so retries and heartbeats are quick.
 */
export function useQueuePlatform(
  onQueue: (queue: CyberneticQueue) => void,
  options: { poolSize?: number } = {},
): TestPlatformContext {
  let queue: CyberneticQueue | undefined;
  const ctx = useTestPlatform({
    queue: (database) => {
      queue = createJobQueue({
        connectionString: database.directUrl,
        poolSize: options.poolSize ?? 4,
        maintenanceIntervalSeconds: 2,
      });
      onQueue(queue);
      return queue;
    },
  });
  beforeAll(async () => {
    await queue?.start();
  });
  afterAll(async () => {
    await queue?.stop({ graceful: false });
  });
  return ctx;
}

/**
 * Starts the workers with only `policy.evaluate` on the context's queue, and waits for the dispatcher's
 * cursor: it starts at the newest published event, so events written before it exists are never seen.
 */
export async function startPolicyWorkers(
  ctx: TestPlatformContext,
  queue: CyberneticQueue,
): Promise<WorkerRuntime> {
  const runtime = await startWorkers({
    platform: ctx.platform,
    queue,
    jobs: builtInJobs(),
    only: ["policy.evaluate"],
    listenUrl: ctx.database.appUrl,
  });
  await until(
    async () =>
      (await ctx.db
        .selectFrom("event_consumers")
        .select("name")
        .where("name", "=", "policy")
        .executeTakeFirst()) !== undefined,
    "the dispatcher's cursor",
  );
  return runtime;
}

/**
 * Creates a host's own queues as the owner role, as a host would (installQueue only creates the built-in
 * ones), with `options` (pg-boss's queue options) on each.
 */
export async function createHostQueues(
  ctx: TestPlatformContext,
  names: readonly string[],
  options: Omit<Queue, "name"> = {},
): Promise<void> {
  const owner = new PgBoss({
    connectionString: ctx.database.ownerUrl,
    schema: QUEUE_SCHEMA,
    migrate: false,
    supervise: false,
    schedule: false,
  });
  owner.on("error", () => {});
  await owner.start();
  try {
    for (const name of names) await owner.createQueue(name, options);
  } finally {
    await owner.stop({ graceful: false });
  }
}
