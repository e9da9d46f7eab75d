import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Selectable } from "kysely";
import { sql } from "kysely";
import {
  type ApiKeyInfo,
  type ApiKeyScope,
  createApiKeySchema,
  type IssuedApiKey,
} from "../contract/tenants.js";
import type { Db } from "../database.js";
import { retryIdempotent } from "../database-errors.js";
import { CyberneticError, notFound, validationError } from "../errors.js";
import { iso } from "../internal/time.js";
import { parseInput } from "../internal/validation.js";
import type { ApiKeysTable } from "../schema.js";
import { assertUuid, type TenantTransaction, withTenant } from "../tenant-context.js";

/** Keys look like `cyb_` + base64url of 32 random bytes. */
const KEY_PATTERN = /^cyb_[A-Za-z0-9_-]{43,128}$/;
const PREFIX_LENGTH = 12;

/** What a presented key resolves to. */
export interface ResolvedApiKey {
  keyId: string;
  tenantId: string;
  scopes: ApiKeyScope[];
}

/** API keys: issued once, stored as a SHA-256 hash, resolved without revealing other tenants. */
export interface ApiKeyService {
  /**
   * Issues a key for a tenant. The returned `key` is the only copy: only its hash is stored.
   *
   * @example
   * ```ts
   * const { key } = await platform.apiKeys.issue(tenantId, { name: "ci", scopes: ["read"] });
   * ```
   */
  issue(tenantId: string, input: unknown): Promise<IssuedApiKey>;
  /** Issues a key inside an existing tenant transaction (used when creating a tenant). */
  issueIn(trx: TenantTransaction, tenantId: string, input: unknown): Promise<IssuedApiKey>;
  /**
   * Resolves a presented key to its tenant and scopes.
   *
   * @throws CyberneticError `unauthorized` for a malformed, unknown, revoked or expired key, and
   * `forbidden` when the tenant is deactivated.
   */
  resolve(key: string): Promise<ResolvedApiKey>;
  /** Revokes a key; revoking twice is a no-op. */
  revoke(tenantId: string, keyId: string): Promise<ApiKeyInfo>;
  /** Lists a tenant's keys (newest first). */
  list(tenantId: string): Promise<ApiKeyInfo[]>;
}

/**
 * SHA-256 of a key. Keys carry 256 random bits, so a fast hash is right: there is nothing to brute-force,
 * and resolving stays one indexed lookup.
 */
export function hashApiKey(key: string): Buffer {
  return createHash("sha256").update(key, "utf8").digest();
}

/**
 * Generates a new key string (`cyb_…`, 32 random bytes).
 *
 * @example
 * ```ts
 * generateApiKey(); // "cyb_q5L0…"
 * ```
 */
export function generateApiKey(): string {
  return `cyb_${randomBytes(32).toString("base64url")}`;
}

function toInfo(row: Selectable<ApiKeysTable>): ApiKeyInfo {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes as ApiKeyScope[],
    expiresAt: iso(row.expires_at),
    revokedAt: iso(row.revoked_at),
    lastUsedAt: iso(row.last_used_at),
    createdAt: iso(row.created_at),
  };
}

/** Why a key was refused: `details.reason` (an identifier, see the error catalog) and the message's prose. */
const refusals = {
  malformed_key: "is malformed",
  unknown_key: "is not valid",
  revoked_key: "has been revoked",
  expired_key: "has expired",
} as const;

const unauthorized = (reason: keyof typeof refusals) =>
  new CyberneticError("unauthorized", `API key ${refusals[reason]}`, { details: { reason } });

/** Creates the API-key service. */
export function createApiKeyService(db: Db): ApiKeyService {
  const issueIn = async (trx: TenantTransaction, tenantId: string, raw: unknown): Promise<IssuedApiKey> => {
    const input = parseInput(createApiKeySchema, raw, "API key");
    if (input.expiresAt && Date.parse(input.expiresAt) <= Date.now()) {
      throw validationError("expiresAt must be in the future", [
        { path: "expiresAt", message: "in the past" },
      ]);
    }
    const key = generateApiKey();
    const row = await trx
      .insertInto("api_keys")
      .values({
        tenant_id: tenantId,
        name: input.name,
        prefix: key.slice(0, PREFIX_LENGTH),
        key_hash: hashApiKey(key),
        scopes: [...new Set(input.scopes)],
        expires_at: input.expiresAt ?? null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { ...toInfo(row), key };
  };

  return {
    issueIn,
    issue: (tenantId, input) => withTenant(db, tenantId, (trx) => issueIn(trx, tenantId, input)),

    async resolve(key) {
      if (typeof key !== "string" || !KEY_PATTERN.test(key)) throw unauthorized("malformed_key");
      const hash = hashApiKey(key);
      // Idempotent (it only stamps last_used_at), so a lost connection is retried once on a fresh one.
      const { rows } = await retryIdempotent(() =>
        sql<{
          id: string;
          tenant_id: string;
          key_hash: Buffer;
          scopes: string[];
          expires_at: Date | null;
          revoked_at: Date | null;
          tenant_active: boolean;
        }>`select * from cybernetic.resolve_api_key(${hash})`.execute(db),
      );
      const row = rows[0];
      // The lookup matched the hash by equality; compare again in constant time so that no code path
      // branches on a partial match.
      if (!row || row.key_hash.length !== hash.length || !timingSafeEqual(row.key_hash, hash)) {
        throw unauthorized("unknown_key");
      }
      if (row.revoked_at !== null) throw unauthorized("revoked_key");
      if (row.expires_at !== null && row.expires_at.getTime() <= Date.now())
        throw unauthorized("expired_key");
      if (!row.tenant_active) throw new CyberneticError("forbidden", "tenant is deactivated");
      return { keyId: row.id, tenantId: row.tenant_id, scopes: row.scopes as ApiKeyScope[] };
    },

    async revoke(tenantId, keyId) {
      const id = assertUuid(keyId, "keyId");
      return withTenant(db, tenantId, async (trx) => {
        const row = await trx
          .updateTable("api_keys")
          .set({ revoked_at: sql<Date>`coalesce(revoked_at, now())` })
          .where("id", "=", id)
          .returningAll()
          .executeTakeFirst();
        if (!row) throw notFound("API key", id);
        return toInfo(row);
      });
    },

    list: (tenantId) =>
      withTenant(
        db,
        tenantId,
        async (trx) =>
          (
            await trx.selectFrom("api_keys").selectAll().orderBy("created_at", "desc").limit(1000).execute()
          ).map(toInfo),
        { readOnly: true },
      ),
  };
}
