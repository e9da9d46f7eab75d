import {
  CyberneticError,
  type EnqueueOptions,
  isConnectionError,
  type Job,
  type JobName,
  type JobPayloads,
  type JobPriority,
  type JobQueue,
  type Logger,
  silentLogger,
  type TenantTransaction,
} from "@cybernetic/core";
import { fromKysely, PgBoss } from "pg-boss";
import { builtInJobs } from "../jobs/index.js";
import type { AnyJobDefinition } from "../runtime/define-job.js";
import { prepareRepeatedStatements } from "./internal/prepared-statements.js";
import { deadLetterQueue, priorityValues, QUEUE_SCHEMA } from "./queues.js";

/** Options of `createJobQueue`. */
export interface JobQueueOptions {
  /** The runtime role's connection string (pg-boss's schema must be installed: `installQueue`). */
  connectionString: string;
  schema?: string;
  /** pg-boss pool size. Default 10. */
  poolSize?: number;
  logger?: Logger;
  /**
   * How often maintenance runs: expiring jobs, failing jobs whose worker stopped heartbeating (a crashed
   * process), deleting old ones. Default 10 s, so a crashed worker's job is retried within about
   * `heartbeatSeconds` + this (pg-boss's own default is 60 s).
   */
  maintenanceIntervalSeconds?: number;
  /**
   * The jobs enqueued through it: each one's `policy.priority` is the default priority of its jobs, and
   * `depths()` counts their queues. Default: `builtInJobs()`. A job not listed gets priority `normal`.
   */
  jobs?: readonly AnyJobDefinition[];
  /**
   * Run the statements pg-boss repeats (a queue's insert, fetch and complete) as prepared statements, so
   * PostgreSQL parses and plans each once per connection. Default true. Turn it off when
   * `connectionString` goes through a transaction pooler that does not keep prepared statements
   * (PgBouncer before 1.21); the queue wants a direct connection anyway, for LISTEN.
   */
  prepareStatements?: boolean;
}

/** A job as the queue reports it: the API's `Job` plus the tenant that enqueued it (from its payload). */
export interface QueuedJob extends Job {
  tenantId: string | null;
}

/** Options of `send` (enqueue outside a transaction). */
export interface SendOptions extends EnqueueOptions {}

/**
 * The pg-boss-backed job queue: core's `JobQueue` (enqueue inside the caller's transaction) plus what the
 * gateway and the worker runtime need.
 */
export interface CyberneticQueue extends JobQueue {
  /** Connects pg-boss (maintenance, cron). Workers listen for new jobs themselves (`startWorkers`). */
  start(): Promise<void>;
  /** Stops pg-boss; with `graceful` waits for in-flight jobs up to `timeoutMs`. */
  stop(options?: { graceful?: boolean; timeoutMs?: number }): Promise<void>;
  /** Enqueues outside any transaction. */
  send<N extends JobName>(name: N, payload: JobPayloads[N], options?: SendOptions): Promise<string | null>;
  /** A job by id across every queue (dead letters included); null when unknown. */
  getJob(id: string): Promise<QueuedJob | null>;
  /** Throws `unavailable` when pg-boss cannot reach its tables. */
  check(): Promise<void>;
  /** Jobs waiting (created or retry) per queue, dead-letter queues included. */
  depths(): Promise<Record<string, number>>;
  /** The pg-boss instance, for the worker runtime. */
  readonly boss: PgBoss;
  readonly schema: string;
  readonly logger: Logger;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function sendOptions(
  defaults: ReadonlyMap<string, JobPriority>,
  name: JobName,
  options: EnqueueOptions = {},
) {
  return {
    priority: priorityValues[options.priority ?? defaults.get(name) ?? "normal"],
    ...(options.singletonKey === undefined ? {} : { singletonKey: options.singletonKey }),
    ...(options.startAfterSeconds === undefined ? {} : { startAfter: options.startAfterSeconds }),
  };
}

/**
 * Creates the job queue. Hand it to `createPlatform({ queue })` so writes enqueue their jobs in the same
 * transaction, and to `startWorkers` to run them.
 *
 * @example
 * ```ts
 * const queue = createJobQueue({ connectionString: config.url, logger });
 * await queue.start();
 * const platform = createPlatform({ db, queue, logger });
 * ```
 */
export function createJobQueue(options: JobQueueOptions): CyberneticQueue {
  const schema = options.schema ?? QUEUE_SCHEMA;
  const logger = options.logger ?? silentLogger;
  const jobs = options.jobs ?? builtInJobs();
  const priorities = new Map<string, JobPriority>(jobs.map((job) => [job.name, job.policy.priority]));
  if (!/^[a-z_][a-z0-9_]*$/.test(schema))
    throw new CyberneticError("validation_failed", "invalid queue schema name");
  const boss = new PgBoss({
    connectionString: options.connectionString,
    schema,
    max: options.poolSize ?? 10,
    application_name: "cybernetic-queue",
    // The owner installs the schema (installQueue); the runtime role only reads and writes jobs.
    migrate: false,
    createSchema: false,
    // pg-boss's own listener wakes every worker of a queue for each new job; the worker runtime listens
    // instead and wakes one (startWorkers). Inserts still notify: that is the queue's `notify` setting.
    useListenNotify: false,
    supervise: true,
    schedule: true,
    reindex: false,
    monitorVacuum: false,
    superviseIntervalSeconds: options.maintenanceIntervalSeconds ?? 10,
    monitorIntervalSeconds: options.maintenanceIntervalSeconds ?? 10,
  });
  // While the database is away every pg-boss loop (fetch, maintenance, LISTEN) fails on each tick: one
  // warning line per kind of failure a minute, not a stack trace per attempt. Other errors stay errors.
  const quietUntil = new Map<string, number>();
  boss.on("error", (error: unknown) => {
    if (!isConnectionError(error)) {
      logger.error({ err: error }, "pg-boss error");
      return;
    }
    // pg-boss appends "(Queue: …, Worker: …)": one line per outage, not one per queue.
    const reason =
      String((error as Error)?.message ?? error)
        .split("\n")[0]
        ?.replace(/\s*\(Queue: .*$/, "")
        .slice(0, 200) ?? "";
    const now = Date.now();
    if ((quietUntil.get(reason) ?? 0) > now) return;
    quietUntil.set(reason, now + 60_000);
    if (quietUntil.size > 100) quietUntil.clear();
    logger.warn({ reason }, "job queue: the database is unavailable; pg-boss keeps retrying");
  });
  boss.on("warning", (warning: unknown) => logger.warn({ warning }, "pg-boss warning"));
  const db = () => boss.getDb();
  if (options.prepareStatements !== false) {
    prepareRepeatedStatements(db(), {
      onDisabled: (error) =>
        logger.warn(
          { err: error },
          "job queue: its connection goes through a pooler that loses prepared statements; running them unnamed (set prepareStatements: false, or give the queue a direct connection)",
        ),
    });
  }

  return {
    boss,
    schema,
    logger,

    async start() {
      await boss.start();
    },

    async stop(stopOptions = {}) {
      await boss.stop({
        graceful: stopOptions.graceful ?? true,
        timeout: stopOptions.timeoutMs ?? 30_000,
        close: true,
      });
    },

    async enqueue(trx: TenantTransaction, name, payload, enqueueOptions) {
      return boss.send(name, payload as object, {
        ...sendOptions(priorities, name, enqueueOptions),
        db: fromKysely(trx),
      });
    },

    async send(name, payload, sendOpts) {
      return boss.send(name, payload as object, sendOptions(priorities, name, sendOpts));
    },

    async getJob(id) {
      if (!UUID.test(id)) return null;
      const { rows } = await db().executeSql(
        `select id, name, state, priority, retry_count, retry_limit, data, output, created_on, started_on, completed_on
           from ${schema}.job where id = $1`,
        [id],
      );
      const row = rows[0] as
        | {
            id: string;
            name: string;
            state: QueuedJob["state"];
            priority: number;
            retry_count: number;
            retry_limit: number;
            data: { tenantId?: unknown } | null;
            output: unknown;
            created_on: Date;
            started_on: Date | null;
            completed_on: Date | null;
          }
        | undefined;
      if (!row) return null;
      const started = row.started_on !== null;
      return {
        id: row.id,
        name: row.name,
        state: row.state,
        priority: row.priority,
        attempts: started ? row.retry_count + 1 : row.retry_count,
        retryLimit: row.retry_limit,
        tenantId: typeof row.data?.tenantId === "string" ? row.data.tenantId : null,
        createdAt: row.created_on.toISOString(),
        startedAt: row.started_on?.toISOString() ?? null,
        completedAt: row.completed_on?.toISOString() ?? null,
        output: row.output,
      };
    },

    async check() {
      try {
        await db().executeSql(`select 1 from ${schema}.version limit 1`);
      } catch (error) {
        throw new CyberneticError("unavailable", "job queue unavailable", { cause: error });
      }
    },

    async depths() {
      const { rows } = await db().executeSql(
        `select name, count(*)::int as n from ${schema}.job where state in ('created', 'retry') group by name`,
      );
      const out: Record<string, number> = {};
      for (const { name } of jobs) {
        out[name] = 0;
        out[deadLetterQueue(name)] = 0;
      }
      for (const row of rows as { name: string; n: number }[]) out[row.name] = row.n;
      return out;
    },
  };
}
