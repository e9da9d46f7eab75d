import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import {
  type DatabaseConfig,
  type DatabaseConfigInput,
  describeDatabaseUrl,
  parseDatabaseConfig,
} from "./config.js";
import { CyberneticError } from "./errors.js";
import { poolStateOf, poolStates } from "./internal/pool-state.js";
import type { Database } from "./schema.js";

/** The Kysely handle every service uses. Tables are named without their schema. */
export type Db = Kysely<Database>;

/** What stands between a `Db`'s connections and PostgreSQL, once `pooler: "auto"` is resolved. */
export type ResolvedPooler = "none" | "transaction";

/** The permanent 'error' listener of every pooled client (see `createDatabase`). */
const ignoreConnectionError = () => {};

function poolOptions(config: DatabaseConfig, url: string, pooler: ResolvedPooler): pg.PoolConfig {
  return {
    connectionString: url,
    max: config.poolSize,
    connectionTimeoutMillis: config.connectionTimeoutMs,
    idleTimeoutMillis: 30_000,
    application_name: config.applicationName,
    // Server-side limits, sent as startup parameters: no SET on pooled connections. A transaction pooler
    // refuses (or ignores) them, so there `withTenant`'s context sets them for each transaction instead.
    ...(pooler === "none"
      ? {
          statement_timeout: config.statementTimeoutMs,
          idle_in_transaction_session_timeout: config.idleInTransactionTimeoutMs,
        }
      : {}),
    // Statements are written without waiting for the previous answer: `withTenant` sends BEGIN+context and
    // the first statement in one round trip. Each statement keeps its own Sync, so a failure stays its own.
    pipeline: true,
  };
}

/**
 * What `pooler: "auto"` means for a connection: a transaction pooler when a `directUrl` other than `url`
 * was given (that is what configuring one says), else none. The owner connection (migrations) is taken to
 * be direct unless `pooler` says otherwise.
 */
function resolvePooler(config: DatabaseConfig, owner: boolean): ResolvedPooler {
  if (config.pooler !== "auto") return config.pooler;
  if (owner) return "none";
  return config.directUrl !== undefined && config.directUrl !== config.url ? "transaction" : "none";
}

/**
 * Creates the Kysely instance over a pg Pool. With `{ owner: true }` it connects with `ownerUrl` (for
 * migrations); otherwise with `url`, the runtime role. Behind a transaction-mode pooler (PgBouncer,
 * Supavisor, …) set `pooler: "transaction"`, or give `directUrl` (see `DatabaseConfig.pooler`).
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
  const owner = options.owner === true;
  const url = owner ? (config.ownerUrl ?? config.url) : config.url;
  const pooler = resolvePooler(config, owner);
  const pool = new pg.Pool(poolOptions(config, url, pooler));
  // An idle client that loses its connection emits 'error' on the pool; without a listener that would
  // crash the process. The next checkout simply gets a fresh client.
  pool.on("error", () => {});
  // pg-pool takes its idle listener off a client while it is checked out, and a connection that dies then
  // (pg_terminate_backend, a failover, a fast shutdown) emits 'error' on the client even after failing the
  // statements it had queued: unheard, that is an uncaught exception that ends the process. The statement
  // already rejects with the same error, and the client is marked unusable, so pg-pool discards it on
  // release; this listener only has to exist. (pg-boss's db.js does the same, for the same reason.)
  pool.on("connect", (client) => {
    client.on("error", ignoreConnectionError);
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }).withSchema("cybernetic");
  poolStates.set(db, {
    pool,
    statements: pooler === "transaction" ? "unnamed" : "prepared",
    detect: config.pooler === "auto",
    timeouts: [String(config.statementTimeoutMs), String(config.idleInTransactionTimeoutMs)],
  });
  return db;
}

/**
 * What stands between a `Db`'s connections and PostgreSQL as the platform now treats it: `"transaction"`
 * when configured so, implied by a `directUrl`, or detected (`pooler: "auto"` switches the first time a
 * prepared tenant context is missing on the server connection a pooler picked); else `"none"`.
 *
 * @example
 * ```ts
 * const db = createDatabase({ url: pooledUrl, directUrl });
 * databasePooler(db); // "transaction"
 * ```
 */
export function databasePooler(db: Db): ResolvedPooler {
  return poolStateOf(db).statements === "unnamed" ? "transaction" : "none";
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
  return poolStateOf(db).pool;
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
  // PgBouncer's answer to the timeouts sent as startup parameters (pooler "none").
  const hint = /unsupported startup parameter/.test(reason ?? "")
    ? ' (a connection pooler: configure pooler "transaction", DATABASE_POOLER=transaction, or give a direct URL)'
    : "";
  return new CyberneticError(
    "unavailable",
    `cannot reach PostgreSQL at ${describeDatabaseUrl(url)}: ${reason}${hint}`,
    {
      cause: error,
    },
  );
}
