import type { Job } from "@cybernetic/core";

/**
 * What the gateway needs from the job queue and the storage adapter, as small structural interfaces.
 * `@cybernetic/workers`' `CyberneticQueue` and `@cybernetic/storage`'s `StorageAdapter` satisfy them, and
 * so can a host application's own implementations; the gateway never imports those packages.
 */

/** A job as the queue reports it: the API's `Job` plus the tenant that enqueued it. */
export type GatewayJob = Job & { tenantId: string | null };

/**
 * The queue operations the gateway uses: job look-ups, readiness and queue depths for `/metrics`.
 *
 * @example
 * ```ts
 * const queue = createJobQueue({ connectionString }); // @cybernetic/workers
 * createGateway({ platform, config, queue });
 * ```
 */
export interface GatewayQueue {
  /** One job, or null when unknown. */
  getJob(id: string): Promise<GatewayJob | null>;
  /** Resolves when the queue's database answers; throws otherwise. */
  check(): Promise<void>;
  /** Jobs waiting per queue name, for the `cybernetic_queue_depth` gauge. */
  depths?(): Promise<Record<string, number>>;
}

/** The storage operations the gateway itself uses (readiness); the artifact routes go through core's services. */
export interface GatewayStorage {
  /** Resolves when the store is reachable and writable; throws otherwise. */
  check(): Promise<void>;
}
