import type { JobPriority } from "@cybernetic/core";

/**
 * How a job's queue retries, expires and dead-letters its jobs, and how many a worker fetches at once.
 * Each job definition carries its own (`JobDefinition.policy`); `installQueue` creates the queues from
 * them.
 */
export interface QueuePolicy {
  /** Attempts after the first. */
  retryLimit: number;
  /** First retry delay in seconds; doubled each retry with jitter, capped at `retryDelayMax`. */
  retryDelay: number;
  retryDelayMax: number;
  /** A job running longer than this is failed and retried. */
  expireInSeconds: number;
  /**
   * Workers refresh a heartbeat at half this interval; a job whose worker stops heartbeating (crashed,
   * killed) is retried after it, instead of after pg-boss's 15-minute expiry.
   */
  heartbeatSeconds: number;
  /** Default priority of the queue's jobs. */
  priority: JobPriority;
  /** Jobs a worker fetches per poll. */
  batchSize: number;
  /** Jobs that failed for good are kept in the dead-letter queue `<name>.dead` this many days. */
  deadLetterRetentionDays: number;
  /**
   * One job per `singletonKey` at a time, oldest first (pg-boss's `key_strict_fifo` policy): every job
   * must carry a key, and a job of a key that is active or waiting for its retry holds back the key's
   * later jobs (other keys run on). The handler must finish every job (never fail it for good), or its
   * key stays blocked. Set when the queue is created; an existing queue keeps its policy.
   */
  orderedByKey?: boolean;
}

/** The dead-letter queue of a job queue. */
export function deadLetterQueue(name: string): string {
  return `${name}.dead`;
}

/** pg-boss priorities: higher runs first. */
export const priorityValues: Readonly<Record<JobPriority, number>> = {
  critical: 30,
  high: 20,
  normal: 10,
  low: 0,
};

/** The schema pg-boss lives in. */
export const QUEUE_SCHEMA = "pgboss";
