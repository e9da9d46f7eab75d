import {
  createPolicySchema,
  customEventTypeSchema,
  type EventEnvelope,
  eventTypes,
  jsonObjectSchema,
  listPoliciesSchema,
  listPolicyEvaluationsSchema,
  matchesEventPattern,
  type Policy,
  policyEvaluationPageSchema,
  policyEvaluationSchema,
  policyPageSchema,
  policySchema,
  updatePolicySchema,
} from "@cybernetic/core";
import { z } from "zod";
import { EVENT_CURSOR_RESPONSE_HEADERS, listAtEventCursor } from "../internal/event-cursor.js";
import { parseWith } from "../internal/parse-with.js";
import { json, noContent } from "../internal/reply.js";
import { type AnyRoute, defineApiRoute } from "../route-definition.js";
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
    defineApiRoute({
      method: "POST",
      path: "/v1/policies",
      operationId: "createPolicy",
      summary: "Create a policy; its rules are validated against the grammar",
      description:
        "Names are unique per tenant (409 on a duplicate). Writes `policy.created` to the outbox in the same transaction.",
      tag: "policies",
      auth: "tenant",
      body: createPolicySchema,
      responses: { 201: { description: "Created", schema: policySchema } },
      errors: ["validation_failed", "duplicate"],
      async handler(ctx) {
        return json(201, await policies.create(tenantOf(ctx), ctx.body));
      },
    }),
    defineApiRoute({
      method: "GET",
      path: "/v1/policies",
      operationId: "listPolicies",
      summary: "Policies, highest priority first",
      description: "Cursor-paginated; `active` filters the list.",
      tag: "policies",
      auth: "tenant",
      query: listPoliciesSchema,
      responses: {
        200: {
          description: "One page of policies",
          schema: policyPageSchema,
          headers: EVENT_CURSOR_RESPONSE_HEADERS,
        },
      },
      errors: ["validation_failed", "invalid_cursor"],
      handler: (ctx) =>
        listAtEventCursor(deps.platform.db, tenantOf(ctx), () => policies.list(tenantOf(ctx), ctx.query)),
    }),
    defineApiRoute({
      method: "GET",
      path: "/v1/policies/:id",
      operationId: "getPolicy",
      summary: "One policy",
      description: "404 for an unknown id or a policy of another tenant.",
      tag: "policies",
      auth: "tenant",
      params: idParams,
      responses: { 200: { description: "The policy", schema: policySchema } },
      errors: ["validation_failed", "not_found"],
      handler: (ctx) => policies.get(tenantOf(ctx), ctx.params.id),
    }),
    defineApiRoute({
      method: "PATCH",
      path: "/v1/policies/:id",
      operationId: "updatePolicy",
      summary: "Change some fields of a policy (send `version` for optimistic locking)",
      description:
        "A JSON merge of the fields sent; with `version`, a stale version answers 409 `version_conflict`. Writes `policy.updated` to the outbox.",
      tag: "policies",
      auth: "tenant",
      params: idParams,
      body: updatePolicySchema,
      responses: { 200: { description: "The updated policy", schema: policySchema } },
      errors: ["validation_failed", "not_found", "version_conflict", "duplicate"],
      handler: (ctx) => policies.update(tenantOf(ctx), ctx.params.id, ctx.body),
    }),
    defineApiRoute({
      method: "DELETE",
      path: "/v1/policies/:id",
      operationId: "deletePolicy",
      summary: "Delete a policy",
      description:
        "Writes `policy.deleted` to the outbox in the same transaction; 404 when it does not exist.",
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
    defineApiRoute({
      method: "GET",
      path: "/v1/policies/:id/evaluations",
      operationId: "listPolicyEvaluations",
      summary: "What the policy did with each event it evaluated, newest first, suppressed firings included",
      description:
        "Each record says `applied`, `not_matched`, `suppressed` (S2 damping held a firing back: `suppressed.reason` " +
        "is `pending`, `firing`, `cooldown` or `out_of_order`, with the reason in plain words), `error`, `loop_guard` " +
        "or `failed`. `damping` is the policy's `for`/`cooldown` state with the count of suppressed firings by reason " +
        "(null for a policy without them). Records go with their events (housekeeping's retention).",
      tag: "policies",
      auth: "tenant",
      params: idParams,
      query: listPolicyEvaluationsSchema,
      responses: { 200: { description: "One page of evaluations", schema: policyEvaluationPageSchema } },
      errors: ["validation_failed", "invalid_cursor", "not_found"],
      handler: (ctx) => policies.evaluations(tenantOf(ctx), ctx.params.id, ctx.query),
    }),
    defineApiRoute({
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
        const event: EventEnvelope = {
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
