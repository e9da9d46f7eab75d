import { CyberneticError } from "./errors.js";

/**
 * SQLSTATEs that mean "the connection or the server went away", not "your statement was wrong":
 * 57P01 admin_shutdown (pg_terminate_backend, a fast shutdown), 57P02 crash_shutdown, 57P03
 * cannot_connect_now (starting up or shutting down), 57P05 idle_session_timeout, 53300
 * too_many_connections, and every connection exception (class 08).
 */
const UNAVAILABLE_SQLSTATES = new Set(["57P01", "57P02", "57P03", "57P05", "53300"]);

/** Socket-level failures Node reports on a database connection. */
const UNAVAILABLE_SYSCALL_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * The messages node-postgres and pg-pool use for a connection they lost or could not open (they carry
 * no code). Matched at the start of the message.
 */
const UNAVAILABLE_MESSAGES = [
  "Connection terminated",
  "timeout exceeded when trying to connect",
  "Client has encountered a connection error and is not queryable",
  "Client was closed and is not queryable",
  "Cannot use a pool after calling end on the pool",
  "Query read timeout",
];

interface ErrorLike {
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  errors?: unknown;
}

/**
 * True when `error` says the database connection failed (lost, refused, timed out, the server shutting
 * down) rather than that a statement was wrong. Such a failure is the platform's 503, never a 500; a
 * read can be retried on a fresh connection, a write only when it never reached the server (or with an
 * idempotency key). Looks through `cause` chains and `AggregateError`s (Node's dual-stack connect).
 *
 * @example
 * ```ts
 * try {
 *   await db.selectFrom("tenants").selectAll().execute();
 * } catch (error) {
 *   if (isConnectionError(error)) return retryLater();
 *   throw error;
 * }
 * ```
 */
export function isConnectionError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e !== null && typeof e === "object" && depth < 5; depth++) {
    // A catalog error has been decided already (a 404 whose message happens to mention a connection).
    if (CyberneticError.isInstance(e)) return false;
    const { code, message, errors } = e as ErrorLike;
    if (typeof code === "string") {
      if (UNAVAILABLE_SQLSTATES.has(code) || /^08[0-9A-Z]{3}$/.test(code)) return true;
      if (UNAVAILABLE_SYSCALL_CODES.has(code)) return true;
    }
    if (typeof message === "string" && UNAVAILABLE_MESSAGES.some((m) => message.startsWith(m))) return true;
    if (Array.isArray(errors) && errors.some((inner) => isConnectionError(inner))) return true;
    e = (e as ErrorLike).cause;
  }
  return false;
}

/** Seconds a client is asked to wait before retrying while the database is unavailable. */
export const DATABASE_RETRY_AFTER_SECONDS = 1;

/**
 * The `unavailable` (503) error for a failed database connection, with `retry-after`, naming the
 * reason in one line (a SQLSTATE, a socket code or the driver's first line; never credentials).
 *
 * @example
 * ```ts
 * if (isConnectionError(error)) throw databaseUnavailable(error);
 * ```
 */
export function databaseUnavailable(error: unknown): CyberneticError {
  const { code, message } = (error ?? {}) as ErrorLike;
  const reason =
    typeof code === "string" ? code : String(typeof message === "string" ? message : error).split("\n")[0];
  return new CyberneticError("unavailable", `the database is unavailable (${reason}); retry shortly`, {
    details: { reason: "database_unavailable" },
    headers: { "retry-after": String(DATABASE_RETRY_AFTER_SECONDS) },
    cause: error,
  });
}

/**
 * Runs an idempotent database call, once more on a fresh connection when the first one failed because
 * its connection did (pg-pool discards the broken client), then maps a second connection failure to
 * `databaseUnavailable`. For reads and idempotent statements only: a write whose connection died after it
 * was sent may have committed.
 *
 * @example
 * ```ts
 * const rows = await retryIdempotent(() => sql`select * from cybernetic.resolve_api_key(${hash})`.execute(db));
 * ```
 */
export async function retryIdempotent<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (!isConnectionError(error) || isPoolTimeout(error)) throw mapConnectionError(error);
  }
  await beforeConnectionRetry();
  try {
    return await fn();
  } catch (error) {
    throw mapConnectionError(error);
  }
}

/** True for pg-pool's "no connection became free in time": the pool is busy, not broken. */
export function isPoolTimeout(error: unknown): boolean {
  return String((error as Error | null)?.message).startsWith("timeout exceeded when trying to connect");
}

function mapConnectionError(error: unknown): unknown {
  return isConnectionError(error) ? databaseUnavailable(error) : error;
}

/**
 * Waits a moment before a retry after a lost connection. When the server ended many connections at once
 * (a failover, a restart), the pool's other idle clients are just as dead but their end is still unread
 * in their sockets; one turn of the event loop lets pg-pool hear of it and discard them, so the retry
 * gets a connection that is really fresh instead of the next stale one.
 */
export function beforeConnectionRetry(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 10));
}
