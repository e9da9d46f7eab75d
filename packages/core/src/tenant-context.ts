import { Kysely, PostgresDialect } from "kysely";
import type pg from "pg";
import type { Db } from "./database.js";
import { beforeConnectionRetry, isConnectionError, isPoolTimeout } from "./database-errors.js";
import { validationError } from "./errors.js";
import { idempotencyScope, MARK_COMMITTED_SQL } from "./internal/idempotency-scope.js";
import { mapPgError } from "./internal/pg-errors.js";
import { isMisplacedStatement, type PoolState, poolStateOf } from "./internal/pool-state.js";
import { OUTBOX_PROBE_SQL, type SnapshotScope, snapshotScope } from "./internal/snapshot-scope.js";
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
 * Behind a transaction pooler (`pooler: "transaction"`, or detected by `"auto"`) the context is an unnamed
 * statement instead, parsed with each transaction, which also sets `statement_timeout` and
 * `idle_in_transaction_session_timeout` for it: set_config(…, true) is local to the transaction, so
 * isolation is the same whichever server connection the pooler picks.
 *
 * @example
 * ```ts
 * const newest = await withTenant(db, tenantId, (trx) =>
 *   trx.selectFrom("episodes").selectAll().orderBy("created_at", "desc").limit(20).execute(),
 * );
 * ```
 * Connection failures (a terminated connection, a refused one, the server shutting down) become
 * `unavailable` (503, with `retry-after`). A read-only transaction that failed that way, and any
 * transaction whose connection could not be opened or was lost before BEGIN was answered (a stale pooled
 * connection after a failover), is tried once more on a fresh connection, so `fn` may run twice: keep
 * side effects outside the database out of it. A write whose connection died after BEGIN is not retried
 * (it may have committed: retry it with an idempotency key).
 *
 * @throws CyberneticError `validation_failed` when `tenantId` is not a UUID (no SQL is sent).
 */
export async function withTenant<T>(
  db: Db,
  tenantId: string,
  fn: (trx: TenantTransaction) => Promise<T>,
  options: WithTenantOptions = {},
): Promise<T> {
  const id = assertUuid(tenantId, "tenantId");
  const state = poolStateOf(db);
  const snapshot = snapshotOf(id, options);
  try {
    return await attempt(state, id, fn, options, snapshot);
  } catch (error) {
    if (switchedToUnnamed(state, error)) {
      // Nothing of this try committed (see `switchedToUnnamed`): run it again with the unnamed context.
      try {
        return await attempt(state, id, fn, options, snapshot);
      } catch (again) {
        throw mapPgError(again);
      }
    }
    // Once, on a fresh connection (pg-pool discards the broken one): a transaction that never got a
    // connection sent nothing, and a read-only one has no effect to double. A write whose connection
    // failed after it was sent may or may not have committed, so it is never retried here.
    if (!retryable(error, options)) throw mapPgError(error);
  }
  await beforeConnectionRetry();
  try {
    return await attempt(state, id, fn, options, snapshot);
  } catch (error) {
    throw mapPgError(error);
  }
}

/**
 * The list read's scope when this is the first transaction `readAtEventCursor`'s read opens for this
 * tenant and it is read-only: that one carries the outbox probe. Every transaction of the tenant is counted,
 * so a read that opened more than one is known not to be a single snapshot.
 */
function snapshotOf(tenantId: string, options: WithTenantOptions): SnapshotScope | undefined {
  const scope = snapshotScope.getStore();
  if (scope === undefined || scope.tenantId !== tenantId) return undefined;
  scope.transactions++;
  return scope.transactions === 1 && options.readOnly === true ? scope : undefined;
}

/**
 * `pooler: "auto"` meeting a transaction pooler it was not told about: one of our named statements was
 * missing (26000) or already there (42P05) on the server connection the pooler picked for this
 * transaction, which only connection sharing causes. From now on this pool sends the unnamed context.
 * Such a failure aborted the transaction before COMMIT could take effect (the context fails at BEGIN, and
 * a failed idempotency mark turns COMMIT into ROLLBACK), so the caller may run it again.
 */
function switchedToUnnamed(state: PoolState, error: unknown): boolean {
  if (!state.detect || !isMisplacedStatement(error)) return false;
  state.statements = "unnamed";
  return true;
}

/**
 * Errors after which the transaction certainly did not commit: a `pool.connect()` that failed, or a
 * connection lost before BEGIN was answered.
 */
const unsent = new WeakSet<object>();

/**
 * Whether a failed try may run again. A pool that had no free connection in time is busy, not broken:
 * waiting that long again would only double the wait.
 */
function retryable(error: unknown, options: WithTenantOptions): boolean {
  if (!isConnectionError(error) || isPoolTimeout(error)) return false;
  return options.readOnly === true || unsent.has(error as object);
}

/** One try of `withTenant`; throws the driver's error unmapped so the caller can decide to retry. */
async function attempt<T>(
  state: PoolState,
  id: string,
  fn: (trx: TenantTransaction) => Promise<T>,
  options: WithTenantOptions,
  snapshot?: SnapshotScope,
): Promise<T> {
  const prepared = state.statements === "prepared";
  let client: pg.PoolClient;
  try {
    client = await state.pool.connect();
  } catch (error) {
    if (typeof error === "object" && error !== null) unsent.add(error);
    throw error;
  }
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
  // BEGIN, the context (and the probe) and `fn`'s first statement leave in one write: the socket is
  // corked until that statement is queued (or `fn` settles without one), not one write and one packet
  // for each.
  const flush = corkUntilFirstStatement(client);
  // Not awaited here: `fn`'s statements are pipelined behind these. Settles to the error, if any.
  if (snapshot !== undefined) snapshot.probe = undefined;
  const begun: Promise<Error | undefined> = Promise.all([
    client.query(
      snapshot !== undefined
        ? "begin isolation level repeatable read read only"
        : options.readOnly
          ? "begin read only"
          : "begin",
    ),
    client.query(
      prepared
        ? { name: "cybernetic_tenant_context", text: CONTEXT_SQL, values: [id] }
        : { text: UNNAMED_CONTEXT_SQL, values: [id, ...state.timeouts] },
    ),
    ...(snapshot === undefined
      ? []
      : [
          client
            .query<{ cursor: string | null; pending: boolean }>(
              prepared ? { name: "cybernetic_outbox_probe", text: OUTBOX_PROBE_SQL } : OUTBOX_PROBE_SQL,
            )
            .then(({ rows }) => {
              snapshot.probe = { cursor: rows[0]?.cursor ?? "0", pending: rows[0]?.pending === true };
            }),
        ]),
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
      flush();
      // When BEGIN failed, `fn`'s failure is only its consequence: report the cause.
      const beginError = await begun;
      // A connection that was already gone when BEGIN went out (a stale pooled connection after a
      // failover): COMMIT is only ever sent after `fn`'s answers, which come after BEGIN's, so nothing of
      // this transaction can have committed and it may run again.
      if (beginError !== undefined && isConnectionError(beginError)) unsent.add(beginError);
      if (isConnectionError(error)) broken ??= error as Error;
      else await rollback();
      throw beginError ?? error;
    }
    flush();
    const beginError = await begun;
    if (beginError) {
      await rollback();
      throw beginError;
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
      const scope = idempotencyScope.getStore();
      if (scope !== undefined && scope.tenantId === id) {
        // Written without waiting, like BEGIN: it and COMMIT travel together, so no round trip is added.
        // A failed mark aborts the transaction, and COMMIT then reports it (as a rollback).
        const marked = client.query({
          ...(prepared ? { name: "cybernetic_idempotency_mark" } : {}),
          text: MARK_COMMITTED_SQL,
          values: [id, scope.key],
        });
        const [mark, commit] = await Promise.allSettled([marked, client.query("commit")]);
        if (commit.status === "rejected") throw commit.reason;
        // COMMIT of a transaction the mark aborted answers ROLLBACK, not an error: nothing took effect.
        if (mark.status === "rejected") throw mark.reason;
      } else {
        await client.query("commit");
      }
    } catch (error) {
      if (isConnectionError(error)) broken ??= error as Error;
      else await rollback();
      throw error;
    }
    return result;
  } finally {
    if (!released) client.release(broken);
  }
}

/** Per client, while its socket is corked for a transaction's first write: what uncorks it. */
const uncork = new WeakMap<pg.PoolClient, () => void>();

/**
 * Corks the client's socket, so that the statements pg writes next (pipelined, none waits for an answer)
 * go out in one write; returns the (idempotent) flush, which the transaction's first statement also
 * calls through `boundTo`'s lease. Nothing waits on an answer while corked: BEGIN's is only awaited after
 * `fn` settles, and the transaction flushes first.
 */
function corkUntilFirstStatement(client: pg.PoolClient): () => void {
  const stream = (client as unknown as Partial<pg.Client>).connection?.stream;
  if (stream === undefined || typeof stream.cork !== "function") return () => {};
  stream.cork();
  let corked = true;
  const flush = () => {
    if (!corked) return;
    corked = false;
    uncork.delete(client);
    stream.uncork();
  };
  uncork.set(client, flush);
  return flush;
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
 * The tenant context behind a transaction pooler: unnamed (parsed with each transaction, so any server
 * connection can run it), and setting the timeouts that a pooler does not let through as startup
 * parameters, local to the transaction like the rest.
 */
const UNNAMED_CONTEXT_SQL = `${CONTEXT_SQL}, set_config('statement_timeout', $2, true), set_config('idle_in_transaction_session_timeout', $3, true)`;

/**
 * A Kysely bound to one pooled client, cached per client (pg reuses its client objects, so this is built
 * once per connection, not once per transaction). Its "pool" hands out that client and never releases it;
 * `withTenant` owns the checkout.
 */
const bound = new WeakMap<pg.PoolClient, TenantTransaction>();
function boundTo(client: pg.PoolClient): TenantTransaction {
  let trx = bound.get(client);
  if (!trx) {
    // Delegate with the real client as `this` (pg keeps its connection state on the client object); the
    // first statement of a transaction uncorks its socket once pg has queued it.
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    const lease = {
      query(...args: unknown[]) {
        const sent = query(...args);
        uncork.get(client)?.();
        return sent;
      },
      release() {},
    } as unknown as pg.PoolClient;
    const pool = { connect: async () => lease, end: async () => {} } as unknown as pg.Pool;
    // No `withSchema` plugin here: the transaction's search_path names the schema (see SEARCH_PATH), which
    // spares every tenant-scoped query the plugin's rewrite of its whole node tree.
    trx = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    bound.set(client, trx);
  }
  return trx;
}
