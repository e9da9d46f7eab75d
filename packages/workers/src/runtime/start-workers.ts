import { CyberneticError, type JobName, type Logger, type Platform, withTenant } from "@cybernetic/core";
import type { JobWithMetadata } from "pg-boss";
import type { CyberneticQueue } from "../queue/job-queue.js";
import {
  type JobContext,
  type JobDefinition,
  PermanentJobError,
  type WorkerDependencies,
} from "./define-job.js";

/** The outcome of one job attempt, for metrics. */
export type JobOutcome = "completed" | "failed" | "dead_lettered";

/** Hooks the gateway uses to feed its metrics. */
export interface WorkerHooks {
  onJobFinished?(info: { name: JobName; outcome: JobOutcome; durationMs: number }): void;
}

/** Options of `startWorkers`. */
export interface StartWorkersOptions {
  platform: Platform;
  queue: CyberneticQueue;
  /** The jobs to run; default: every built-in job. */
  jobs: readonly JobDefinition[];
  /** Run only these job names. */
  only?: readonly JobName[];
  /** Parallel fetch loops per queue. Default 2. */
  concurrency?: number;
  /**
   * Polling backstop in seconds. New jobs wake workers at once through LISTEN/NOTIFY, but retries and
   * delayed jobs become due without a notification, so this bounds their extra wait. Default 2.
   */
  pollIntervalSeconds?: number;
  logger?: Logger;
  hooks?: WorkerHooks;
  deps?: WorkerDependencies;
}

/** Running workers. */
export interface WorkerRuntime {
  /**
   * Stops fetching, lets in-flight jobs finish for up to `timeoutMs` (default 30 s), then aborts what is
   * left (those jobs are retried elsewhere once their heartbeat lapses).
   */
  stop(options?: { timeoutMs?: number }): Promise<{ timedOut: boolean }>;
  /** Jobs running right now. */
  readonly inFlight: number;
}

interface JobResult {
  id: string;
  status: "completed" | "failed" | "deadletter";
  output?: object;
}

function errorOutput(error: unknown): object {
  if (CyberneticError.isInstance(error))
    return { message: error.message, code: error.code, details: error.details };
  if (error instanceof Error) return { message: error.message, name: error.name };
  return { message: String(error) };
}

/**
 * Starts workers for the given jobs on the queue's pg-boss. Workers wake on LISTEN/NOTIFY (polling stays
 * as a backstop), fetch in batches and settle each job on its own.
 *
 * @example
 * ```ts
 * const workers = await startWorkers({ platform, queue, jobs: builtInJobs(), deps: { analyzer } });
 * process.on("SIGTERM", () => workers.stop({ timeoutMs: 10_000 }));
 * ```
 */
export async function startWorkers(options: StartWorkersOptions): Promise<WorkerRuntime> {
  const { platform, queue } = options;
  const logger = options.logger ?? queue.logger;
  const deps = options.deps ?? {};
  const stopping = new AbortController();
  const active = new Set<Promise<unknown>>();
  const workIds: { name: string; id: string }[] = [];
  const selected = options.jobs.filter((j) => !options.only || options.only.includes(j.name));

  const runOne = async (definition: JobDefinition, job: JobWithMetadata<unknown>): Promise<JobResult> => {
    const started = performance.now();
    const attempt = job.retryCount + 1;
    const log = logger.child?.({ jobId: job.id, job: definition.name, attempt }) ?? logger;
    const finish = (outcome: JobResult, label: "completed" | "failed" | "dead_lettered") => {
      options.hooks?.onJobFinished?.({
        name: definition.name,
        outcome: label,
        durationMs: performance.now() - started,
      });
      return outcome;
    };
    const parsed = definition.schema.safeParse(job.data);
    if (!parsed.success) {
      log.error({ issues: parsed.error.issues }, "invalid job payload; dead-lettered");
      return finish(
        {
          id: job.id,
          status: "deadletter",
          output: { message: "invalid payload", issues: parsed.error.issues },
        },
        "dead_lettered",
      );
    }
    const payload = parsed.data as { tenantId?: string };
    const signal = AbortSignal.any([job.signal, stopping.signal]);
    const context: JobContext = {
      job: { id: job.id, name: definition.name, attempt, retryLimit: job.retryLimit },
      signal,
      logger: log,
      platform,
      queue,
      deps,
      withTenant: (fn) => {
        if (!payload.tenantId) throw new PermanentJobError("this job's payload names no tenant");
        return withTenant(platform.db, payload.tenantId, fn);
      },
    };
    try {
      const output = await definition.handler(parsed.data as never, context);
      log.debug({ durationMs: Math.round(performance.now() - started) }, "job completed");
      return finish({ id: job.id, status: "completed", output: output ?? {} }, "completed");
    } catch (error) {
      const permanent = error instanceof PermanentJobError;
      const last = attempt > job.retryLimit;
      log[permanent || last ? "error" : "warn"](
        { err: error, retryLimit: job.retryLimit },
        permanent
          ? "job failed permanently; dead-lettered"
          : last
            ? "job failed; retries exhausted"
            : "job failed; will retry",
      );
      return finish(
        { id: job.id, status: permanent ? "deadletter" : "failed", output: errorOutput(error) },
        permanent || last ? "dead_lettered" : "failed",
      );
    }
  };

  for (const definition of selected) {
    const id = await queue.boss.work(
      definition.name,
      {
        includeMetadata: true,
        perJobResults: true,
        batchSize: definition.batchSize ?? 20,
        localConcurrency: options.concurrency ?? 2,
        burstWhenBatchFull: true,
        pollingIntervalSeconds: options.pollIntervalSeconds ?? 2,
        notifyPollingIntervalSeconds: options.pollIntervalSeconds ?? 2,
      },
      async (jobs: JobWithMetadata<unknown>[]) => {
        const batch = Promise.all(jobs.map((job) => runOne(definition, job)));
        active.add(batch);
        try {
          return await batch;
        } finally {
          active.delete(batch);
        }
      },
    );
    workIds.push({ name: definition.name, id });
  }
  logger.info({ jobs: selected.map((j) => j.name) }, "workers started");

  return {
    get inFlight() {
      return active.size;
    },
    async stop(stopOptions = {}) {
      const timeoutMs = stopOptions.timeoutMs ?? 30_000;
      const drained = Promise.all(workIds.map((w) => queue.boss.offWork(w.name, { id: w.id, wait: true })));
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        drained.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        logger.warn(
          { inFlight: active.size, timeoutMs },
          "workers: stop deadline reached; aborting in-flight jobs",
        );
        stopping.abort(new Error("worker stopping"));
        await Promise.race([Promise.allSettled([...active]), new Promise((r) => setTimeout(r, 1000))]);
      }
      logger.info({ timedOut }, "workers stopped");
      return { timedOut };
    },
  };
}
