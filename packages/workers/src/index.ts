/**
 * @cybernetic/workers: pg-boss jobs for S4 episode analysis, S5 policy evaluation, notifications and
 * algedonic alerts, and the runtime that runs them.
 */

// Analysis (S4)
export * from "./analysis/index.js";
export type { AuditScheduleOptions } from "./jobs/audit.js";
// Jobs
export type { ArtifactBlobRemover, HousekeepingOptions } from "./jobs/housekeeping.js";
export {
  alertEscalateJob,
  auditRunJob,
  auditScheduleJob,
  type BuiltInJobName,
  builtInJobs,
  episodeAnalyzeJob,
  housekeepingJob,
  jobNames,
  notificationSendJob,
  policyEvaluateJob,
  queuePolicyOf,
  telegramUpdateJob,
} from "./jobs/index.js";
export {
  parseTelegramCommand,
  reportTitle,
  type TelegramCommand,
  type TelegramCommandContext,
} from "./jobs/telegram-update.js";
// Notifications and algedonic signals
export { type AlgedonicSignal, raiseAlgedonic } from "./notify/algedonic.js";
export { type AddressClass, classifyAddress, isAddressAllowed } from "./notify/classify-address.js";
export {
  escapeMarkdownV2,
  escapeMarkdownV2Truncated,
  TELEGRAM_MAX_MESSAGE_LENGTH,
} from "./notify/escape-markdown-v2.js";
export {
  NotificationError,
  type NotificationErrorCode,
  type NotificationErrorOptions,
} from "./notify/notification-error.js";
export {
  type AlertChannel,
  alertChannels,
  type NotificationRequest,
  recordNotification,
} from "./notify/notifications.js";
export {
  callTelegramBotApi,
  sendTelegramMessage,
  type TelegramBotApiOptions,
  type TelegramMessage,
  type TelegramOptions,
  type TelegramResult,
} from "./notify/telegram.js";
export { type TelegramApiOptions, type TenantTelegramBot, tenantTelegramBot } from "./notify/telegram-bot.js";
export {
  DEFAULT_TELEGRAM_PACING,
  reserveTelegramSend,
  type TelegramPacingOptions,
  type TelegramRate,
  telegramBotKey,
} from "./notify/telegram-pacing.js";
export {
  type ResolvedAddress,
  sendWebhook,
  vetWebhookTarget,
  type WebhookOptions,
  type WebhookRequest,
  type WebhookResult,
} from "./notify/webhook.js";
export {
  signWebhook,
  type VerifyWebhookSignatureInput,
  verifyWebhookSignature,
} from "./notify/webhook-signature.js";
// Policies (S5)
export {
  type Causation,
  causationJson,
  childCausation,
  MAX_POLICY_DEPTH,
  parseCausation,
} from "./policy/causation.js";
export {
  type EvaluablePolicy,
  evaluatePolicy,
  type PlannedAction,
  type PolicyEvaluation,
  policyListensTo,
} from "./policy/evaluate-policy.js";
export {
  type PolicyContext,
  type PolicyContextInput,
  type PolicyEpisodeContext,
  type PolicyStateContext,
  type PolicyTenantContext,
  type PolicyUnitContext,
  redactSettings,
} from "./policy/policy-context.js";
export {
  createPolicyDispatcher,
  type PolicyDispatcher,
  type PolicyDispatcherOptions,
  type PolicyDispatcherStartOptions,
} from "./policy/policy-dispatcher.js";
export { lookupPath, type RenderTemplateOptions, renderTemplate } from "./policy/render-template.js";
export { type InstallQueueOptions, installQueue } from "./queue/install-queue.js";
// Queue
export {
  type CyberneticQueue,
  createJobQueue,
  type JobQueueOptions,
  type QueuedJob,
  type SendOptions,
} from "./queue/job-queue.js";
export {
  deadLetterQueue,
  priorityValues,
  QUEUE_SCHEMA,
  type QueuePolicy,
} from "./queue/queues.js";
// Runtime
export {
  type AnyJobDefinition,
  defineJob,
  type JobContext,
  type JobDefinition,
  type JobSchedule,
  PermanentJobError,
  RetryLaterError,
  type WorkerDependencies,
} from "./runtime/define-job.js";
export { isRetryable } from "./runtime/retry-contract.js";
export {
  type JobOutcome,
  type StartWorkersOptions,
  startWorkers,
  type WorkerHooks,
  type WorkerRuntime,
} from "./runtime/start-workers.js";
