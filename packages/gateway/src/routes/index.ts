import type { AnyRoute } from "../route-definition.js";
import { alertRoutes } from "./alerts.js";
import { artifactRoutes } from "./artifacts.js";
import { auditRoutes } from "./audits.js";
import { episodeRoutes } from "./episodes.js";
import { eventRoutes } from "./events.js";
import { indicatorRoutes } from "./indicators.js";
import { jobRoutes } from "./jobs.js";
import { notificationRoutes } from "./notifications.js";
import { operationsRoutes } from "./operations.js";
import { policyRoutes } from "./policies.js";
import type { RouteDependencies } from "./route-dependencies.js";
import { systemRoutes } from "./systems.js";
import { telegramRoutes } from "./telegram.js";
import { tenantRoutes } from "./tenants.js";
import { unitRoutes } from "./units.js";

/**
 * The route table: every route the gateway serves, in one list. Registration and the OpenAPI document
 * both read it. A new group of routes is one more module here.
 */
export function routeTable(deps: RouteDependencies): AnyRoute[] {
  return [
    ...operationsRoutes(deps),
    ...tenantRoutes(deps),
    ...systemRoutes(deps),
    ...unitRoutes(deps),
    ...indicatorRoutes(deps),
    ...episodeRoutes(deps),
    ...policyRoutes(deps),
    ...alertRoutes(deps),
    ...auditRoutes(deps),
    ...artifactRoutes(deps),
    ...jobRoutes(deps),
    ...notificationRoutes(deps),
    ...eventRoutes(deps),
    ...telegramRoutes(deps),
  ];
}
