import { notFound } from "@cybernetic/core";
import type { JobInfo } from "../gateway-dependencies.js";
import { jobSchema } from "../openapi/resource-schemas.js";
import { type AnyRoute, defineRoute } from "../route-definition.js";
import { idParams } from "./path-params.js";
import { notConfigured, type RouteDependencies, tenantOf } from "./route-dependencies.js";

const iso = (value: Date | string | null | undefined): string | null =>
  value === null || value === undefined ? null : value instanceof Date ? value.toISOString() : value;

function toJob(job: JobInfo) {
  return {
    id: job.id,
    name: job.name,
    state: job.state,
    priority: job.priority,
    attempts: job.attempts,
    retryLimit: job.retryLimit,
    createdAt: iso(job.createdAt),
    startedAt: iso(job.startedAt),
    completedAt: iso(job.completedAt),
    output: job.output ?? null,
  };
}

/** `GET /v1/jobs/:id`: a tenant sees only jobs it enqueued. */
export function jobRoutes(deps: RouteDependencies): AnyRoute[] {
  return [
    defineRoute({
      method: "GET",
      path: "/v1/jobs/:id",
      operationId: "getJob",
      summary: "One of the calling tenant's jobs (e.g. an episode's analysis)",
      tag: "jobs",
      auth: "tenant",
      params: idParams,
      responses: { 200: { description: "The job", schema: jobSchema } },
      errors: ["validation_failed", "not_found", "unavailable"],
      async handler(ctx) {
        if (deps.queue === undefined) throw notConfigured("the job queue");
        const job = await deps.queue.getJob(ctx.params.id.toLowerCase());
        // Another tenant's job is indistinguishable from a missing one.
        if (job === null || job.tenantId !== tenantOf(ctx)) throw notFound("job", ctx.params.id);
        return toJob(job);
      },
    }),
  ];
}
