import type pg from "pg";
import { CyberneticError } from "../errors.js";

/** How `withTenant` sends the tenant context on one pool's connections. */
export interface PoolState {
  readonly pool: pg.Pool;
  /**
   * `prepared`: a named statement each connection prepares once (the fastest; needs every transaction of
   * a client connection to reach the server connection that prepared it). `unnamed`: parsed with each
   * transaction, and also setting the timeouts, for poolers that hand transactions to any server
   * connection. Switches from `prepared` to `unnamed` at most once (see `switchToUnnamed`).
   */
  statements: "prepared" | "unnamed";
  /** Whether `prepared` may switch by itself (`pooler: "auto"`). */
  readonly detect: boolean;
  /** `statement_timeout` and `idle_in_transaction_session_timeout` in ms, as set by the unnamed context. */
  readonly timeouts: readonly [string, string];
}

/** The state of every pool `createDatabase` made, by its Kysely instance. */
export const poolStates = new WeakMap<object, PoolState>();

/** The state of `db`'s pool; throws when `db` was not made by `createDatabase`. */
export function poolStateOf(db: object): PoolState {
  const state = poolStates.get(db);
  if (!state) throw new CyberneticError("internal", "this Kysely instance was not made by createDatabase()");
  return state;
}

/**
 * SQLSTATEs a named statement of ours can only meet behind a pooler that shares server connections
 * between clients: 26000 (prepared on another server connection than this transaction's) and 42P05
 * (already prepared there by another client).
 */
const MISPLACED_STATEMENT = new Set(["26000", "42P05"]);

/** True when `error` is a named statement that a pooler routed to the wrong server connection. */
export function isMisplacedStatement(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && MISPLACED_STATEMENT.has(code);
}
