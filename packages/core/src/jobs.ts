import type { TenantTransaction } from "./tenant-context.js";

/**
 * The job registry: a job name maps to its payload type, so `enqueue("episode.analyze", payload)` is
 * checked at compile time. The workers package implements these jobs; hosts may add their own by
 * declaration merging:
 *
 * @example
 * ```ts
 * declare module "@cybernetic/core" {
 *   interface JobPayloads { "report.render": { tenantId: string; reportId: string } }
 * }
 * ```
 */
export interface JobPayloads {
  "episode.analyze": { tenantId: string; episodeId: string };
  "policy.evaluate": { tenantId: string; eventId: string };
  /** `paced`: a continuation whose Telegram send slot was reserved before it was scheduled. */
  "notification.send": { tenantId: string; notificationId: string; paced?: boolean };
  /** One acknowledged Telegram update (`telegram_updates`), handled in its chat's order. */
  "telegram.update": { tenantId: string; updateId: number };
  housekeeping: Record<string, never>;
  /** Climbs every alert whose escalation window has passed one level (scheduled every minute). */
  "alert.escalate": Record<string, never>;
  /** S3*: audits one tenant (from `unitId` down, default the whole tenant). */
  "audit.run": { tenantId: string; unitId?: string };
  /** S3*: every hour, gives each active tenant an `audit.run` at a random moment of the next hour. */
  "audit.schedule": Record<string, never>;
}

/** A registered job name. */
export type JobName = keyof JobPayloads;

/** Job priorities, highest first. */
export type JobPriority = "critical" | "high" | "normal" | "low";

/** Options of `JobQueue.enqueue`. */
export interface EnqueueOptions {
  priority?: JobPriority;
  /**
   * Stored on the job (pg-boss `singletonKey`) to name what it is for, e.g. `analyze:<episode id>`. It
   * deduplicates only on a queue whose pg-boss policy enforces singletons; the built-in queues use the
   * `standard` policy, where it does not, so every job handler must be idempotent (they all are).
   */
  singletonKey?: string;
  /** Delay before the job may start, in seconds. */
  startAfterSeconds?: number;
}

/**
 * What core needs from a job queue: enqueue inside the caller's transaction, so a write and the job it
 * schedules commit together or not at all. `@cybernetic/workers` provides the pg-boss implementation.
 */
export interface JobQueue {
  enqueue<N extends JobName>(
    trx: TenantTransaction,
    name: N,
    payload: JobPayloads[N],
    options?: EnqueueOptions,
  ): Promise<string | null>;
}
