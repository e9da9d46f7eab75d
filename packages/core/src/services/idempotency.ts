import { createHash } from "node:crypto";
import type { Db } from "../database.js";
import { CyberneticError, validationError } from "../errors.js";
import { idempotencyScope } from "../internal/idempotency-scope.js";
import type { Json } from "../schema.js";
import { withTenant } from "../tenant-context.js";

/** How long a first attempt holds its key before a retry may take it over. */
export const IDEMPOTENCY_LEASE_SECONDS = 60;

/** Keys are kept this long (housekeeping purges older ones); a retry after that runs again. */
export const IDEMPOTENCY_RETENTION_HOURS = 24;

/** Printable ASCII, 1–255 characters (a UUID, a ULID, a client-generated token). */
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** The answer stored for a completed request. */
export interface StoredResponse {
  status: number;
  body: Json | null;
}

/** What `begin` found. */
export type IdempotencyBegin =
  /** First attempt (or a take-over of one that died before its effect): run the request. */
  | { state: "run" }
  /** Completed before: answer with the stored response, do not run. */
  | { state: "replay"; response: StoredResponse };

/** Idempotency keys for retried POSTs (the gateway's `Idempotency-Key` header). */
export interface IdempotencyService {
  /**
   * Claims `key` for a request with this fingerprint. Throws `conflict` (409, `retry-after`) while another
   * attempt with the key is in flight, `conflict` when an earlier attempt took effect but its response was
   * lost, and `idempotency_key_reused` (422) when the key was used for a different request.
   *
   * @example
   * ```ts
   * const claim = await platform.idempotency.begin(tenantId, key, fingerprintOf("POST", "/v1/episodes", body));
   * if (claim.state === "replay") return claim.response;
   * ```
   */
  begin(tenantId: string, key: string, fingerprint: Buffer): Promise<IdempotencyBegin>;
  /**
   * Runs the request's work under the key: each write transaction `withTenant` opens for this tenant
   * marks the key committed atomically with its own effect.
   *
   * @example
   * ```ts
   * const reply = await platform.idempotency.run(tenantId, key, () => platform.episodes.create(tenantId, input));
   * ```
   */
  run<T>(tenantId: string, key: string, fn: () => Promise<T>): Promise<T>;
  /**
   * Stores the response of a completed request, so retries replay it.
   *
   * @example
   * ```ts
   * await platform.idempotency.complete(tenantId, key, { status: 201, body });
   * ```
   */
  complete(tenantId: string, key: string, response: StoredResponse): Promise<void>;
  /**
   * Releases the key of a request that failed: a retry may run it again, unless the failure came after
   * its effect committed (then the key stays, and a retry is told so instead of doubling the effect).
   *
   * @example
   * ```ts
   * await platform.idempotency.abandon(tenantId, key);
   * ```
   */
  abandon(tenantId: string, key: string): Promise<void>;
}

/**
 * The SHA-256 fingerprint of a request: method, path with query, and body bytes. A retry must send the
 * same request; the same key on another request is refused.
 *
 * @example
 * ```ts
 * const fp = idempotencyFingerprint("POST", "/v1/episodes", Buffer.from(JSON.stringify(input)));
 * ```
 */
export function idempotencyFingerprint(method: string, pathWithQuery: string, body: Uint8Array): Buffer {
  return createHash("sha256").update(`${method} ${pathWithQuery}\n`).update(body).digest();
}

/**
 * Throws `validation_failed` unless `key` is a usable idempotency key (printable ASCII, 1–255 chars).
 *
 * @example
 * ```ts
 * assertIdempotencyKey(headers.get("idempotency-key"));
 * ```
 */
export function assertIdempotencyKey(key: unknown): asserts key is string {
  if (typeof key !== "string" || !KEY_PATTERN.test(key)) {
    throw validationError("Idempotency-Key must be 1–255 printable ASCII characters", [
      { path: "idempotency-key", message: "must be 1–255 printable ASCII characters, no spaces" },
    ]);
  }
}

/**
 * Creates the idempotency service over the runtime database.
 *
 * @example
 * ```ts
 * const idempotency = createIdempotencyService(db);
 * ```
 */
export function createIdempotencyService(db: Db): IdempotencyService {
  return {
    async begin(tenantId, key, fingerprint) {
      assertIdempotencyKey(key);
      return withTenant(db, tenantId, async (trx) => {
        const inserted = await trx
          .insertInto("idempotency_keys")
          .values({
            tenant_id: tenantId,
            key,
            fingerprint,
            locked_until: new Date(Date.now() + IDEMPOTENCY_LEASE_SECONDS * 1000),
          })
          .onConflict((oc) => oc.columns(["tenant_id", "key"]).doNothing())
          .returning("key")
          .executeTakeFirst();
        if (inserted) return { state: "run" } as const;
        const row = await trx
          .selectFrom("idempotency_keys")
          .selectAll()
          .where("key", "=", key)
          .forUpdate()
          .executeTakeFirstOrThrow();
        if (!row.fingerprint.equals(fingerprint)) {
          throw new CyberneticError(
            "idempotency_key_reused",
            "this Idempotency-Key was used for a different request (method, path or body); use a new key",
            { details: { reason: "idempotency_key_reused" } },
          );
        }
        if (row.response_status !== null) {
          return {
            state: "replay",
            response: { status: row.response_status, body: row.response_body },
          } as const;
        }
        // The lease first: a first attempt whose effect has committed but whose answer is not stored yet
        // is still running (it stores the answer, or gives the lease up, in a moment).
        if (row.locked_until !== null && row.locked_until.getTime() > Date.now()) {
          const seconds = Math.max(1, Math.ceil((row.locked_until.getTime() - Date.now()) / 1000));
          throw new CyberneticError(
            "conflict",
            "a request with this Idempotency-Key is still in progress; retry after it finishes",
            {
              details: { reason: "idempotency_in_progress" },
              headers: { "retry-after": String(Math.min(seconds, 5)) },
            },
          );
        }
        if (row.committed_at !== null) {
          throw new CyberneticError(
            "conflict",
            "a request with this Idempotency-Key already took effect, but its response was not recorded; read the resource instead of retrying",
            { details: { reason: "idempotency_outcome_unrecorded" } },
          );
        }
        // The first attempt died before its effect committed (its mark would be set otherwise): take over.
        await trx
          .updateTable("idempotency_keys")
          .set({ locked_until: new Date(Date.now() + IDEMPOTENCY_LEASE_SECONDS * 1000) })
          .where("key", "=", key)
          .execute();
        return { state: "run" } as const;
      });
    },

    run(tenantId, key, fn) {
      return idempotencyScope.run({ tenantId, key }, fn);
    },

    async complete(tenantId, key, response) {
      await withTenant(db, tenantId, (trx) =>
        trx
          .updateTable("idempotency_keys")
          .set({
            response_status: response.status,
            response_body: JSON.stringify(response.body ?? null),
            completed_at: new Date(),
            locked_until: null,
          })
          .where("key", "=", key)
          .execute(),
      );
    },

    async abandon(tenantId, key) {
      await withTenant(db, tenantId, async (trx) => {
        await trx
          .deleteFrom("idempotency_keys")
          .where("key", "=", key)
          .where("committed_at", "is", null)
          .execute();
        // An attempt that took effect keeps its key, but gives its lease up: retries learn at once that it
        // took effect, instead of waiting for the lease to run out.
        await trx
          .updateTable("idempotency_keys")
          .set({ locked_until: null })
          .where("key", "=", key)
          .where("committed_at", "is not", null)
          .where("response_status", "is", null)
          .execute();
      });
    },
  };
}
