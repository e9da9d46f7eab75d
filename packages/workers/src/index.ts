/**
 * @cybernetic/workers: pg-boss jobs for S4 episode analysis, S5 policy evaluation, notifications and
 * algedonic alerts, and the runtime that runs them.
 */

// Analysis (S4)
export * from "./analysis/index.js";
// Jobs
export { builtInJobs, episodeAnalyzeJob } from "./jobs/index.js";
export { type AlgedonicSignal, raiseAlgedonic } from "./notify/algedonic.js";
// Notifications and algedonic signals
export {
  type AlertChannel,
  alertChannels,
  type NotificationRequest,
  recordNotification,
} from "./notify/notifications.js";
export { type InstallQueueOptions, installQueue } from "./queue/install-queue.js";
// Queue
export {
  type CyberneticQueue,
  createJobQueue,
  type JobInfo,
  type JobQueueOptions,
  type SendOptions,
} from "./queue/job-queue.js";
export {
  deadLetterQueue,
  jobNames,
  priorityValues,
  QUEUE_SCHEMA,
  type QueuePolicy,
  queuePolicies,
} from "./queue/queues.js";
// Runtime
export {
  defineJob,
  type JobContext,
  type JobDefinition,
  PermanentJobError,
  type WorkerDependencies,
} from "./runtime/define-job.js";
export {
  type JobOutcome,
  type StartWorkersOptions,
  startWorkers,
  type WorkerHooks,
  type WorkerRuntime,
} from "./runtime/start-workers.js";
