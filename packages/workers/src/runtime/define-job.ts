import type { JobName, JobPayloads, JsonObject, Logger, Platform, TenantTransaction } from "@cybernetic/core";
import type { z } from "zod";
import type { CyberneticQueue } from "../queue/job-queue.js";
import type { QueuePolicy } from "../queue/queues.js";

/** What a job handler receives beside its payload. */
export interface JobContext {
  /** The job being run. `attempt` starts at 1. */
  job: { id: string; name: JobName; attempt: number; retryLimit: number };
  /** Aborted when the worker is stopping past its deadline or the job expires. */
  signal: AbortSignal;
  logger: Logger;
  platform: Platform;
  queue: CyberneticQueue;
  /** Runs `fn` in a transaction scoped to the payload's tenant (when the payload names one). */
  withTenant<T>(fn: (trx: TenantTransaction) => Promise<T>): Promise<T>;
  /** Job-specific dependencies handed to `startWorkers` (analyzer, notifiers, fetch…). */
  deps: WorkerDependencies;
  /**
   * Whether the runtime will try this job again if the handler throws `error`: false when the error is
   * permanent (`retryable: false`, see `isRetryable`) or this is the last attempt. A handler records a
   * final failure (an episode's `failed` status, a notification's) when this is false.
   */
  willRetry(error: unknown): boolean;
}

/**
 * Dependencies of the built-in jobs. Each job reads what it needs; hosts can extend this interface by
 * declaration merging for their own jobs.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by the jobs' modules through declaration merging
export interface WorkerDependencies {}

/** A recurring job: pg-boss sends `payload` on every occurrence of `cron`, once across all workers. */
export interface JobSchedule<P> {
  /** A five-field cron expression (UTC), e.g. `*​/15 * * * *` for every 15 minutes. */
  cron: string;
  payload: P;
}

/**
 * A job: everything about it in one place. Its name (a key of core's `JobPayloads`), payload schema,
 * queue policy, optional schedule and handler. `installQueue` creates its queue from `policy`,
 * `startWorkers` works it with `policy.batchSize` and schedules it when `schedule` is set.
 */
export interface JobDefinition<N extends JobName = JobName> {
  name: N;
  /** Validates the payload; an invalid payload goes straight to the dead-letter queue (no retries). */
  schema: z.ZodType<JobPayloads[N]>;
  /** Retries, backoff, expiry, heartbeat, priority, batch size and dead-letter retention. */
  policy: QueuePolicy;
  /** Run on a cron schedule as well as when enqueued. */
  schedule?: JobSchedule<JobPayloads[N]>;
  /**
   * Returns the job's output (stored by pg-boss, shown by `GET /v1/jobs/:id`). Throw to retry; throw an
   * error with `retryable: false` to dead-letter the job at once.
   */
  handler(payload: JobPayloads[N], context: JobContext): Promise<JsonObject | undefined>;
}

/** A definition of any registered job: a list of jobs is `readonly AnyJobDefinition[]`, with no cast. */
export type AnyJobDefinition = { [N in JobName]: JobDefinition<N> }[JobName];

/**
 * Thrown by a handler for a failure that retrying cannot fix (bad data, a permanently refused request):
 * the job goes to its dead-letter queue at once. Any error with `retryable: false` does the same (see
 * `isRetryable`); this class is for failures that have no error class of their own.
 *
 * @example
 * ```ts
 * throw new PermanentJobError("webhook URL resolves to a private address");
 * ```
 */
export class PermanentJobError extends Error {
  override readonly name = "PermanentJobError";
  /** Always false: what makes the runtime dead-letter the job. */
  readonly retryable = false;
}

/**
 * Thrown by a handler when the work should be tried again after a specific delay, longer than the queue's
 * backoff would wait (a 429 with a long `retry_after`). pg-boss cannot move a failed job's next start,
 * so the runtime completes this attempt with output `{ status: "deferred", retryAfterSeconds, continuedAs }`
 * and sends the same payload again, starting after the delay, with the retries this job had left. With
 * no retries left it fails like any other error.
 *
 * @example
 * ```ts
 * throw new RetryLaterError("rate limited by the receiver", { delaySeconds: 120 });
 * ```
 */
export class RetryLaterError extends Error {
  override readonly name = "RetryLaterError";
  /** Seconds to wait before the next attempt (at least 1). */
  readonly delaySeconds: number;

  constructor(message: string, options: { delaySeconds: number; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.delaySeconds = Math.max(1, Math.ceil(options.delaySeconds));
  }
}

/**
 * Defines a job with its payload type checked against the registry (`JobPayloads` in core).
 *
 * @example
 * ```ts
 * export const analyzeEpisode = defineJob({
 *   name: "episode.analyze",
 *   schema: z.object({ tenantId: z.uuid(), episodeId: z.uuid() }),
 *   policy: { retryLimit: 4, retryDelay: 2, retryDelayMax: 300, expireInSeconds: 300,
 *     heartbeatSeconds: 10, priority: "normal", batchSize: 10, deadLetterRetentionDays: 30 },
 *   async handler({ episodeId }, ctx) { … return { status: "complete" }; },
 * });
 * ```
 */
export function defineJob<N extends JobName>(definition: JobDefinition<N>): JobDefinition<N> {
  return definition;
}
