import { Kysely, PostgresDialect } from "kysely";
import type pg from "pg";
import { type Db, poolOf } from "./database.js";
import { validationError } from "./errors.js";
import { mapPgError } from "./internal/pg-errors.js";
import type { Database } from "./schema.js";

/** A Kysely bound to one connection inside a tenant's transaction. Do not call `.transaction()` on it. */
export type TenantTransaction = Kysely<Database>;

/** Options of `withTenant`. */
export interface WithTenantOptions {
  /** Start the transaction READ ONLY (reads that must never write). */
  readOnly?: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * True when `value` is a UUID in canonical text form.
 *
 * @example
 * ```ts
 * isUuid("5f0c8a9e-2b1d-4c3e-9f00-0a1b2c3d4e5f"); // true
 * ```
 */
export function isUuid(value: unknown): value is string {
  return typeof value === "string" && UUID.test(value);
}

/**
 * Throws `validation_failed` unless `value` is a UUID; returns it lower-cased.
 *
 * @example
 * ```ts
 * const id = assertUuid(params.id, "id");
 * ```
 */
export function assertUuid(value: unknown, field: string): string {
  if (!isUuid(value)) {
    throw validationError(`${field} must be a UUID`, [{ path: field, message: "must be a UUID" }]);
  }
  return value.toLowerCase();
}

/**
 * Runs `fn` in one transaction scoped to a tenant: row-level security then shows and accepts only that
 * tenant's rows. The context is `set_config('app.tenant_id', …, true)`, local to the transaction, so it
 * can never leak to the next user of the pooled connection. The transaction's search_path is
 * `cybernetic, pg_temp` (also local), so `trx` names tables without their schema, as `db` does.
 *
 * Round trips: the pool's connections are pipelined (pg's `pipeline` mode), so BEGIN and the context are
 * written to the socket and `fn`'s first statement follows them without waiting for an answer: a read
 * waits for one round trip, as a query outside any transaction would. The tenant id is a bind parameter
 * of a statement each connection prepares once (`set_config('app.tenant_id', $1, true)`), so after the
 * first use only Bind and Execute travel and the server neither parses nor plans it again; `assertUuid`
 * checks it first, so a malformed id never reaches SQL. Pipelining is safe because row-level security
 * fails closed: a statement that somehow ran without the context would see no row and could write none,
 * and a failed BEGIN or context is always the error reported.
 * A write waits for two round trips (BEGIN+context+statements, COMMIT); with `readOnly` the COMMIT
 * finishes after the result is returned, so a read waits for one.
 *
 * @example
 * ```ts
 * const newest = await withTenant(db, tenantId, (trx) =>
 *   trx.selectFrom("episodes").selectAll().orderBy("created_at", "desc").limit(20).execute(),
 * );
 * ```
 * @throws CyberneticError `validation_failed` when `tenantId` is not a UUID (no SQL is sent).
 */
export async function withTenant<T>(
  db: Db,
  tenantId: string,
  fn: (trx: TenantTransaction) => Promise<T>,
  options: WithTenantOptions = {},
): Promise<T> {
  const id = assertUuid(tenantId, "tenantId");
  const client = await poolOf(db).connect();
  // Set when the connection itself failed (BEGIN, COMMIT or ROLLBACK could not run): the client is then
  // destroyed instead of going back to the pool in an unknown state.
  let broken: Error | undefined;
  let released = false;
  const rollback = () =>
    client.query("rollback").then(
      () => undefined,
      (e: Error) => {
        broken = e;
      },
    );
  // Not awaited here: `fn`'s statements are pipelined behind these two. Settles to the error, if any.
  const begun: Promise<Error | undefined> = Promise.all([
    client.query(options.readOnly ? "begin read only" : "begin"),
    client.query({ name: "cybernetic_tenant_context", text: CONTEXT_SQL, values: [id] }),
  ]).then(
    () => undefined,
    (error: Error) => {
      broken = error;
      return error;
    },
  );
  try {
    let result: T;
    try {
      result = await fn(boundTo(client));
    } catch (error) {
      // When BEGIN failed, `fn`'s failure is only its consequence: report the cause.
      const beginError = await begun;
      await rollback();
      throw mapPgError(beginError ?? error);
    }
    const beginError = await begun;
    if (beginError) {
      await rollback();
      throw mapPgError(beginError);
    }
    if (options.readOnly) {
      // A read-only transaction has nothing to make durable: its result is final once `fn` returns. So the
      // caller gets it now, and COMMIT completes in the background before the client goes back to the pool.
      released = true;
      client.query("commit").then(
        () => client.release(),
        (error: Error) => client.release(error),
      );
      return result;
    }
    try {
      await client.query("commit");
    } catch (error) {
      await rollback();
      throw mapPgError(error);
    }
    return result;
  } finally {
    if (!released) client.release(broken);
  }
}

/**
 * The search_path of a tenant transaction, local to it like the tenant context: the platform's schema,
 * then `pg_temp` explicitly last, so a temporary table can never shadow a platform table (pg_catalog is
 * searched first, as always).
 */
const SEARCH_PATH = "cybernetic, pg_temp";

/** The tenant context, a statement each connection prepares once (then only Bind and Execute travel). */
const CONTEXT_SQL = `select set_config('app.tenant_id', $1, true), set_config('search_path', '${SEARCH_PATH}', true)`;

/**
 * A Kysely bound to one pooled client, cached per client (pg reuses its client objects, so this is built
 * once per connection, not once per transaction). Its "pool" hands out that client and never releases it;
 * `withTenant` owns the checkout.
 */
const bound = new WeakMap<pg.PoolClient, TenantTransaction>();
function boundTo(client: pg.PoolClient): TenantTransaction {
  let trx = bound.get(client);
  if (!trx) {
    // Delegate with the real client as `this` (pg keeps its connection state on the client object).
    const lease = { query: client.query.bind(client), release() {} } as unknown as pg.PoolClient;
    const pool = { connect: async () => lease, end: async () => {} } as unknown as pg.Pool;
    // No `withSchema` plugin here: the transaction's search_path names the schema (see SEARCH_PATH), which
    // spares every tenant-scoped query the plugin's rewrite of its whole node tree.
    trx = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    bound.set(client, trx);
  }
  return trx;
}
