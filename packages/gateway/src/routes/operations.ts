import { CyberneticError } from "@cybernetic/core";
import { z } from "zod";
import { text } from "../internal/reply.js";
import { healthSchema, readinessSchema } from "../openapi/resource-schemas.js";
import { type AnyRoute, defineRoute } from "../route-definition.js";
import type { RouteDependencies } from "./route-dependencies.js";

/** `/health`, `/ready`, `/metrics`, `/openapi.json`: for load balancers, Prometheus and tooling. */
export function operationsRoutes(deps: RouteDependencies): AnyRoute[] {
  let openapiText: string | undefined;
  return [
    defineRoute({
      method: "GET",
      path: "/health",
      operationId: "health",
      summary: "Liveness: the process is up (checks no dependency)",
      tag: "operations",
      auth: "public",
      responses: { 200: { description: "Alive", schema: healthSchema } },
      handler: () => ({
        status: "ok",
        uptimeSeconds: Math.round(performance.now() - deps.startedAt) / 1000,
      }),
    }),
    defineRoute({
      method: "GET",
      path: "/ready",
      operationId: "ready",
      summary: "Readiness: database, storage and queue each answer within the timeout",
      tag: "operations",
      auth: "public",
      responses: {
        200: { description: "Ready", schema: readinessSchema },
        503: { description: "Not ready; `details.checks` names the failing checks" },
      },
      errors: ["unavailable"],
      async handler() {
        if (deps.draining()) {
          throw new CyberneticError("unavailable", "not ready: shutting down", {
            details: { failing: ["shutdown"] },
          });
        }
        const report = await deps.readiness.check();
        const checks = report.checks;
        if (!report.ready) {
          const failing = Object.entries(checks)
            .filter(([, c]) => c.status === "failed")
            .map(([name]) => name);
          throw new CyberneticError("unavailable", `not ready: ${failing.join(", ")} failing`, {
            details: { failing, checks },
          });
        }
        return { status: "ready", checks };
      },
    }),
    defineRoute({
      method: "GET",
      path: "/metrics",
      operationId: "metrics",
      summary: "Prometheus metrics (text exposition format)",
      description: "Requires `Authorization: Bearer <METRICS_TOKEN>` when METRICS_TOKEN is set.",
      tag: "operations",
      auth: "metrics",
      responses: {
        200: { description: "Prometheus text format 0.0.4", schema: z.string(), contentType: "text/plain" },
      },
      async handler() {
        return text(200, await deps.metrics.render(), deps.metrics.contentType);
      },
    }),
    defineRoute({
      method: "GET",
      path: "/openapi.json",
      operationId: "openapi",
      summary: "This API's OpenAPI 3.1 document",
      tag: "operations",
      auth: "public",
      responses: { 200: { description: "OpenAPI 3.1 document", schema: z.record(z.string(), z.unknown()) } },
      handler() {
        openapiText ??= deps.openapi();
        return text(200, openapiText, "application/json; charset=utf-8");
      },
    }),
  ];
}
