/**
 * @cybernetic/core: tenancy, the Postgres schema and its migrations, row-level security, the domain
 * services and the event outbox.
 */

// Configuration and database
export {
  type DatabaseConfig,
  type DatabaseConfigInput,
  databaseConfigSchema,
  describeDatabaseUrl,
  parseDatabaseConfig,
} from "./config.js";
// The contract is also available on its own as "@cybernetic/core/contract".
export * from "./contract/index.js";
export { checkConnection, connectionError, createDatabase, type Db, poolOf } from "./database.js";
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
export { appendEvent } from "./internal/outbox.js";
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
  ApiKeysTable,
  ArtifactsTable,
  ColumnSpec,
  Database,
  EpisodesTable,
  EventConsumersTable,
  EventsTable,
  Json,
  JsonObject,
  NotificationsTable,
  PoliciesTable,
  PolicyEvaluationsTable,
  SchemaColumns,
  SystemStateHistoryTable,
  SystemStatesTable,
  TelegramUpdatesTable,
  TenantsTable,
} from "./schema.js";
export { schemaColumns } from "./schema.js";
export { type ApiKeyService, generateApiKey, hashApiKey, type ResolvedApiKey } from "./services/api-keys.js";
export type {
  ArtifactDownload,
  ArtifactService,
  ArtifactServiceOptions,
  PutArtifactOptions,
} from "./services/artifacts.js";
export type { CreateEpisodeResult, EpisodeService } from "./services/episodes.js";
export type { PolicyService } from "./services/policies.js";
export type { SystemStateService } from "./services/systems.js";
export type { CreateTenantOptions, TenantService } from "./services/tenants.js";
// Tenant context
export {
  assertUuid,
  isUuid,
  type TenantTransaction,
  type WithTenantOptions,
  withTenant,
} from "./tenant-context.js";
