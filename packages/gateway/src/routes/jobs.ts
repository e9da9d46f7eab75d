import { type Job, jobSchema, notFound } from "@cybernetic/core";
import type { GatewayJob } from "../gateway-dependencies.js";
import { type AnyRoute, defineApiRoute } from "../route-definition.js";
import { idParams } from "./path-params.js";
import { notConfigured, type RouteDependencies, tenantOf } from "./route-dependencies.js";

/** The API's view of a queued job: everything but the tenant (the caller's own, by construction). */
function toJob({ tenantId: _tenant, ...job }: GatewayJob): Job {
  return job;
}

/** `GET /v1/jobs/:id`: a tenant sees only jobs it enqueued. */
export function jobRoutes(deps: RouteDependencies): AnyRoute[] {
  return [
    defineApiRoute({
      method: "GET",
      path: "/v1/jobs/:id",
      operationId: "getJob",
      summary: "One of the calling tenant's jobs (e.g. an episode's analysis)",
      description: "Only the calling tenant's jobs are visible; another tenant's job id is 404.",
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
