/**
 * The workers' wake-up on real PostgreSQL and pg-boss: pg-boss's inserts notify on the channel the
 * runtime listens to; a new job wakes one idle fetch loop (not every loop of its queue) and starts long
 * before the polling interval; a burst spreads over the loops; a job sent while every loop is busy
 * starts as soon as one finishes.
 */
import { sql } from "kysely";
import pg from "pg";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { until } from "../../../test/support/until.ts";
import { jsonObjectSchema } from "../../core/src/index.ts";
import {
  type CyberneticQueue,
  createJobQueue,
  defineJob,
  episodeAnalyzeJob,
  QUEUE_SCHEMA,
  startWorkers,
  type WorkerRuntime,
} from "../src/index.ts";
import { notifyChannel } from "../src/runtime/internal/wake-up.ts";
import { createHostQueues, useQueuePlatform } from "./support/queue-platform.ts";

declare module "../../core/src/jobs.ts" {
  interface JobPayloads {
    /** Test only: a job whose handler the test controls. */
    "test.wake": Record<string, unknown>;
  }
}

const NAME = "test.wake";
/** Far longer than any wait below: a job that starts in time was woken, not polled. */
const POLL_SECONDS = 30;
const FETCH = "FOR UPDATE OF j SKIP LOCKED";

let queue: CyberneticQueue;
const ctx = useQueuePlatform((q) => {
  queue = q;
});

beforeAll(async () => {
  await createHostQueues(ctx, [NAME], { notify: true, retryLimit: 0 });
});

let runtime: WorkerRuntime | undefined;
afterEach(async () => {
  await runtime?.stop({ timeoutMs: 5_000 });
  runtime = undefined;
  await queue.boss.deleteAllJobs(NAME);
});

/** Counts pg-boss's fetches of the test queue from now on (a spy on pg-boss's own connection). */
function countFetches(): { readonly count: number; stop(): void } {
  const db = queue.boss.getDb() as { executeSql(text: unknown, ...rest: unknown[]): Promise<unknown> };
  const original = db.executeSql;
  let count = 0;
  db.executeSql = (text, ...rest) => {
    if (typeof text === "string" && text.includes(FETCH) && text.includes(`'${NAME}'`)) count += 1;
    return original.call(db, text, ...rest);
  };
  return {
    get count() {
      return count;
    },
    stop() {
      db.executeSql = original;
    },
  };
}

async function start(
  handler: (payload: Record<string, unknown>) => Promise<void>,
  options: { concurrency: number; batchSize: number },
) {
  runtime = await startWorkers({
    platform: ctx.platform,
    queue,
    jobs: [
      defineJob({
        name: NAME,
        schema: jsonObjectSchema,
        policy: { ...episodeAnalyzeJob.policy, retryLimit: 0, batchSize: options.batchSize },
        async handler(payload) {
          await handler(payload);
          return undefined;
        },
      }),
    ],
    concurrency: options.concurrency,
    pollIntervalSeconds: POLL_SECONDS,
    schedules: false,
  });
}

describe("the workers' wake-up", () => {
  it("listens where pg-boss's inserts notify: the channel of the queue's schema, the queue's name as payload", async () => {
    const listener = new pg.Client({ connectionString: ctx.database.directUrl });
    await listener.connect();
    try {
      const payloads: string[] = [];
      listener.on("notification", (message) => {
        if (message.payload !== undefined) payloads.push(message.payload);
      });
      await listener.query(`LISTEN "${notifyChannel(QUEUE_SCHEMA)}"`);
      await queue.send(NAME, { n: 1 });
      expect(await until(() => payloads.includes(NAME), "the insert's notification")).toBe(true);
    } finally {
      await listener.end();
    }
  });

  it("starts each new job long before the 30 s poll, with one fetch, not one per loop", async () => {
    const started: number[] = [];
    const fetches = countFetches();
    try {
      await start(
        async (payload) => {
          started.push(Number(payload.n));
        },
        { concurrency: 4, batchSize: 5 },
      );
      // Every loop fetches when it starts and once more when the LISTEN is up: count from when they
      // have all gone quiet.
      let last = -1;
      await until(async () => {
        const quiet = fetches.count === last;
        last = fetches.count;
        await new Promise((resolve) => setTimeout(resolve, 300));
        return quiet && last >= 4;
      }, "the loops' first fetches");
      const before = fetches.count;
      for (let n = 0; n < 10; n++) {
        await queue.send(NAME, { n });
        await until(() => started.includes(n), `job ${n} to start (woken, not polled)`, 10_000);
      }
      expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      // One fetch per job (a lost race or a reconnect may add one); waking every loop made it 40.
      const used = fetches.count - before;
      expect(used).toBeGreaterThanOrEqual(10);
      expect(used).toBeLessThanOrEqual(14);
    } finally {
      fetches.stop();
    }
  });

  it("spreads a burst of jobs, announced by one notification, over more than one loop", async () => {
    let running = 0;
    let peak = 0;
    let done = 0;
    await start(
      async () => {
        running += 1;
        peak = Math.max(peak, running);
        await new Promise((resolve) => setTimeout(resolve, 200));
        running -= 1;
        done += 1;
      },
      { concurrency: 4, batchSize: 5 },
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    // One insert statement: pg-boss sends one notification for all 40.
    await queue.boss.insert(
      NAME,
      Array.from({ length: 40 }, (_, n) => ({ data: { n } })),
    );
    await until(() => done === 40, "all 40 jobs", 15_000);
    // A loop runs its batch of 5 at once: more than 5 at once means a full batch woke another loop.
    expect(peak).toBeGreaterThan(5);
  });

  it("closes its LISTEN connection when the queue stops, even without the runtime's stop()", async () => {
    const own = createJobQueue({ connectionString: ctx.database.directUrl, poolSize: 1 });
    await own.start();
    const listening = async () =>
      (
        await ctx.db
          .selectNoFrom(
            sql<number>`(select count(*)::int from pg_stat_activity
              where application_name = 'cybernetic-queue' and (query like ${`LISTEN "${notifyChannel(QUEUE_SCHEMA)}"%`}
                or query like '%pg_listening_channels%'))`.as("n"),
          )
          .executeTakeFirstOrThrow()
      ).n;
    const before = await listening();
    await startWorkers({
      platform: ctx.platform,
      queue: own,
      jobs: [],
      schedules: false,
    });
    await until(async () => (await listening()) === before + 1, "the LISTEN connection");
    await own.stop({ graceful: false });
    await until(async () => (await listening()) === before, "the LISTEN connection to close");
    expect(await listening()).toBe(before);
  });

  it("starts a job sent while every loop is busy as soon as one of them finishes", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const started: number[] = [];
    await start(
      async (payload) => {
        started.push(Number(payload.n));
        if (payload.n === 1) await gate;
      },
      { concurrency: 1, batchSize: 1 },
    );
    await queue.send(NAME, { n: 1 });
    await until(() => started.includes(1), "the first job");
    await queue.send(NAME, { n: 2 });
    // The only loop is busy: the second job waits for it, not for the 30 s poll.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(started).toEqual([1]);
    release();
    await until(() => started.includes(2), "the second job (woken, not polled)", 10_000);
    expect(started).toEqual([1, 2]);
  });
});
