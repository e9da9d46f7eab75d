import { z } from "zod";
import {
  cursorSchema,
  jsonRecordSchema,
  limitSchema,
  pageSchemaOf,
  timestampSchema,
  uuidSchema,
} from "./common.js";
import { policyRulesSchema } from "./policy-rules.js";

const fields = {
  name: z.string().trim().min(1).max(200),
  description: z.string().max(2_000),
  rules: policyRulesSchema,
  priority: z.number().int().min(0).max(1_000),
  active: z.boolean(),
  effectiveFrom: z.iso.datetime({ offset: true }).nullable(),
  effectiveUntil: z.iso.datetime({ offset: true }).nullable(),
  unitId: uuidSchema.describe(
    "The unit the policy governs: it sees the events of this unit and of every unit below it. Default the root unit (every event).",
  ),
};

const windowOk = (v: { effectiveFrom?: string | null; effectiveUntil?: string | null }) =>
  !v.effectiveFrom || !v.effectiveUntil || Date.parse(v.effectiveFrom) <= Date.parse(v.effectiveUntil);
const windowIssue = { message: "effectiveFrom must not be after effectiveUntil", path: ["effectiveUntil"] };

/** Body of `POST /v1/policies`. */
export const createPolicySchema = z
  .object({
    name: fields.name,
    description: fields.description.default(""),
    rules: fields.rules,
    priority: fields.priority.default(100),
    active: fields.active.default(true),
    effectiveFrom: fields.effectiveFrom.optional(),
    effectiveUntil: fields.effectiveUntil.optional(),
    unitId: fields.unitId.optional(),
  })
  .strict()
  .refine(windowOk, windowIssue);
/** Input of `policies.create`. */
export type CreatePolicyInput = z.input<typeof createPolicySchema>;

/** Body of `PATCH /v1/policies/:id`: any subset of fields, plus the version being replaced. */
export const updatePolicySchema = z
  .object({
    name: fields.name.optional(),
    description: fields.description.optional(),
    rules: fields.rules.optional(),
    priority: fields.priority.optional(),
    active: fields.active.optional(),
    effectiveFrom: fields.effectiveFrom.optional(),
    effectiveUntil: fields.effectiveUntil.optional(),
    unitId: fields.unitId.optional(),
    /** When given, a stale version is a 409 `version_conflict`. */
    version: z.number().int().min(1).optional(),
  })
  .strict()
  .refine(windowOk, windowIssue);
/** Input of `policies.update`. */
export type UpdatePolicyInput = z.input<typeof updatePolicySchema>;

/** Query of `GET /v1/policies`. */
export const listPoliciesSchema = z
  .object({
    limit: limitSchema,
    cursor: cursorSchema.optional(),
    active: z
      .enum(["true", "false"])
      .transform((v) => v === "true")
      .optional(),
    unitId: uuidSchema.optional().describe("Only policies of this unit."),
  })
  .strict();
/** Input of `policies.list`. */
export type ListPoliciesInput = z.input<typeof listPoliciesSchema>;

/** A policy as the API returns it. */
export const policySchema = z
  .object({
    id: z.uuid(),
    unitId: z.uuid().describe("The unit the policy governs (it also sees the units below it)."),
    name: z.string(),
    description: z.string(),
    rules: policyRulesSchema,
    priority: z.number().int(),
    active: z.boolean(),
    effectiveFrom: timestampSchema.nullable(),
    effectiveUntil: timestampSchema.nullable(),
    version: z.number().int(),
    createdAt: timestampSchema,
    updatedAt: timestampSchema,
  })
  .meta({ id: "Policy" });
/** A policy as the API returns it. */
export type Policy = z.infer<typeof policySchema>;

/** A page of policies. */
export const policyPageSchema = pageSchemaOf(policySchema, "PolicyPage");

/** Answer of `POST /v1/policies/:id/evaluate`: what the policy would do with a sample event. */
export const policyEvaluationSchema = z
  .object({
    policyId: z.uuid(),
    version: z.number().int(),
    active: z.boolean(),
    inEffect: z.boolean().describe("Active and within its effective window at the event's time."),
    event: z.object({ type: z.string(), occurredAt: timestampSchema }),
    patterns: z.array(z.object({ pattern: z.string(), matches: z.boolean() })),
    matched: z.boolean().describe("Some `on` pattern matches the event type."),
    condition: z.object({
      evaluated: z.boolean(),
      result: z.boolean().nullable(),
      note: z.string().optional(),
    }),
    actions: z
      .array(z.unknown())
      .describe("The actions that would run (none unless matched and the condition held)."),
    evaluator: z.enum(["workers", "on-match-only"]),
  })
  .meta({ id: "PolicyEvaluation" });
/** Answer of `POST /v1/policies/:id/evaluate`. */
export type PolicyEvaluation = z.infer<typeof policyEvaluationSchema>;

/** What happened to one (event, policy) pair: the outcome's `status`. */
export const policyEvaluationStatuses = [
  "applied",
  "not_matched",
  "suppressed",
  "error",
  "loop_guard",
  "failed",
] as const;
/** An evaluation's status. */
export type PolicyEvaluationStatus = (typeof policyEvaluationStatuses)[number];

/**
 * Why S2 held a firing back: `pending` (the condition has not held for `for` yet), `firing` (it already
 * fired during this stretch of holding), `cooldown` (it fired less than `cooldown` ago), `out_of_order`
 * (an event older than one already decided on).
 */
export const suppressionReasons = ["pending", "firing", "cooldown", "out_of_order"] as const;
/** Why a firing was suppressed. */
export type SuppressionReason = (typeof suppressionReasons)[number];

/** Query of `GET /v1/policies/:id/evaluations`. */
export const listPolicyEvaluationsSchema = z
  .object({
    limit: limitSchema,
    cursor: cursorSchema.optional(),
    status: z.enum(policyEvaluationStatuses).optional(),
  })
  .strict();
/** Input of `policies.evaluations`. */
export type ListPolicyEvaluationsInput = z.input<typeof listPolicyEvaluationsSchema>;

/** One recorded evaluation of a policy against an event. */
export const policyEvaluationRecordSchema = z
  .object({
    eventId: z.string().describe("The outbox id of the event evaluated."),
    eventType: z.string().nullable().describe("Null once housekeeping removed the event."),
    evaluatedAt: timestampSchema,
    matched: z.boolean().describe("The `on` pattern and the condition matched (suppressed ones included)."),
    status: z.enum(policyEvaluationStatuses),
    suppressed: z
      .object({
        reason: z.enum(suppressionReasons),
        message: z.string().describe("The reason in plain words."),
      })
      .nullable()
      .describe("Set when S2 held the firing back."),
    outcome: jsonRecordSchema.describe("The full record: condition result, errors, actions run."),
  })
  .meta({ id: "PolicyEvaluationRecord" });
/** One recorded evaluation of a policy. */
export type PolicyEvaluationRecord = z.infer<typeof policyEvaluationRecordSchema>;

/** S2's memory of a damped policy. */
export const policyDampingSchema = z
  .object({
    forSeconds: z.number().int(),
    cooldownSeconds: z.number().int(),
    pendingSince: timestampSchema
      .nullable()
      .describe("Since when the condition has held; null when it does not."),
    firing: z.boolean().describe("It fired during the current stretch of holding."),
    lastFiredAt: timestampSchema.nullable(),
    suppressed: z
      .object({
        total: z.number().int(),
        byReason: z.record(z.string(), z.number().int()),
      })
      .describe("Firings held back since the policy was created."),
  })
  .meta({ id: "PolicyDamping" });
/** S2's memory of a damped policy. */
export type PolicyDamping = z.infer<typeof policyDampingSchema>;

/** A page of a policy's evaluations, with its damping state (null for a policy without `for`/`cooldown`). */
export const policyEvaluationPageSchema = z
  .object({
    items: z.array(policyEvaluationRecordSchema),
    nextCursor: z
      .string()
      .optional()
      .describe("Pass as ?cursor= for the next page; absent on the last page."),
    damping: policyDampingSchema.nullable(),
  })
  .meta({ id: "PolicyEvaluationPage" });
/** A page of a policy's evaluations. */
export type PolicyEvaluationPage = z.infer<typeof policyEvaluationPageSchema>;
