import type { EventEnvelope, Policy, PolicyAction } from "@cybernetic/core";

/** What a full policy evaluation (the workers' S5 engine) reports for one event. */
export interface PolicyEvaluationOutcome {
  /** Whether the `if` condition held (true when the policy has none). */
  conditionMet: boolean;
  /** The actions that would run. */
  actions: PolicyAction[];
  /** Why the condition could not be evaluated (e.g. an operator that throws); empty when it was. */
  errors?: string[];
}

/**
 * Evaluates a policy against an event without running its actions. `@cybernetic/workers` provides the
 * real one (it owns the JSON Logic engine); without it, `POST /v1/policies/:id/evaluate` reports only
 * which `on` patterns match and says so.
 */
export type PolicyEvaluator = (
  policy: Policy,
  event: EventEnvelope,
) => PolicyEvaluationOutcome | Promise<PolicyEvaluationOutcome>;
