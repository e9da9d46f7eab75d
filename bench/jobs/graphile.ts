/**
 * The jobs benchmark's graphile-worker peer (0.18): a runner over its own schema on the same database,
 * silent, with the task list handed in. Two configurations, both from graphile-worker's documentation:
 * - `unbatched`: each of `concurrentJobs` workers fetches (`get_job`) and completes (`complete_job`)
 *   one job per round trip, the default mode; `maxPoolSize` as its docs advise (`concurrentJobs + 2`,
 *   at least 10).
 * - `batched`: the local queue (`localQueue.size`: one fetch locks a batch that the workers drain) and
 *   batched completion (`completeJobBatchDelay: 0`, `failJobBatchDelay: 0`), the settings of its
 *   performance page.
 */
import { Logger, makeWorkerUtils, type Runner, run, type TaskList, type WorkerUtils } from "graphile-worker";
import type pg from "pg";

/** Which of graphile-worker's two modes. */
export type GraphileMode = "unbatched" | "batched";

/** Options of `startGraphile`. */
export interface GraphileOptions {
  connectionString: string;
  mode: GraphileMode;
  concurrentJobs: number;
  /** The local queue's size in batched mode. */
  localQueueSize: number;
  taskList: TaskList;
}

const silent = new Logger(() => () => {});

/** Starts a runner; resolves once it is listening for jobs. */
export function startGraphile(options: GraphileOptions): Promise<Runner> {
  const batched = options.mode === "batched";
  return run({
    connectionString: options.connectionString,
    concurrency: options.concurrentJobs,
    noHandleSignals: true,
    pollInterval: 2000,
    logger: silent,
    taskList: options.taskList,
    crontab: "",
    preset: {
      worker: {
        maxPoolSize: Math.max(10, options.concurrentJobs + 2),
        ...(batched
          ? {
              localQueue: { size: options.localQueueSize },
              completeJobBatchDelay: 0,
              failJobBatchDelay: 0,
            }
          : {}),
      },
    },
  });
}

/** Worker utils (addJob, addJobs, migrations) on their own small pool. */
export function graphileUtils(connectionString: string): Promise<WorkerUtils> {
  return makeWorkerUtils({ connectionString, logger: silent });
}

/** Adds `count` jobs of `task` in chunks of 1,000 (one `add_jobs` call each). */
export async function addGraphileJobs(utils: WorkerUtils, task: string, count: number): Promise<void> {
  for (let i = 0; i < count; i += 1_000) {
    await utils.addJobs(
      Array.from({ length: Math.min(1_000, count - i) }, (_, k) => ({
        identifier: task,
        payload: { i: i + k },
      })),
    );
  }
}

/** Jobs of `task` not yet completed (graphile-worker deletes a job when it completes). */
export async function graphileBacklog(pool: pg.Pool, task: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `select count(*)::int as n from graphile_worker._private_jobs j
       join graphile_worker._private_tasks t on t.id = j.task_id
      where t.identifier = $1`,
    [task],
  );
  return rows[0]?.n ?? 0;
}
