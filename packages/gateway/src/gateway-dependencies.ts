/**
 * What the gateway needs from the job queue and the storage adapter, as small structural interfaces.
 * `@cybernetic/workers`' `CyberneticQueue` and `@cybernetic/storage`'s `StorageAdapter` satisfy them, and
 * so can a host application's own implementations; the gateway never imports those packages.
 */

/** The state of one job as `GET /v1/jobs/:id` reports it. */
export interface JobInfo {
  id: string;
  /** The job name, e.g. `episode.analyze`. */
  name: string;
  /** e.g. `created`, `retry`, `active`, `completed`, `cancelled`, `failed`. */
  state: string;
  priority: number;
  attempts: number;
  retryLimit: number;
  createdAt: Date | string | null;
  startedAt: Date | string | null;
  completedAt: Date | string | null;
  output: unknown;
  /** The tenant that enqueued the job (from its payload); tenants only ever see their own jobs. */
  tenantId: string | null | undefined;
}

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
  getJob(id: string): Promise<JobInfo | null>;
  /** Resolves when the queue's database answers; throws otherwise. */
  check(): Promise<void>;
  /** Jobs waiting per queue name, for the `cybernetic_queue_depth` gauge. */
  depths?(): Promise<Record<string, number>>;
}

/** The storage operations the gateway uses today (readiness); artifact routes will use the full adapter. */
export interface GatewayStorage {
  /** Resolves when the store is reachable and writable; throws otherwise. */
  check(): Promise<void>;
}
