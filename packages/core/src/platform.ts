import type { StorageAdapter } from "@cybernetic/storage";
import type { Db } from "./database.js";
import type { JobQueue } from "./jobs.js";
import { type Logger, silentLogger } from "./logger.js";
import { type ApiKeyService, createApiKeyService } from "./services/api-keys.js";
import {
  type ArtifactService,
  type ArtifactServiceOptions,
  createArtifactService,
} from "./services/artifacts.js";
import { createEpisodeService, type EpisodeService } from "./services/episodes.js";
import { createPolicyService, type PolicyService } from "./services/policies.js";
import { createSystemStateService, type SystemStateService } from "./services/systems.js";
import { createTenantService, type TenantService } from "./services/tenants.js";

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
}

/** The domain services, as the gateway and host applications use them. */
export interface Platform {
  db: Db;
  logger: Logger;
  queue: JobQueue | undefined;
  tenants: TenantService;
  apiKeys: ApiKeyService;
  systems: SystemStateService;
  episodes: EpisodeService;
  policies: PolicyService;
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
  const apiKeys = createApiKeyService(db);
  return {
    db,
    logger,
    queue,
    apiKeys,
    tenants: createTenantService(db, apiKeys),
    systems: createSystemStateService(db),
    episodes: createEpisodeService(db, queue),
    policies: createPolicyService(db),
    storage: options.storage,
    artifacts: options.storage ? createArtifactService(db, options.storage, options.artifacts) : undefined,
  };
}
