import { AsyncLocalStorage } from "node:async_hooks";

/** The idempotency key a request runs under (see `IdempotencyService.run`). */
export interface IdempotencyScope {
  tenantId: string;
  key: string;
}

/**
 * Set while a request with an `Idempotency-Key` runs: every write transaction `withTenant` opens for that
 * tenant marks the key committed in the same transaction, so the mark and the effect commit together.
 */
export const idempotencyScope = new AsyncLocalStorage<IdempotencyScope>();

/** The statement that marks the key; pipelined just before COMMIT. */
export const MARK_COMMITTED_SQL =
  "update cybernetic.idempotency_keys set committed_at = coalesce(committed_at, now()) where tenant_id = $1 and key = $2";
