import { z } from "zod";
import { cursorSchema, limitSchema } from "./common.js";
import { type PolicyRules, policyRulesSchema } from "./policy-rules.js";

const fields = {
  name: z.string().trim().min(1).max(200),
  description: z.string().max(2_000),
  rules: policyRulesSchema,
  priority: z.number().int().min(0).max(1_000),
  active: z.boolean(),
  effectiveFrom: z.iso.datetime({ offset: true }).nullable(),
  effectiveUntil: z.iso.datetime({ offset: true }).nullable(),
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
  })
  .strict();
/** Input of `policies.list`. */
export type ListPoliciesInput = z.input<typeof listPoliciesSchema>;

/** A policy as the API returns it. */
export interface Policy {
  id: string;
  name: string;
  description: string;
  rules: PolicyRules;
  priority: number;
  active: boolean;
  effectiveFrom: string | null;
  effectiveUntil: string | null;
  version: number;
  createdAt: string;
  updatedAt: string;
}
