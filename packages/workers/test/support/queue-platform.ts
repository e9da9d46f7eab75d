import { afterAll, beforeAll } from "vitest";
import { type TestPlatformContext, useTestPlatform } from "../../../../test/setup/database.ts";
import { type CyberneticQueue, createJobQueue } from "../../src/index.ts";

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
