import type { JobDefinition } from "../runtime/define-job.js";
import { episodeAnalyzeJob } from "./episode-analyze.js";
import { housekeepingJob } from "./housekeeping.js";
import { notificationSendJob } from "./notification-send.js";
import { policyEvaluateJob } from "./policy-evaluate.js";

/**
 * Every built-in job, for `startWorkers({ jobs: builtInJobs() })`: `episode.analyze` (S4),
 * `policy.evaluate` (S5, with its dispatcher), `notification.send` and `housekeeping` (scheduled).
 *
 * @example
 * ```ts
 * const workers = await startWorkers({ platform, queue, jobs: builtInJobs(), deps: { analyzer } });
 * ```
 */
export function builtInJobs(): JobDefinition[] {
  return [
    episodeAnalyzeJob,
    policyEvaluateJob,
    notificationSendJob,
    housekeepingJob,
  ] as unknown as JobDefinition[];
}

export { episodeAnalyzeJob, housekeepingJob, notificationSendJob, policyEvaluateJob };
