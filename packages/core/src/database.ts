import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import {
  type DatabaseConfig,
  type DatabaseConfigInput,
  describeDatabaseUrl,
  parseDatabaseConfig,
} from "./config.js";
import { CyberneticError } from "./errors.js";
import type { Database } from "./schema.js";

/** The Kysely handle every service uses. Tables are named without their schema. */
export type Db = Kysely<Database>;

const pools = new WeakMap<object, pg.Pool>();

function poolOptions(config: DatabaseConfig, url: string): pg.PoolConfig {
  return {
    connectionString: url,
    max: config.poolSize,
    connectionTimeoutMillis: config.connectionTimeoutMs,
    idleTimeoutMillis: 30_000,
    application_name: config.applicationName,
    // Server-side limits, sent as startup parameters: no SET on pooled connections.
    statement_timeout: config.statementTimeoutMs,
    idle_in_transaction_session_timeout: config.idleInTransactionTimeoutMs,
    // Statements are written without waiting for the previous answer: `withTenant` sends BEGIN+context and
    // the first statement in one round trip. Each statement keeps its own Sync, so a failure stays its own.
    pipeline: true,
  };
}

/**
 * Creates the Kysely instance over a pg Pool. With `{ owner: true }` it connects with `ownerUrl` (for
 * migrations); otherwise with `url`, the runtime role.
 *
 * @example
 * ```ts
 * const db = createDatabase({ url: "postgres://app:secret@localhost:5432/cybernetic" });
 * const tenant = await withTenant(db, tenantId, (trx) => trx.selectFrom("episodes").selectAll().execute());
 * await db.destroy();
 * ```
 */
export function createDatabase(
  input: DatabaseConfigInput | DatabaseConfig,
  options: { owner?: boolean } = {},
): Db {
  const config = parseDatabaseConfig(input);
  const url = options.owner ? (config.ownerUrl ?? config.url) : config.url;
  const pool = new pg.Pool(poolOptions(config, url));
  // An idle client that loses its connection emits 'error' on the pool; without a listener that would
  // crash the process. The next checkout simply gets a fresh client.
  pool.on("error", () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }).withSchema("cybernetic");
  pools.set(db, pool);
  return db;
}

/**
 * The pg Pool under a `Db` made by `createDatabase`, for pool metrics (`totalCount`, `idleCount`,
 * `waitingCount`) and for the few callers that need a raw client.
 *
 * @example
 * ```ts
 * const { totalCount, idleCount, waitingCount } = poolOf(db);
 * ```
 */
export function poolOf(db: Db): pg.Pool {
  const pool = pools.get(db);
  if (!pool) throw new CyberneticError("internal", "this Kysely instance was not made by createDatabase()");
  return pool;
}

/**
 * Opens one connection to check that the database answers. Failures become one line naming host and port
 * (never the password), with the driver's error as `cause`.
 *
 * @example
 * ```ts
 * await checkConnection(config.url); // throws "cannot reach PostgreSQL at db:5432/cybernetic: ECONNREFUSED"
 * ```
 */
export async function checkConnection(url: string, timeoutMs = 5_000): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("select 1");
  } catch (error) {
    throw connectionError(url, error);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Wraps a driver connection error into a one-line `unavailable` error without credentials. */
export function connectionError(url: string, error: unknown): CyberneticError {
  const e = error as { code?: string; message?: string };
  const reason = e.code && /^[A-Z]+$/.test(e.code) ? e.code : (e.message ?? String(error)).split("\n")[0];
  return new CyberneticError(
    "unavailable",
    `cannot reach PostgreSQL at ${describeDatabaseUrl(url)}: ${reason}`,
    {
      cause: error,
    },
  );
}
