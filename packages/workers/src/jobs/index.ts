import type { JobName } from "@cybernetic/core";
import type { QueuePolicy } from "../queue/queues.js";
import type { AnyJobDefinition } from "../runtime/define-job.js";
import { alertEscalateJob } from "./alert-escalate.js";
import { auditRunJob, auditScheduleJob } from "./audit.js";
import { episodeAnalyzeJob } from "./episode-analyze.js";
import { housekeepingJob } from "./housekeeping.js";
import { notificationSendJob } from "./notification-send.js";
import { policyEvaluateJob } from "./policy-evaluate.js";
import { telegramUpdateJob } from "./telegram-update.js";

/**
 * The built-in jobs, the one list: adding a job is its file plus one line here. Its names, queues and
 * schedules are all derived from it.
 */
const builtInJobList = [
  episodeAnalyzeJob,
  policyEvaluateJob,
  notificationSendJob,
  telegramUpdateJob,
  housekeepingJob,
  alertEscalateJob,
  auditRunJob,
  auditScheduleJob,
] as const;

/** The name of a built-in job (derived from the list). */
export type BuiltInJobName = (typeof builtInJobList)[number]["name"];

/** The names of every built-in job queue (what `installQueue` creates by default). */
export const jobNames: readonly BuiltInJobName[] = builtInJobList.map((job) => job.name);

/**
 * Every built-in job, for `startWorkers({ jobs: builtInJobs() })`: `episode.analyze` (S4),
 * `policy.evaluate` (S5, with its dispatcher), `notification.send`, `telegram.update`, and the scheduled
 * `housekeeping`, `alert.escalate` and `audit.schedule` (with the `audit.run` it spreads over the hour).
 *
 * @example
 * ```ts
 * const workers = await startWorkers({ platform, queue, jobs: builtInJobs(), deps: { analyzer } });
 * ```
 */
export function builtInJobs(): AnyJobDefinition[] {
  return [...builtInJobList];
}

/**
 * The queue policy of a built-in job, or undefined for a host's own job (its definition carries its own).
 *
 * @example
 * ```ts
 * queuePolicyOf("policy.evaluate")?.retryLimit; // 5
 * ```
 */
export function queuePolicyOf(name: JobName): QueuePolicy | undefined {
  return builtInJobList.find((job) => job.name === name)?.policy;
}

export {
  alertEscalateJob,
  auditRunJob,
  auditScheduleJob,
  episodeAnalyzeJob,
  housekeepingJob,
  notificationSendJob,
  policyEvaluateJob,
  telegramUpdateJob,
};
