/**
 * @cybernetic/core: tenancy, the Postgres schema and its migrations, row-level security, the domain
 * services and the event outbox.
 */

export { type Clock, systemClock } from "./clock.js";
// Configuration and database
export {
  type DatabaseConfig,
  type DatabaseConfigInput,
  databaseConfigSchema,
  databasePoolers,
  describeDatabaseUrl,
  parseDatabaseConfig,
} from "./config.js";
// The contract is also available on its own as "@cybernetic/core/contract".
export * from "./contract/index.js";
export {
  checkConnection,
  connectionError,
  createDatabase,
  type Db,
  databasePooler,
  poolOf,
  type ResolvedPooler,
} from "./database.js";
export {
  DATABASE_RETRY_AFTER_SECONDS,
  databaseUnavailable,
  isConnectionError,
  isPoolTimeout,
  retryIdempotent,
} from "./database-errors.js";
// Errors
export {
  CyberneticError,
  type CyberneticErrorOptions,
  type ErrorCode,
  type ErrorIssue,
  errorCatalog,
  notFound,
  validationError,
  versionConflict,
} from "./errors.js";
export { appendEvent } from "./events/append-event.js";
// Events
export {
  createEventBus,
  type EventBus,
  type EventBusOptions,
  type EventFilter,
  type EventHandler,
  type ReplayResult,
  toEvent,
} from "./events/event-bus.js";
export {
  PUBLISH_WAIT_MS,
  type ReadAtEventCursor,
  readAtEventCursor,
} from "./events/read-at-event-cursor.js";
// The triple index's change detector
export {
  DEFAULT_DETECTOR,
  type DetectorParameters,
  type DetectorState,
  type DetectorStep,
  detectChange,
  INITIAL_DETECTOR_STATE,
} from "./indicators/change-detector.js";
// Jobs and logging
export type { EnqueueOptions, JobName, JobPayloads, JobPriority, JobQueue } from "./jobs.js";
export { type Logger, silentLogger } from "./logger.js";
// Migrations and roles
export {
  type MigrateResult,
  type MigrationDefinition,
  type MigrationState,
  migrate,
  migrationSql,
  migrationStatus,
  migrations,
} from "./migrations/index.js";
// Platform and services
export { createPlatform, type Platform, type PlatformOptions } from "./platform.js";
export {
  APP_ROLE,
  assertRuntimeRoleIsSafe,
  checkRuntimeRole,
  ensureRuntimeRole,
  type RuntimeRoleOptions,
  type RuntimeRoleReport,
} from "./roles.js";
export type {
  AlertsTable,
  ApiKeysTable,
  ArtifactsTable,
  AuditFindingsTable,
  AuditsTable,
  ColumnSpec,
  Database,
  EpisodesTable,
  EventConsumersTable,
  EventsTable,
  IdempotencyKeysTable,
  Json,
  JsonObject,
  NotificationsTable,
  PoliciesTable,
  PolicyDampingTable,
  PolicyEvaluationsTable,
  SchemaColumns,
  SystemStateHistoryTable,
  SystemStatesTable,
  TelegramChatLimitsTable,
  TelegramChatsTable,
  TelegramSendPacingTable,
  TelegramUpdatesTable,
  TenantsTable,
  UnitsTable,
} from "./schema.js";
export { schemaColumns } from "./schema.js";
export { type AlertChannel, alertChannels } from "./services/alert-channels.js";
export {
  type AlertService,
  type AlertServiceOptions,
  type AlertTransition,
  type AlgedonicSignal,
  type EscalationPass,
  type RaisedAlert,
  raiseAlertIn,
} from "./services/alerts.js";
export { type ApiKeyService, generateApiKey, hashApiKey, type ResolvedApiKey } from "./services/api-keys.js";
export type {
  ArtifactDownload,
  ArtifactService,
  ArtifactServiceOptions,
  PutArtifactOptions,
} from "./services/artifacts.js";
export type { AuditService, AuditServiceOptions } from "./services/audits.js";
export type { CreateEpisodeResult, EpisodeService } from "./services/episodes.js";
export type { EventLogService } from "./services/event-log.js";
export {
  assertIdempotencyKey,
  IDEMPOTENCY_LEASE_SECONDS,
  IDEMPOTENCY_RETENTION_HOURS,
  type IdempotencyBegin,
  type IdempotencyService,
  idempotencyFingerprint,
  type StoredResponse,
} from "./services/idempotency.js";
export {
  type IndicatorService,
  type IndicatorServiceOptions,
  MAX_INDICATORS_PER_UNIT,
  type ReadingInput,
} from "./services/indicators.js";
export {
  type NotificationRequest,
  type NotificationService,
  recordNotificationIn,
} from "./services/notifications.js";
export type { PolicyService } from "./services/policies.js";
export type { SystemStateScope, SystemStateService } from "./services/systems.js";
export {
  type TelegramRateLimit,
  type TelegramReceipt,
  type TelegramReceiveOutcome,
  type TelegramService,
  type TelegramWebhookTarget,
  telegramChatQueueKey,
  telegramRateLimitSchema,
} from "./services/telegram.js";
export type { CreateTenantOptions, TenantService } from "./services/tenants.js";
export type { UnitService } from "./services/units.js";
export type { ViabilityService } from "./services/viability.js";
// Tenant context
export {
  assertUuid,
  isUuid,
  type TenantTransaction,
  type WithTenantOptions,
  withTenant,
} from "./tenant-context.js";
