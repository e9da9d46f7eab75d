/**
 * Short-lived stream tokens for `GET /v1/events?token=`. Browsers' `EventSource` cannot send headers,
 * and an API key must never travel in a URL (URLs end up in logs and histories), so a client trades its
 * key for a token (`POST /v1/events/token`) that only the event stream accepts and that expires within
 * minutes. A token is `cst1.<payload>.<HMAC-SHA256>`: stateless, so any gateway instance sharing the
 * secret accepts it (the secret derives from the admin key when one is configured).
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { type ApiKeyScope, CyberneticError } from "@cybernetic/core";
import { type Principal, WWW_AUTHENTICATE } from "../middleware/authenticate.js";

const PREFIX = "cst1";

/** Issues and checks stream tokens. */
export interface StreamTokens {
  /** A token for a tenant principal, valid for the configured lifetime. */
  issue(principal: Extract<Principal, { kind: "tenant" }>): { token: string; expiresAt: string };
  /**
   * The principal a token stands for.
   *
   * @throws CyberneticError `unauthorized` (malformed, forged or expired token, or an API key in the
   * URL) or `forbidden` (the token lacks `scope`).
   */
  verify(token: string, scope: ApiKeyScope | undefined): Principal;
}

const unauthorized = (message: string, reason: string) =>
  new CyberneticError("unauthorized", message, {
    details: { reason },
    headers: { [WWW_AUTHENTICATE[0]]: WWW_AUTHENTICATE[1] },
  });

/**
 * Creates the token issuer. `secret` must be the same on every instance behind one load balancer.
 *
 * @example
 * ```ts
 * const tokens = createStreamTokens({ secret: "…", ttlSeconds: 300 });
 * const { token } = tokens.issue(principal);
 * tokens.verify(token, "read"); // the principal
 * ```
 */
export function createStreamTokens(options: { secret?: string; ttlSeconds: number }): StreamTokens {
  const key =
    options.secret === undefined
      ? randomBytes(32)
      : createHmac("sha256", options.secret).update("cybernetic stream tokens v1").digest();
  const sign = (payload: string) => createHmac("sha256", key).update(payload).digest();

  return {
    issue(principal) {
      const expires = Math.floor(Date.now() / 1000) + options.ttlSeconds;
      const payload = Buffer.from(
        JSON.stringify({ t: principal.tenantId, k: principal.keyId, s: principal.scopes, e: expires }),
      ).toString("base64url");
      const signature = sign(`${PREFIX}.${payload}`).toString("base64url");
      return {
        token: `${PREFIX}.${payload}.${signature}`,
        expiresAt: new Date(expires * 1000).toISOString(),
      };
    },
    verify(token, scope) {
      if (token.startsWith("cyb_")) {
        throw unauthorized(
          "API keys are never accepted in a URL; exchange the key for a stream token with POST /v1/events/token",
          "api_key_in_url",
        );
      }
      const parts = token.split(".");
      const [prefix, payload, signature] = parts;
      if (parts.length !== 3 || prefix !== PREFIX || !payload || !signature || token.length > 2000) {
        throw unauthorized("the stream token is malformed", "malformed_token");
      }
      const expected = sign(`${PREFIX}.${payload}`);
      const given = Buffer.from(signature, "base64url");
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw unauthorized("the stream token is not valid", "invalid_token");
      }
      let claims: { t?: unknown; k?: unknown; s?: unknown; e?: unknown };
      try {
        claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
      } catch {
        throw unauthorized("the stream token is malformed", "malformed_token");
      }
      if (typeof claims.e !== "number" || claims.e * 1000 <= Date.now()) {
        throw unauthorized("the stream token has expired; request a new one", "expired_token");
      }
      const scopes = Array.isArray(claims.s) ? (claims.s as ApiKeyScope[]) : [];
      if (scope !== undefined && !scopes.includes(scope)) {
        throw new CyberneticError("forbidden", `this stream token lacks the "${scope}" scope`, {
          details: { reason: "missing_scope", scope, scopes },
        });
      }
      return { kind: "tenant", tenantId: String(claims.t), keyId: String(claims.k), scopes };
    },
  };
}
