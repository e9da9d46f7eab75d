import {
  CyberneticError,
  createEventBus,
  type EventBus,
  type JobName,
  type Logger,
  type Platform,
} from "@cybernetic/core";
import type { JobWithMetadata } from "pg-boss";
import { createPolicyDispatcher, type PolicyDispatcher } from "../policy/policy-dispatcher.js";
import type { CyberneticQueue } from "../queue/job-queue.js";
import { type AnyJobDefinition, RetryLaterError, type WorkerDependencies } from "./define-job.js";
import { JobRun, type JobRunScope } from "./internal/job-run.js";
import { createWakeUp } from "./internal/wake-up.js";
import { isRetryable } from "./retry-contract.js";

/** The outcome of one job attempt, for metrics. `deferred`: a `RetryLaterError` re-sent the job for later. */
export type JobOutcome = "completed" | "failed" | "dead_lettered" | "deferred";

/** Hooks the gateway uses to feed its metrics. */
export interface WorkerHooks {
  onJobFinished?(info: { name: JobName; outcome: JobOutcome; durationMs: number }): void;
}

/** Options of `startWorkers`. */
export interface StartWorkersOptions {
  platform: Platform;
  queue: CyberneticQueue;
  /** The jobs to run; default: every built-in job. */
  jobs: readonly AnyJobDefinition[];
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
  /**
   * When `policy.evaluate` runs here, the policy dispatcher turns published events into its jobs. It is
   * triggered by this event bus (the caller starts and stops it)…
   */
  bus?: EventBus;
  /**
   * …or, without `bus`, by one this runtime creates on `platform.db` with this LISTEN connection string,
   * and stops on `stop()`. With neither, the dispatcher's periodic pass alone drives it.
   */
  listenUrl?: string;
  /** Run the policy dispatcher when `policy.evaluate` is among the jobs. Default true. */
  dispatchPolicies?: boolean;
  /** The dispatcher's periodic pass, in ms. Default 2 000. */
  dispatchIntervalMs?: number;
  /**
   * Register the schedule of each job that declares one (`JobDefinition.schedule`; pg-boss cron, one job
   * per occurrence across all workers). Default true; turn it off where another process owns the
   * schedules.
   */
  schedules?: boolean;
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
 * Starts workers for the given jobs on the queue's pg-boss. A new job wakes one idle fetch loop through
 * LISTEN/NOTIFY (polling stays as a backstop); loops fetch in batches and settle each job on its own.
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
  const scope: JobRunScope = { platform, queue, deps, logger, controllers: new Set(), stopReason: undefined };
  const active = new Set<Promise<unknown>>();
  const workIds: { name: string; id: string }[] = [];
  const selected = options.jobs.filter((j) => !options.only || options.only.includes(j.name));
  const runs = (name: JobName) => selected.some((j) => j.name === name);
  const report = (name: JobName, outcome: JobOutcome, started: number) =>
    options.hooks?.onJobFinished?.({ name, outcome, durationMs: performance.now() - started });

  const runOne = async (definition: AnyJobDefinition, job: JobWithMetadata<unknown>): Promise<JobResult> => {
    const started = performance.now();
    const parsed = definition.schema.safeParse(job.data);
    if (!parsed.success) {
      new JobRun(scope, definition.name, job, undefined).logger.error(
        { issues: parsed.error.issues },
        "invalid job payload; dead-lettered",
      );
      report(definition.name, "dead_lettered", started);
      return {
        id: job.id,
        status: "deadletter",
        output: { message: "invalid payload", issues: parsed.error.issues },
      };
    }
    const run = new JobRun(scope, definition.name, job, (parsed.data as { tenantId?: string }).tenantId);
    const attempt = run.job.attempt;
    try {
      const output = await definition.handler(parsed.data as never, run);
      report(definition.name, "completed", started);
      return { id: job.id, status: "completed", output: output ?? {} };
    } catch (error) {
      const permanent = !isRetryable(error);
      const last = attempt > job.retryLimit;
      if (error instanceof RetryLaterError && !last) {
        try {
          const next = await queue.boss.send(definition.name, job.data as object, {
            startAfter: error.delaySeconds,
            priority: job.priority,
            retryLimit: Math.max(0, job.retryLimit - attempt),
            ...(job.singletonKey ? { singletonKey: job.singletonKey } : {}),
          });
          run.logger.info(
            { retryAfterSeconds: error.delaySeconds, continuedAs: next },
            `job deferred: ${error.message}`,
          );
          report(definition.name, "deferred", started);
          return {
            id: job.id,
            status: "completed",
            output: {
              status: "deferred",
              retryAfterSeconds: error.delaySeconds,
              continuedAs: next,
              message: error.message,
            },
          };
        } catch (sendError) {
          run.logger.warn({ err: sendError }, "could not defer the job; failing it for a normal retry");
        }
      }
      run.logger[permanent || last ? "error" : "warn"](
        { err: error, retryLimit: job.retryLimit },
        permanent
          ? "job failed permanently; dead-lettered"
          : last
            ? "job failed; retries exhausted"
            : "job failed; will retry",
      );
      report(definition.name, permanent || last ? "dead_lettered" : "failed", started);
      return { id: job.id, status: permanent ? "deadletter" : "failed", output: errorOutput(error) };
    } finally {
      run.release();
    }
  };

  // One pg-boss worker per fetch loop (localConcurrency 1), so the wake-up can wake them one at a time.
  const wakeUp = createWakeUp(queue.boss, queue.schema, logger);
  for (const definition of selected) {
    const batchSize = definition.policy.batchSize;
    for (let i = 0; i < (options.concurrency ?? 2); i++) {
      const loop = wakeUp.add(definition.name);
      loop.id = await queue.boss.work(
        definition.name,
        {
          includeMetadata: true,
          perJobResults: true,
          batchSize,
          localConcurrency: 1,
          burstWhenBatchFull: true,
          pollingIntervalSeconds: options.pollIntervalSeconds ?? 2,
        },
        async (jobs: JobWithMetadata<unknown>[]) => {
          loop.busy = true;
          // A full batch means more are waiting: another loop joins in.
          if (batchSize > 1 && jobs.length >= batchSize) wakeUp.wakeOne(definition.name);
          const batch = Promise.all(jobs.map((job) => runOne(definition, job)));
          active.add(batch);
          try {
            return await batch;
          } finally {
            active.delete(batch);
            loop.busy = false;
          }
        },
      );
      workIds.push({ name: definition.name, id: loop.id });
    }
  }

  if (options.schedules !== false) {
    for (const { name, schedule } of selected) {
      if (schedule) await queue.boss.schedule(name, schedule.cron, schedule.payload as object);
    }
  }

  let dispatcher: PolicyDispatcher | undefined;
  let ownBus: EventBus | undefined;
  if (runs("policy.evaluate") && options.dispatchPolicies !== false) {
    let bus = options.bus;
    if (!bus && options.listenUrl) {
      ownBus = createEventBus({ db: platform.db, listenUrl: options.listenUrl, logger });
      await ownBus.start();
      bus = ownBus;
    }
    dispatcher = createPolicyDispatcher({ db: platform.db, queue, logger });
    dispatcher.start({
      ...(bus ? { bus } : {}),
      ...(options.dispatchIntervalMs === undefined ? {} : { intervalMs: options.dispatchIntervalMs }),
    });
  }
  // Last, so that nothing above can fail after the LISTEN is open (the loops poll until then).
  await wakeUp.start();
  logger.info({ jobs: selected.map((j) => j.name), dispatcher: dispatcher !== undefined }, "workers started");

  return {
    get inFlight() {
      return active.size;
    },
    async stop(stopOptions = {}) {
      const timeoutMs = stopOptions.timeoutMs ?? 30_000;
      // Stop handing out new work first; a pass in progress finishes (it is one short transaction).
      await dispatcher?.stop();
      await ownBus?.stop();
      await wakeUp.stop();
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
        scope.stopReason = new Error("worker stopping");
        for (const controller of scope.controllers) controller.abort(scope.stopReason);
        await Promise.race([Promise.allSettled([...active]), new Promise((r) => setTimeout(r, 1000))]);
      }
      logger.info({ timedOut }, "workers stopped");
      return { timedOut };
    },
  };
}
