import type { JobName, JobPriority } from "@cybernetic/core";

/** How a queue retries, expires and dead-letters its jobs. */
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
}

/**
 * The built-in jobs. A host may add its own names to `JobPayloads` (declaration merging); those have no
 * entry here, and the workers must still compile and run for them.
 */
export type BuiltInJobName =
  | "episode.analyze"
  | "policy.evaluate"
  | "notification.send"
  | "telegram.update"
  | "housekeeping";

/** Each built-in job's queue policy. Every queue has a dead-letter queue `<name>.dead`. */
export const queuePolicies: Readonly<Record<BuiltInJobName, QueuePolicy>> = {
  "episode.analyze": {
    retryLimit: 4,
    retryDelay: 2,
    retryDelayMax: 300,
    expireInSeconds: 300,
    heartbeatSeconds: 10,
    priority: "normal",
  },
  "policy.evaluate": {
    retryLimit: 5,
    retryDelay: 1,
    retryDelayMax: 120,
    expireInSeconds: 120,
    heartbeatSeconds: 10,
    priority: "high",
  },
  "notification.send": {
    retryLimit: 8,
    retryDelay: 2,
    retryDelayMax: 900,
    expireInSeconds: 120,
    heartbeatSeconds: 10,
    priority: "high",
  },
  "telegram.update": {
    retryLimit: 5,
    retryDelay: 1,
    retryDelayMax: 120,
    expireInSeconds: 120,
    heartbeatSeconds: 10,
    priority: "normal",
  },
  housekeeping: {
    retryLimit: 2,
    retryDelay: 30,
    retryDelayMax: 600,
    expireInSeconds: 900,
    heartbeatSeconds: 30,
    priority: "low",
  },
};

/** The names of every built-in job queue (what `installQueue` creates). */
export const jobNames = Object.keys(queuePolicies) as BuiltInJobName[];

/**
 * The queue policy of a job, or undefined for a host's own job (its queue is the host's to create).
 *
 * @example
 * ```ts
 * queuePolicyOf("policy.evaluate")?.retryLimit; // 5
 * ```
 */
export function queuePolicyOf(name: JobName): QueuePolicy | undefined {
  return Object.hasOwn(queuePolicies, name) ? queuePolicies[name as BuiltInJobName] : undefined;
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
