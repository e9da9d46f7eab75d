/**
 * An in-memory job queue for the gateway tests: it implements core's `JobQueue` (what the platform
 * enqueues with) and the gateway's `GatewayQueue` (job look-ups, readiness, depths). It stands in for
 * `@cybernetic/workers`' pg-boss queue, which the gateway only knows through those interfaces; tests that
 * need real jobs use `createJobQueue` from the workers package instead.
 */
import { randomUUID } from "node:crypto";
import type { JobName, JobPayloads, JobQueue } from "../../../core/src/index.ts";
import type { GatewayJob, GatewayQueue } from "../../src/index.ts";

export interface RecordingQueue extends JobQueue, GatewayQueue {
  jobs: Map<string, GatewayJob>;
  /** Make `check()` fail with this message (readiness tests); undefined to recover. */
  failing: string | undefined;
}

export function createRecordingQueue(): RecordingQueue {
  const jobs = new Map<string, GatewayJob>();
  const queue: RecordingQueue = {
    jobs,
    failing: undefined,
    async enqueue<N extends JobName>(_trx: unknown, name: N, payload: JobPayloads[N]) {
      const id = randomUUID();
      jobs.set(id, {
        id,
        name,
        state: "created",
        priority: 0,
        attempts: 0,
        retryLimit: 3,
        createdAt: new Date().toISOString(),
        startedAt: null,
        completedAt: null,
        output: null,
        tenantId: (payload as { tenantId?: string }).tenantId ?? null,
      });
      return id;
    },
    async getJob(id) {
      return jobs.get(id) ?? null;
    },
    async check() {
      if (queue.failing) throw new Error(queue.failing);
    },
    async depths() {
      const depths: Record<string, number> = {};
      for (const job of jobs.values())
        if (job.state === "created") depths[job.name] = (depths[job.name] ?? 0) + 1;
      return depths;
    },
  };
  return queue;
}
