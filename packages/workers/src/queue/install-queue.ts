import pg from "pg";
import { PgBoss } from "pg-boss";
import { builtInJobs } from "../jobs/index.js";
import type { AnyJobDefinition } from "../runtime/define-job.js";
import { deadLetterQueue, QUEUE_SCHEMA } from "./queues.js";

/** Options of `installQueue`. */
export interface InstallQueueOptions {
  /** Schema for pg-boss. Default `pgboss`. */
  schema?: string;
  /** The role the application runs as; gets data (not DDL) privileges. Default `cybernetic_app`. */
  appRole?: string;
  /** The jobs whose queues to create, each with its own policy. Default: `builtInJobs()`. */
  jobs?: readonly AnyJobDefinition[];
}

/**
 * Installs (or migrates) pg-boss's schema and creates every queue, as the owner role, then grants the
 * runtime role what pg-boss needs at run time (data privileges only). Run it beside `migrate()` from
 * `@cybernetic/core`; re-running is a no-op.
 *
 * @example
 * ```ts
 * await migrate(ownerDb);
 * await installQueue(process.env.DATABASE_OWNER_URL!);
 * ```
 */
export async function installQueue(
  ownerConnectionString: string,
  options: InstallQueueOptions = {},
): Promise<void> {
  const schema = options.schema ?? QUEUE_SCHEMA;
  const appRole = options.appRole ?? "cybernetic_app";
  const boss = new PgBoss({
    connectionString: ownerConnectionString,
    schema,
    max: 2,
    migrate: true,
    supervise: false,
    schedule: false,
    application_name: "cybernetic-install",
  });
  boss.on("error", () => {});
  await boss.start();
  try {
    const existing = new Set((await boss.getQueues()).map((q) => q.name));
    for (const { name, policy } of options.jobs ?? builtInJobs()) {
      const dead = deadLetterQueue(name);
      const deadSettings = { retryLimit: 0, deleteAfterSeconds: policy.deadLetterRetentionDays * 86400 };
      if (existing.has(dead)) await boss.updateQueue(dead, deadSettings);
      else await boss.createQueue(dead, deadSettings);
      const settings = {
        retryLimit: policy.retryLimit,
        retryDelay: policy.retryDelay,
        retryBackoff: true,
        retryDelayMax: policy.retryDelayMax,
        expireInSeconds: policy.expireInSeconds,
        deleteAfterSeconds: 7 * 86400,
        deadLetter: dead,
      };
      if (existing.has(name)) await boss.updateQueue(name, settings);
      else
        await boss.createQueue(name, {
          ...settings,
          heartbeatSeconds: policy.heartbeatSeconds,
          notify: true,
          ...(policy.orderedByKey ? { policy: "key_strict_fifo" } : {}),
        });
    }
  } finally {
    await boss.stop({ graceful: false, close: true });
  }
  const client = new pg.Client({ connectionString: ownerConnectionString });
  // A connection lost between statements emits 'error'; the failing query already rejects with it.
  client.on("error", () => {});
  await client.connect();
  try {
    const s = pg.escapeIdentifier(schema);
    const r = pg.escapeIdentifier(appRole);
    // One transaction under an advisory lock: replicas starting at once (each running `cybernetic
    // migrate`) would otherwise update the same catalog rows together, and PostgreSQL fails one of them
    // with "tuple concurrently updated".
    await client.query(`
      begin;
      select pg_advisory_xact_lock(hashtext('cybernetic.install_queue_grants'));
      grant usage on schema ${s} to ${r};
      grant select, insert, update, delete on all tables in schema ${s} to ${r};
      grant usage, select on all sequences in schema ${s} to ${r};
      grant execute on all functions in schema ${s} to ${r};
      alter default privileges in schema ${s} grant select, insert, update, delete on tables to ${r};
      alter default privileges in schema ${s} grant usage, select on sequences to ${r};
      commit;`);
  } finally {
    await client.end();
  }
}
