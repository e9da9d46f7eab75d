import { createApiKeySchema, createTenantSchema, cursorSchema, limitSchema } from "@cybernetic/core";
import { z } from "zod";
import { parseWith } from "../internal/parse-with.js";
import { json } from "../internal/reply.js";
import {
  apiKeyInfoSchema,
  createdTenantSchema,
  issuedApiKeySchema,
  tenantPageSchema,
  tenantSchema,
} from "../openapi/resource-schemas.js";
import { type AnyRoute, defineRoute } from "../route-definition.js";
import { idParams } from "./path-params.js";
import { type RouteDependencies, tenantOf } from "./route-dependencies.js";

/** Query of `GET /v1/tenants`. */
export const listTenantsQuerySchema = z
  .object({ limit: limitSchema, cursor: cursorSchema.optional() })
  .strict();

/** The admin API (tenants and their keys) and key revocation by tenants. */
export function tenantRoutes(deps: RouteDependencies): AnyRoute[] {
  const { platform } = deps;
  return [
    defineRoute({
      method: "POST",
      path: "/v1/tenants",
      operationId: "createTenant",
      summary: "Create a tenant with its five systems and a first API key (shown once)",
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
    defineRoute({
      method: "GET",
      path: "/v1/tenants",
      operationId: "listTenants",
      summary: "List tenants by slug",
      tag: "tenants",
      auth: "admin",
      query: listTenantsQuerySchema,
      responses: { 200: { description: "One page of tenants", schema: tenantPageSchema } },
      errors: ["validation_failed", "invalid_cursor"],
      handler({ query }) {
        return platform.tenants.list(parseWith(listTenantsQuerySchema, query, "query"));
      },
    }),
    defineRoute({
      method: "GET",
      path: "/v1/tenants/:id",
      operationId: "getTenant",
      summary: "One tenant",
      tag: "tenants",
      auth: "admin",
      params: idParams,
      responses: { 200: { description: "The tenant", schema: tenantSchema } },
      errors: ["validation_failed", "not_found"],
      handler: ({ params }) => platform.tenants.get(params.id),
    }),
    defineRoute({
      method: "POST",
      path: "/v1/tenants/:id/api-keys",
      operationId: "createApiKey",
      summary: "Issue an API key for a tenant (the key is shown once)",
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
    defineRoute({
      method: "DELETE",
      path: "/v1/api-keys/:id",
      operationId: "revokeApiKey",
      summary: "Revoke one of the calling tenant's API keys (idempotent)",
      description:
        "Takes effect at once on this gateway instance and within API_KEY_CACHE_TTL_MS (default 5 s) on others.",
      tag: "tenants",
      auth: "tenant",
      scope: "write",
      params: idParams,
      responses: { 200: { description: "The revoked key", schema: apiKeyInfoSchema } },
      errors: ["validation_failed", "not_found"],
      async handler(ctx) {
        const info = await platform.apiKeys.revoke(tenantOf(ctx), ctx.params.id);
        deps.authenticator.forget(info.id);
        return info;
      },
    }),
  ];
}
