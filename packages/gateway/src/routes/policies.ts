import {
  type CyberneticEvent,
  createPolicySchema,
  customEventTypeSchema,
  eventTypes,
  jsonObjectSchema,
  listPoliciesSchema,
  matchesEventPattern,
  type Policy,
  updatePolicySchema,
} from "@cybernetic/core";
import { z } from "zod";
import { parseWith } from "../internal/parse-with.js";
import { json, noContent } from "../internal/reply.js";
import { policyEvaluationSchema, policyPageSchema, policySchema } from "../openapi/resource-schemas.js";
import { type AnyRoute, defineRoute } from "../route-definition.js";
import { idParams } from "./path-params.js";
import { type RouteDependencies, tenantOf } from "./route-dependencies.js";

const builtIn: ReadonlySet<string> = new Set(eventTypes);

/** Body of `POST /v1/policies/:id/evaluate`: a sample event to dry-run the policy against. */
export const evaluatePolicySchema = z
  .object({
    event: z
      .object({
        type: z
          .string()
          .max(100)
          .refine((type) => builtIn.has(type) || customEventTypeSchema.safeParse(type).success, {
            message: `must be a known event type (${eventTypes.join(", ")}) or custom.<name>`,
          }),
        data: jsonObjectSchema.default({}),
        occurredAt: z.iso.datetime({ offset: true }).optional(),
      })
      .strict(),
  })
  .strict();

const inEffectAt = (policy: Policy, at: number) =>
  policy.active &&
  (policy.effectiveFrom === null || Date.parse(policy.effectiveFrom) <= at) &&
  (policy.effectiveUntil === null || Date.parse(policy.effectiveUntil) > at);

/** S5 policies and their dry run. */
export function policyRoutes(deps: RouteDependencies): AnyRoute[] {
  const { policies } = deps.platform;
  return [
    defineRoute({
      method: "POST",
      path: "/v1/policies",
      operationId: "createPolicy",
      summary: "Create a policy; its rules are validated against the grammar",
      tag: "policies",
      auth: "tenant",
      body: createPolicySchema,
      responses: { 201: { description: "Created", schema: policySchema } },
      errors: ["validation_failed", "duplicate"],
      async handler(ctx) {
        return json(201, await policies.create(tenantOf(ctx), ctx.body));
      },
    }),
    defineRoute({
      method: "GET",
      path: "/v1/policies",
      operationId: "listPolicies",
      summary: "Policies, highest priority first",
      tag: "policies",
      auth: "tenant",
      query: listPoliciesSchema,
      responses: { 200: { description: "One page of policies", schema: policyPageSchema } },
      errors: ["validation_failed", "invalid_cursor"],
      handler: (ctx) => policies.list(tenantOf(ctx), ctx.query),
    }),
    defineRoute({
      method: "GET",
      path: "/v1/policies/:id",
      operationId: "getPolicy",
      summary: "One policy",
      tag: "policies",
      auth: "tenant",
      params: idParams,
      responses: { 200: { description: "The policy", schema: policySchema } },
      errors: ["validation_failed", "not_found"],
      handler: (ctx) => policies.get(tenantOf(ctx), ctx.params.id),
    }),
    defineRoute({
      method: "PATCH",
      path: "/v1/policies/:id",
      operationId: "updatePolicy",
      summary: "Change some fields of a policy (send `version` for optimistic locking)",
      tag: "policies",
      auth: "tenant",
      params: idParams,
      body: updatePolicySchema,
      responses: { 200: { description: "The updated policy", schema: policySchema } },
      errors: ["validation_failed", "not_found", "version_conflict", "duplicate"],
      handler: (ctx) => policies.update(tenantOf(ctx), ctx.params.id, ctx.body),
    }),
    defineRoute({
      method: "DELETE",
      path: "/v1/policies/:id",
      operationId: "deletePolicy",
      summary: "Delete a policy",
      tag: "policies",
      auth: "tenant",
      params: idParams,
      responses: { 204: { description: "Deleted" } },
      errors: ["validation_failed", "not_found"],
      async handler(ctx) {
        await policies.delete(tenantOf(ctx), ctx.params.id);
        return noContent();
      },
    }),
    defineRoute({
      method: "POST",
      path: "/v1/policies/:id/evaluate",
      operationId: "evaluatePolicy",
      summary:
        "Dry run: which `on` patterns match a sample event, and (with the workers' engine) the outcome",
      description:
        "Nothing is written and no action runs. When the gateway has no policy engine (`evaluator: on-match-only`), " +
        "the `if` condition is not evaluated and `condition.note` says so.",
      tag: "policies",
      auth: "tenant",
      scope: "read",
      params: idParams,
      body: evaluatePolicySchema,
      responses: { 200: { description: "The dry run's outcome", schema: policyEvaluationSchema } },
      errors: ["validation_failed", "not_found"],
      async handler(ctx) {
        const tenantId = tenantOf(ctx);
        const { event: sample } = parseWith(evaluatePolicySchema, ctx.body, "sample event");
        const policy = await policies.get(tenantId, ctx.params.id);
        const occurredAt = sample.occurredAt ?? new Date().toISOString();
        const patterns = policy.rules.on.map((pattern) => ({
          pattern,
          matches: matchesEventPattern(pattern, sample.type),
        }));
        const matched = patterns.some((p) => p.matches);
        const event: CyberneticEvent = {
          id: "0",
          type: sample.type,
          tenantId,
          occurredAt,
          data: sample.data as Record<string, unknown>,
        };
        let condition: { evaluated: boolean; result: boolean | null; note?: string };
        let actions: unknown[] = [];
        if (!matched) {
          condition = { evaluated: false, result: null, note: "no `on` pattern matches the event type" };
        } else if (deps.evaluatePolicy) {
          const outcome = await deps.evaluatePolicy(policy, event);
          const errors = outcome.errors ?? [];
          condition =
            errors.length > 0
              ? { evaluated: false, result: null, note: errors.join("; ") }
              : { evaluated: true, result: outcome.conditionMet };
          actions = outcome.conditionMet ? outcome.actions : [];
        } else {
          condition = {
            evaluated: false,
            result: null,
            note:
              policy.rules.if === undefined
                ? "the policy has no condition, so it would apply"
                : "the `if` condition was not evaluated: this gateway runs without the workers' policy engine",
          };
          actions = policy.rules.if === undefined ? policy.rules.then : [];
        }
        return {
          policyId: policy.id,
          version: policy.version,
          active: policy.active,
          inEffect: inEffectAt(policy, Date.parse(occurredAt)),
          event: { type: sample.type, occurredAt },
          patterns,
          matched,
          condition,
          actions,
          evaluator: deps.evaluatePolicy ? "workers" : "on-match-only",
        };
      },
    }),
  ];
}
