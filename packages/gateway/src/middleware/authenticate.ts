import { createHash, timingSafeEqual } from "node:crypto";
import { type ApiKeyScope, CyberneticError, type Platform, type ResolvedApiKey } from "@cybernetic/core";
import { BoundedCache } from "../internal/bounded-cache.js";

/** Who is calling: a tenant's API key, or the operator's admin key. */
export type Principal =
  | { kind: "tenant"; keyId: string; tenantId: string; scopes: readonly ApiKeyScope[] }
  | { kind: "admin" };

/** Which principal a route admits. */
export type RouteAuth = "public" | "metrics" | "admin" | "tenant";

/** Options of `createAuthenticator`. */
export interface AuthenticatorOptions {
  apiKeys: Platform["apiKeys"];
  adminKey: string | undefined;
  /** How long a resolved key (or a rejection) is remembered; 0 disables the cache. */
  cacheTtlMs: number;
  /** Most keys remembered at once. */
  cacheMaxEntries?: number;
}

/** Authenticates requests; the result is synchronous when the key is cached. */
export interface Authenticator {
  /**
   * Checks the presented credentials against what the route admits.
   *
   * @throws CyberneticError `unauthorized` (no, malformed, unknown, revoked or expired key) or
   * `forbidden` (admin key on a tenant route, tenant key on an admin route, missing scope).
   */
  authenticate(
    authorization: string | null,
    apiKeyHeader: string | null,
    auth: "admin" | "tenant",
    scope: ApiKeyScope | undefined,
  ): Principal | Promise<Principal>;
  /** Drops cached resolutions of one key (after it is revoked through this gateway). */
  forget(keyId: string): void;
  /**
   * Drops every cached resolution of a tenant's keys, so a deactivation (or re-activation) through this
   * gateway takes effect on its next request. Other instances still trust their caches for up to
   * `cacheTtlMs`.
   *
   * @example
   * ```ts
   * await platform.tenants.deactivate(tenantId);
   * authenticator.forgetTenant(tenantId); // the tenant's keys now get 403 here
   * ```
   */
  forgetTenant(tenantId: string): void;
}

type CachedResolution = { ok: true; key: ResolvedApiKey } | { ok: false; error: CyberneticError };

const sha256 = (value: string) => createHash("sha256").update(value, "utf8").digest();

const BEARER = /^Bearer[ ]+([^\s]+)[ ]*$/i;

/** The `www-authenticate` header sent with every 401. */
export const WWW_AUTHENTICATE: readonly [string, string] = ["www-authenticate", 'Bearer realm="cybernetic"'];

function unauthorized(message: string, reason: string): CyberneticError {
  return new CyberneticError("unauthorized", message, {
    details: { reason },
    headers: { [WWW_AUTHENTICATE[0]]: WWW_AUTHENTICATE[1] },
  });
}

/**
 * The credential in `Authorization: Bearer <key>` or, failing that, `x-api-key`.
 *
 * @throws CyberneticError `unauthorized` when neither is present or `Authorization` is not a bearer token.
 */
export function presentedKey(authorization: string | null, apiKeyHeader: string | null): string {
  if (authorization) {
    const match = BEARER.exec(authorization);
    if (!match?.[1]) {
      throw unauthorized("the Authorization header must be `Bearer <API key>`", "malformed_authorization");
    }
    return match[1];
  }
  if (apiKeyHeader) return apiKeyHeader.trim();
  throw unauthorized(
    "an API key is required: send `Authorization: Bearer <key>` or `x-api-key: <key>`",
    "missing_key",
  );
}

/**
 * Creates the authenticator. Resolved keys are cached for `cacheTtlMs` (default 5 s) in a bounded map
 * keyed by the key's SHA-256, so an authenticated request does not cost a database round trip; the
 * price is that revoking a key, expiring it or deactivating its tenant takes effect within that TTL on
 * other gateway instances (immediately on the instance that revoked it or deactivated the tenant: see
 * `forget` and `forgetTenant`). Concurrent requests with the same uncached key share one look-up.
 *
 * @example
 * ```ts
 * const auth = createAuthenticator({ apiKeys: platform.apiKeys, adminKey, cacheTtlMs: 5000 });
 * const principal = await auth.authenticate(req.headers.get("authorization"), null, "tenant", "read");
 * ```
 */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const adminHash = options.adminKey ? sha256(options.adminKey) : undefined;
  const cache = new BoundedCache<string, CachedResolution>(
    options.cacheMaxEntries ?? 10_000,
    options.cacheTtlMs,
  );
  const pending = new Map<string, Promise<CachedResolution>>();
  // Bumped by every forget: a look-up that was already under way may have read the key or its tenant
  // before the revocation or deactivation committed, so its answer goes to the requests that were
  // waiting for it but is not cached, and later requests do not join it.
  let generation = 0;

  const lookUp = (key: string, cacheKey: string): Promise<CachedResolution> => {
    const joined = pending.get(cacheKey);
    if (joined !== undefined) return joined;
    const startedIn = generation;
    const promise = options.apiKeys.resolve(key).then(
      (resolved): CachedResolution => ({ ok: true, key: resolved }),
      (error: unknown): CachedResolution => {
        // Only a definite answer about the key is remembered; a database failure is not.
        if (
          CyberneticError.isInstance(error) &&
          (error.code === "unauthorized" || error.code === "forbidden")
        ) {
          return {
            ok: false,
            error:
              error.code === "unauthorized"
                ? unauthorized(
                    error.message,
                    String((error.details as { reason?: string })?.reason ?? "unknown_key"),
                  )
                : error,
          };
        }
        throw error;
      },
    );
    const settled = promise.then(
      (result) => {
        if (generation === startedIn) cache.set(cacheKey, result);
        if (pending.get(cacheKey) === promise) pending.delete(cacheKey);
      },
      () => {
        if (pending.get(cacheKey) === promise) pending.delete(cacheKey);
      },
    );
    void settled;
    pending.set(cacheKey, promise);
    return promise;
  };

  const invalidate = (predicate: (entry: CachedResolution) => boolean) => {
    generation++;
    pending.clear();
    cache.deleteWhere(predicate);
  };

  const decide = (
    resolution: CachedResolution,
    auth: "admin" | "tenant",
    scope: ApiKeyScope | undefined,
  ): Principal => {
    if (!resolution.ok) throw resolution.error;
    const { key } = resolution;
    if (auth === "admin") {
      throw new CyberneticError("forbidden", "tenant API keys may not use the admin API (/v1/tenants)", {
        details: { reason: "tenant_key_on_admin_route" },
      });
    }
    if (scope !== undefined && !key.scopes.includes(scope)) {
      throw new CyberneticError("forbidden", `this API key lacks the "${scope}" scope`, {
        details: { reason: "missing_scope", scope, scopes: key.scopes },
      });
    }
    return { kind: "tenant", keyId: key.keyId, tenantId: key.tenantId, scopes: key.scopes };
  };

  return {
    authenticate(authorization, apiKeyHeader, auth, scope) {
      const key = presentedKey(authorization, apiKeyHeader);
      const hash = sha256(key);
      if (auth === "admin" && adminHash === undefined) {
        throw new CyberneticError(
          "forbidden",
          "the admin API is disabled: no CYBERNETIC_ADMIN_KEY is configured",
          {
            details: { reason: "admin_disabled" },
          },
        );
      }
      if (adminHash !== undefined && timingSafeEqual(hash, adminHash)) {
        if (auth === "admin") return { kind: "admin" };
        throw new CyberneticError(
          "forbidden",
          "the admin key may only manage tenants; use a tenant API key",
          {
            details: { reason: "admin_key_on_tenant_route" },
          },
        );
      }
      const cacheKey = hash.toString("base64url");
      const cached = cache.get(cacheKey);
      if (cached !== undefined) return decide(cached, auth, scope);
      return lookUp(key, cacheKey).then((resolution) => decide(resolution, auth, scope));
    },
    forget(keyId) {
      invalidate((entry) => entry.ok && entry.key.keyId === keyId);
    },
    forgetTenant(tenantId) {
      // A cached `forbidden` is a deactivated tenant's key, and the rejection does not say which tenant:
      // drop them all (the price is one look-up each), so re-activation takes effect at once too.
      invalidate((entry) => (entry.ok ? entry.key.tenantId === tenantId : entry.error.code === "forbidden"));
    },
  };
}
