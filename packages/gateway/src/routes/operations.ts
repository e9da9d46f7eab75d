import { CyberneticError } from "@cybernetic/core";
import { z } from "zod";
import { text } from "../internal/reply.js";
import { type AnyRoute, defineApiRoute } from "../route-definition.js";
import type { RouteDependencies } from "./route-dependencies.js";

const checkSchema = z.object({
  status: z.enum(["ok", "degraded", "failed", "disabled"]),
  durationMs: z.number().optional(),
  error: z.string().optional(),
});

/** The body of `GET /ready`: each dependency's check. */
const readinessSchema = z
  .object({
    status: z.enum(["ready", "degraded"]),
    checks: z.object({ database: checkSchema, storage: checkSchema, queue: checkSchema }),
  })
  .meta({ id: "Readiness" });

/** The body of `GET /health`. */
const healthSchema = z.object({ status: z.literal("ok"), uptimeSeconds: z.number() }).meta({ id: "Health" });

/** `/health`, `/ready`, `/metrics`, `/openapi.json`: for load balancers, Prometheus and tooling. */
export function operationsRoutes(deps: RouteDependencies): AnyRoute[] {
  let openapiText: string | undefined;
  return [
    defineApiRoute({
      method: "GET",
      path: "/health",
      operationId: "health",
      summary: "Liveness: the process is up (checks no dependency)",
      description:
        "Answers 200 as long as the process runs; use `/ready` to know whether it can serve requests.",
      tag: "operations",
      auth: "public",
      responses: { 200: { description: "Alive", schema: healthSchema } },
      handler: () => ({
        status: "ok",
        uptimeSeconds: Math.round(performance.now() - deps.startedAt) / 1000,
      }),
    }),
    defineApiRoute({
      method: "GET",
      path: "/ready",
      operationId: "ready",
      summary: "Readiness: database, storage and queue each answer within the timeout",
      description:
        "Runs the database, storage and queue checks in parallel; 503 while one fails or the server is draining, so a load balancer moves on.",
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
        return { status: report.degraded ? "degraded" : "ready", checks };
      },
    }),
    defineApiRoute({
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
    defineApiRoute({
      method: "GET",
      path: "/openapi.json",
      operationId: "openapi",
      summary: "This API's OpenAPI 3.1 document",
      description:
        "Generated from the route table and the contract's zod schemas, the same objects that validate requests.",
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
