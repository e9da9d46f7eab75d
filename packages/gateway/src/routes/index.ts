import type { AnyRoute } from "../route-definition.js";
import { artifactRoutes } from "./artifacts.js";
import { episodeRoutes } from "./episodes.js";
import { jobRoutes } from "./jobs.js";
import { operationsRoutes } from "./operations.js";
import { policyRoutes } from "./policies.js";
import type { RouteDependencies } from "./route-dependencies.js";
import { systemRoutes } from "./systems.js";
import { tenantRoutes } from "./tenants.js";

/**
 * The route table: every route the gateway serves, in one list. Registration and the OpenAPI document
 * both read it. Reserved for later changes (not registered yet, so they answer 404 until they exist):
 * `GET /v1/events` (SSE) and `POST /telegram/webhook[/:tenantSlug]` (Telegram). Each is one more module here.
 */
export function routeTable(deps: RouteDependencies): AnyRoute[] {
  return [
    ...operationsRoutes(deps),
    ...tenantRoutes(deps),
    ...systemRoutes(deps),
    ...episodeRoutes(deps),
    ...policyRoutes(deps),
    ...artifactRoutes(deps),
    ...jobRoutes(deps),
  ];
}
