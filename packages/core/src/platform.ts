import type { StorageAdapter } from "@cybernetic/storage";
import { type Clock, systemClock } from "./clock.js";
import type { Db } from "./database.js";
import type { JobQueue } from "./jobs.js";
import { type Logger, silentLogger } from "./logger.js";
import { type AlertService, createAlertService } from "./services/alerts.js";
import { type ApiKeyService, createApiKeyService } from "./services/api-keys.js";
import {
  type ArtifactService,
  type ArtifactServiceOptions,
  createArtifactService,
} from "./services/artifacts.js";
import { type AuditService, createAuditService } from "./services/audits.js";
import { createEpisodeService, type EpisodeService } from "./services/episodes.js";
import { createEventLogService, type EventLogService } from "./services/event-log.js";
import { createIdempotencyService, type IdempotencyService } from "./services/idempotency.js";
import { createIndicatorService, type IndicatorService } from "./services/indicators.js";
import { createNotificationService, type NotificationService } from "./services/notifications.js";
import { createPolicyService, type PolicyService } from "./services/policies.js";
import { createSystemStateService, type SystemStateService } from "./services/systems.js";
import { createTelegramService, type TelegramService } from "./services/telegram.js";
import { createTenantService, type TenantService } from "./services/tenants.js";
import { createUnitService, type UnitService } from "./services/units.js";
import { createViabilityService, type ViabilityService } from "./services/viability.js";

/** What `createPlatform` needs. Everything is handed in; nothing reads `process.env`. */
export interface PlatformOptions {
  /** The runtime database (not the owner role). */
  db: Db;
  /** Enqueues jobs inside the caller's transaction; without one, episodes are recorded but not analysed. */
  queue?: JobQueue;
  /** Where artifact blobs go; without one, `artifacts` is undefined. */
  storage?: StorageAdapter;
  artifacts?: ArtifactServiceOptions;
  logger?: Logger;
  /** What time it is for time-driven behaviour (escalation windows, audits); default the wall clock. */
  clock?: Clock;
}

/** The domain services, as the gateway and host applications use them. */
export interface Platform {
  db: Db;
  logger: Logger;
  queue: JobQueue | undefined;
  clock: Clock;
  tenants: TenantService;
  apiKeys: ApiKeyService;
  /** The tree of viable units (the tenant is its root). */
  units: UnitService;
  systems: SystemStateService;
  episodes: EpisodeService;
  policies: PolicyService;
  /** Algedonic alerts: raised → acknowledged → resolved, climbing the unit tree until acknowledged. */
  alerts: AlertService;
  /** S3*: sporadic audits past what S1 reports, with their findings. */
  audits: AuditService;
  /** Viability at a glance: S1..S5 of a unit and each unit below it, present and alive or not, and why. */
  viability: ViabilityService;
  /** Beer's triple index: each unit's indicators, readings and change detection. */
  indicators: IndicatorService;
  /** Idempotency keys for retried requests (the gateway's `Idempotency-Key` header). */
  idempotency: IdempotencyService;
  /** A tenant's notifications and how their delivery went. */
  notifications: NotificationService;
  /** A tenant's recent events, from the outbox. */
  events: EventLogService;
  /** The Telegram webhook's inbox (deduplication, per-chat limit, the `telegram.update` job). */
  telegram: TelegramService;
  /** Present when a storage adapter was given. */
  artifacts: ArtifactService | undefined;
  storage: StorageAdapter | undefined;
}

/**
 * The composition root: builds every domain service over one database. The gateway calls it; so can a
 * host application with its own HTTP framework.
 *
 * @example
 * ```ts
 * const db = createDatabase({ url: process.env.DATABASE_URL! });
 * const platform = createPlatform({ db });
 * const { tenant, apiKey } = await platform.tenants.create({ name: "Acme", slug: "acme" }, { issueKey: true });
 * ```
 */
export function createPlatform(options: PlatformOptions): Platform {
  const { db, queue } = options;
  const logger = options.logger ?? silentLogger;
  const clock = options.clock ?? systemClock;
  const apiKeys = createApiKeyService(db);
  const tenants = createTenantService(db, apiKeys);
  const audits = createAuditService(db, {
    ...(queue ? { queue } : {}),
    ...(options.storage ? { storage: options.storage } : {}),
    clock,
  });
  return {
    db,
    logger,
    queue,
    clock,
    apiKeys,
    tenants,
    units: createUnitService(db),
    systems: createSystemStateService(db),
    episodes: createEpisodeService(db, queue),
    policies: createPolicyService(db),
    alerts: createAlertService(db, { ...(queue ? { queue } : {}), clock }),
    indicators: createIndicatorService(db, { ...(queue ? { queue } : {}), clock }),
    audits,
    viability: createViabilityService(db, audits, { clock }),
    idempotency: createIdempotencyService(db),
    notifications: createNotificationService(db),
    events: createEventLogService(db),
    telegram: createTelegramService(db, tenants, queue),
    storage: options.storage,
    artifacts: options.storage ? createArtifactService(db, options.storage, options.artifacts) : undefined,
  };
}
