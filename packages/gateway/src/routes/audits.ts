import { auditPageSchema, auditSchema, listAuditsSchema, runAuditSchema } from "@cybernetic/core";
import { json } from "../internal/reply.js";
import { type AnyRoute, defineApiRoute } from "../route-definition.js";
import { idParams } from "./path-params.js";
import { type RouteDependencies, tenantOf } from "./route-dependencies.js";

/** S3* audits: run one now, read what they found. */
export function auditRoutes(deps: RouteDependencies): AnyRoute[] {
  const { audits } = deps.platform;
  return [
    defineApiRoute({
      method: "POST",
      path: "/v1/audits",
      operationId: "runAudit",
      summary: "Audit a unit and everything below it now (default the whole tenant)",
      description:
        "Samples each unit and checks stuck episodes, stale states, policies whose evaluations fail, artifacts whose " +
        "stored bytes no longer match their recorded size and SHA-256, and stuck notifications. The audit and its " +
        "findings are stored together, each finding is published as `audit.finding`, and a severe one raises an " +
        "algedonic alert at its unit. Besides this, the workers audit every tenant once an hour at a random moment.",
      tag: "audits",
      auth: "tenant",
      body: runAuditSchema,
      bodyRequired: false,
      responses: { 201: { description: "The audit and its findings", schema: auditSchema } },
      errors: ["validation_failed", "not_found"],
      async handler(ctx) {
        return json(201, await audits.run(tenantOf(ctx), ctx.body ?? {}, { trigger: "manual" }));
      },
    }),
    defineApiRoute({
      method: "GET",
      path: "/v1/audits",
      operationId: "listAudits",
      summary: "Audits, newest first (their findings counted in `summary`)",
      description: "Cursor-paginated; `trigger` says whether the schedule or a request ran it.",
      tag: "audits",
      auth: "tenant",
      query: listAuditsSchema,
      responses: { 200: { description: "One page of audits", schema: auditPageSchema } },
      errors: ["validation_failed", "invalid_cursor"],
      handler: (ctx) => audits.list(tenantOf(ctx), ctx.query),
    }),
    defineApiRoute({
      method: "GET",
      path: "/v1/audits/:id",
      operationId: "getAudit",
      summary: "One audit with its findings",
      description: "404 for an unknown id or an audit of another tenant.",
      tag: "audits",
      auth: "tenant",
      params: idParams,
      responses: { 200: { description: "The audit", schema: auditSchema } },
      errors: ["validation_failed", "not_found"],
      handler: (ctx) => audits.get(tenantOf(ctx), ctx.params.id),
    }),
  ];
}
