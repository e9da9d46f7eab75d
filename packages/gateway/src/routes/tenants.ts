import {
  apiKeyInfoSchema,
  apiKeyListSchema,
  createApiKeySchema,
  createdTenantSchema,
  createTenantSchema,
  cursorSchema,
  issuedApiKeySchema,
  limitSchema,
  tenantPageSchema,
  tenantSchema,
  updateTenantSchema,
} from "@cybernetic/core";
import { z } from "zod";
import { parseWith } from "../internal/parse-with.js";
import { json } from "../internal/reply.js";
import { type AnyRoute, defineApiRoute } from "../route-definition.js";
import { idParams, tenantKeyParams } from "./path-params.js";
import { type RouteDependencies, tenantOf } from "./route-dependencies.js";

/** Query of `GET /v1/tenants`. */
export const listTenantsQuerySchema = z
  .object({ limit: limitSchema, cursor: cursorSchema.optional() })
  .strict();

/** When a revocation or deactivation takes effect, given each instance's key cache (route descriptions). */
const CACHE_NOTE =
  "Takes effect at once on this gateway instance and within API_KEY_CACHE_TTL_MS (default 5 s) on others.";

/**
 * The admin API (tenants, their active flag and their keys) and the tenant's own key routes (list,
 * revoke).
 */
export function tenantRoutes(deps: RouteDependencies): AnyRoute[] {
  const { platform, authenticator } = deps;
  const { targets } = deps.telegram;
  return [
    defineApiRoute({
      method: "POST",
      path: "/v1/tenants",
      operationId: "createTenant",
      summary: "Create a tenant with its five systems and a first API key (shown once)",
      description:
        "Admin key only. Creates the tenant, its five system states and a first API key in one transaction; the key is in the answer once and only its hash is stored.",
      tag: "tenants",
      auth: "admin",
      body: createTenantSchema,
      responses: {
        201: { description: "Created; `apiKey.key` is shown this once", schema: createdTenantSchema },
      },
      errors: ["validation_failed", "duplicate"],
      async handler({ body }) {
        return json(201, await platform.tenants.create(body as never, { issueKey: true }));
      },
    }),
    defineApiRoute({
      method: "GET",
      path: "/v1/tenants",
      operationId: "listTenants",
      summary: "List tenants by slug",
      description: "Admin key only. Cursor-paginated, ordered by slug.",
      tag: "tenants",
      auth: "admin",
      query: listTenantsQuerySchema,
      responses: { 200: { description: "One page of tenants", schema: tenantPageSchema } },
      errors: ["validation_failed", "invalid_cursor"],
      handler({ query }) {
        return platform.tenants.list(parseWith(listTenantsQuerySchema, query, "query"));
      },
    }),
    defineApiRoute({
      method: "GET",
      path: "/v1/tenants/:id",
      operationId: "getTenant",
      summary: "One tenant",
      description: "Admin key only. 404 for an unknown id.",
      tag: "tenants",
      auth: "admin",
      params: idParams,
      responses: { 200: { description: "The tenant", schema: tenantSchema } },
      errors: ["validation_failed", "not_found"],
      handler: ({ params }) => platform.tenants.get(params.id),
    }),
    defineApiRoute({
      method: "PATCH",
      path: "/v1/tenants/:id",
      operationId: "updateTenant",
      summary: "Rename a tenant and/or change its settings (a JSON Merge Patch: `null` removes a member)",
      description:
        'Settings the platform reads: `webhookSecret` (signs webhook notifications, at least 16 characters), `alerts` (`[{ channel: telegram|webhook|event, to }]`) and `telegram` (the tenant\'s own bot: `{ botToken, webhookSecret, botUsername }`); other members are kept as given. Members named like a secret (`…secret`, `…token`, `…password`, `…apiKey`, …) are write-only: every read shows them as `"[redacted]"`.',
      tag: "tenants",
      auth: "admin",
      params: idParams,
      body: updateTenantSchema,
      responses: { 200: { description: "The tenant, secrets redacted", schema: tenantSchema } },
      errors: ["validation_failed", "not_found"],
      async handler({ params, body }) {
        const tenant = await platform.tenants.update(params.id, body as never);
        // A new Telegram webhook secret takes effect here at once (elsewhere within the cache's TTL).
        targets.forgetTenant(tenant.id);
        return tenant;
      },
    }),
    defineApiRoute({
      method: "POST",
      path: "/v1/tenants/:id/api-keys",
      operationId: "createApiKey",
      summary: "Issue an API key for a tenant (the key is shown once)",
      description: "Admin key only. The key is in the answer once; only its hash is stored.",
      tag: "tenants",
      auth: "admin",
      params: idParams,
      body: createApiKeySchema,
      responses: { 201: { description: "Issued; `key` is shown this once", schema: issuedApiKeySchema } },
      errors: ["validation_failed", "not_found"],
      async handler({ params, body }) {
        await platform.tenants.get(params.id); // a clear 404 for an unknown tenant
        return json(201, await platform.apiKeys.issue(params.id, body));
      },
    }),
    defineApiRoute({
      method: "POST",
      path: "/v1/tenants/:id/deactivate",
      operationId: "deactivateTenant",
      summary: "Deactivate a tenant: its API keys stop working (idempotent)",
      description: `Its keys then get 403 \`forbidden\`; its data is kept. ${CACHE_NOTE}`,
      tag: "tenants",
      auth: "admin",
      params: idParams,
      responses: { 200: { description: "The tenant, now inactive", schema: tenantSchema } },
      errors: ["validation_failed", "not_found"],
      async handler({ params }) {
        const tenant = await platform.tenants.deactivate(params.id);
        authenticator.forgetTenant(tenant.id);
        targets.forgetTenant(tenant.id);
        return tenant;
      },
    }),
    defineApiRoute({
      method: "POST",
      path: "/v1/tenants/:id/activate",
      operationId: "activateTenant",
      summary: "Re-activate a tenant: its unrevoked, unexpired API keys work again (idempotent)",
      description: CACHE_NOTE,
      tag: "tenants",
      auth: "admin",
      params: idParams,
      responses: { 200: { description: "The tenant, now active", schema: tenantSchema } },
      errors: ["validation_failed", "not_found"],
      async handler({ params }) {
        const tenant = await platform.tenants.activate(params.id);
        // Drops the cached "tenant is deactivated" rejections too.
        authenticator.forgetTenant(tenant.id);
        targets.forgetTenant(tenant.id);
        return tenant;
      },
    }),
    defineApiRoute({
      method: "GET",
      path: "/v1/tenants/:id/api-keys",
      operationId: "listTenantApiKeys",
      summary: "List a tenant's API keys, newest first (never the keys themselves)",
      description:
        "Admin key only. Each key's name, display prefix, scopes and dates; never the key or its hash.",
      tag: "tenants",
      auth: "admin",
      params: idParams,
      responses: { 200: { description: "The tenant's keys (at most 1000)", schema: apiKeyListSchema } },
      errors: ["validation_failed", "not_found"],
      async handler({ params }) {
        await platform.tenants.get(params.id); // a clear 404 for an unknown tenant
        return { items: await platform.apiKeys.list(params.id) };
      },
    }),
    defineApiRoute({
      method: "DELETE",
      path: "/v1/tenants/:id/api-keys/:keyId",
      operationId: "revokeTenantApiKey",
      summary: "Revoke one of a tenant's API keys (idempotent)",
      description: `A key of another tenant is 404. ${CACHE_NOTE}`,
      tag: "tenants",
      auth: "admin",
      params: tenantKeyParams,
      responses: { 200: { description: "The revoked key", schema: apiKeyInfoSchema } },
      errors: ["validation_failed", "not_found"],
      async handler({ params }) {
        await platform.tenants.get(params.id); // a clear 404 for an unknown tenant
        // Runs under the tenant's row-level security: another tenant's key id matches no row (404).
        const info = await platform.apiKeys.revoke(params.id, params.keyId);
        authenticator.forget(info.id);
        return info;
      },
    }),
    defineApiRoute({
      method: "GET",
      path: "/v1/api-keys",
      operationId: "listApiKeys",
      summary: "List the calling tenant's API keys, newest first (never the keys themselves)",
      description: "Each key's name, display prefix, scopes and dates; never the key or its hash.",
      tag: "tenants",
      auth: "tenant",
      scope: "read",
      responses: { 200: { description: "The tenant's keys (at most 1000)", schema: apiKeyListSchema } },
      async handler(ctx) {
        return { items: await platform.apiKeys.list(tenantOf(ctx)) };
      },
    }),
    defineApiRoute({
      method: "DELETE",
      path: "/v1/api-keys/:id",
      operationId: "revokeApiKey",
      summary: "Revoke one of the calling tenant's API keys (idempotent)",
      description: CACHE_NOTE,
      tag: "tenants",
      auth: "tenant",
      scope: "write",
      params: idParams,
      responses: { 200: { description: "The revoked key", schema: apiKeyInfoSchema } },
      errors: ["validation_failed", "not_found"],
      async handler(ctx) {
        const info = await platform.apiKeys.revoke(tenantOf(ctx), ctx.params.id);
        authenticator.forget(info.id);
        return info;
      },
    }),
  ];
}
