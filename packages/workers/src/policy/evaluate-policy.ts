/**
 * The S5 policy engine, pure: does a policy fire for an event, and what would it do? Used by the
 * `policy.evaluate` job (which then runs the actions) and for dry runs. Nothing here touches the
 * database or the network.
 *
 * Safety rule: anything the engine does not understand (rules that fail the grammar, an operator outside
 * the JSON Logic whitelist, an unknown action type, a condition that throws) makes the policy NOT match,
 * with an error saying why. Never the other way round.
 */
import {
  type EventEnvelope,
  type Json,
  type JsonObject,
  matchesEventPattern,
  type PolicyRules,
  policyRulesSchema,
  type RecordReadingAction,
  type SystemNumber,
  validateJsonLogic,
} from "@cybernetic/core";
import jsonLogic from "json-logic-js";
import type { PolicyContext, PolicyContextInput } from "./policy-context.js";
import { renderTemplate } from "./render-template.js";

/** An action with its templates rendered, ready to run. `index` is its position in `then`. */
export type PlannedAction =
  | { index: number; type: "notify"; channel: "telegram" | "webhook" | "event"; to: string; text: string }
  | { index: number; type: "publish"; event: `custom.${string}`; data: JsonObject }
  | { index: number; type: "set_state"; system: SystemNumber; patch: JsonObject }
  | { index: number; type: "algedonic"; severity: "pain" | "pleasure"; message: string }
  | { index: number; type: "record_reading"; indicator: string; actuality: number; at: string };

/** The verdict of `evaluatePolicy`. */
export interface PolicyEvaluation {
  /** The event's type matches one of the rules' `on` patterns. */
  onMatched: boolean;
  /** `on` matched, the rules are valid and the `if` condition held: the actions should run. */
  matched: boolean;
  /** The condition's value (`true` when there is no `if`); null when it was not evaluated. */
  conditionResult: unknown;
  /** What would run, in order; empty unless `matched`. */
  actions: PlannedAction[];
  /** Why the policy could not be evaluated (invalid rules, unknown operator, a throwing condition). */
  errors: string[];
}

/** The part of a policy the engine reads. `rules` is re-validated: stored data is not trusted. */
export interface EvaluablePolicy {
  id: string;
  rules: PolicyRules | unknown;
}

const MAX_DATA_DEPTH = 20;

/**
 * A JSON copy of the context with null-prototype objects, so a JSON Logic `var` such as
 * `event.constructor` finds nothing instead of a prototype member.
 */
function toLogicData(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== "object") return typeof value === "function" ? null : value;
  if (depth > 64) return null;
  if (Array.isArray(value)) return value.map((item) => toLogicData(item, depth + 1));
  const out = Object.create(null) as Record<string, unknown>;
  for (const [key, member] of Object.entries(value)) {
    if (member !== undefined) out[key] = toLogicData(member, depth + 1);
  }
  return out;
}

/** Renders every string inside a JSON value (publish data); keys and non-strings are left alone. */
function renderJson(value: Json, context: PolicyContext, depth = 0): Json {
  if (typeof value === "string") return renderTemplate(value, context);
  if (value === null || typeof value !== "object" || depth > MAX_DATA_DEPTH) return value;
  if (Array.isArray(value)) return value.map((item) => renderJson(item, context, depth + 1));
  const out: JsonObject = {};
  for (const [key, member] of Object.entries(value)) {
    Object.defineProperty(out, key, {
      value: renderJson(member, context, depth + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/**
 * True when a policy's `on` patterns match the event type. Reads the raw rules (stored data is not
 * trusted), so it is a cheap filter before a full `evaluatePolicy`.
 *
 * @example
 * ```ts
 * policyListensTo({ on: ["episode.*"], then: [] }, "episode.analyzed"); // true
 * ```
 */
export function policyListensTo(rules: unknown, type: string): boolean {
  if (rules === null || typeof rules !== "object") return false;
  const on = (rules as { on?: unknown }).on;
  return Array.isArray(on) && on.some((p) => typeof p === "string" && matchesEventPattern(p, type));
}

/** An action that cannot be planned (a `record_reading` value that is not a number): the policy does not match. */
class PlanError extends Error {}

/** Applies a JSON Logic expression of an action, after the same whitelist check as `if`. */
function applyLogic(expression: unknown, data: unknown, what: string): unknown {
  const issues = validateJsonLogic(expression);
  if (issues.length > 0) {
    throw new PlanError(
      `invalid ${what}${issues[0]?.path.length ? ` at ${issues[0].path.join(".")}` : ""}: ${issues[0]?.message}`,
    );
  }
  try {
    return jsonLogic.apply(expression as jsonLogic.RulesLogic, data);
  } catch (error) {
    throw new PlanError(`${what} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function planReading(action: RecordReadingAction, index: number, context: PolicyContext): PlannedAction {
  const data = toLogicData(context);
  const what = `then.${index}`;
  const value = applyLogic(action.value, data, `${what}.value`);
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new PlanError(
      `${what}.value gave ${JSON.stringify(value) ?? String(value)}, not a finite number ≥ 0`,
    );
  }
  let at = context.event.occurredAt;
  if (action.at !== undefined) {
    const given = applyLogic(action.at, data, `${what}.at`);
    const time = typeof given === "string" && ISO_TIMESTAMP.test(given) ? Date.parse(given) : Number.NaN;
    if (!Number.isFinite(time)) {
      throw new PlanError(`${what}.at gave ${JSON.stringify(given) ?? String(given)}, not an ISO timestamp`);
    }
    at = new Date(time).toISOString();
  }
  return { index, type: "record_reading", indicator: action.indicator, actuality: value, at };
}

/** An ISO 8601 date and time with a zone (`Z` or an offset), as `at` must give. */
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

function plan(rules: PolicyRules, context: PolicyContext): PlannedAction[] {
  return rules.then.map((action, index): PlannedAction => {
    switch (action.type) {
      case "notify":
        return {
          index,
          type: "notify",
          channel: action.channel,
          to: action.to,
          text: renderTemplate(action.template, context),
        };
      case "publish":
        return {
          index,
          type: "publish",
          // Rules are validated on write: a publish action's event matches customEventTypeSchema.
          event: action.event as `custom.${string}`,
          data: renderJson(action.data, context) as JsonObject,
        };
      case "set_state":
        return { index, type: "set_state", system: action.system, patch: action.patch as JsonObject };
      case "record_reading":
        return planReading(action, index, context);
      default:
        return {
          index,
          type: "algedonic",
          severity: action.severity,
          message: renderTemplate(action.message, context),
        };
    }
  });
}

/**
 * Evaluates a policy against an event: checks its `on` patterns, evaluates its `if` (JSON Logic) against
 * `{ event, tenant, episode?, state? }`, and plans its actions with their `{{…}}` templates rendered.
 * Pure: runs nothing. Invalid rules, an operator outside the whitelist, an unknown action type or a
 * condition that throws all give `matched: false` with `errors`.
 *
 * @example
 * ```ts
 * const verdict = evaluatePolicy(policy, event, { tenant, episode });
 * if (verdict.matched) for (const action of verdict.actions) console.log(action.type);
 * ```
 */
export function evaluatePolicy(
  policy: EvaluablePolicy,
  event: EventEnvelope,
  context: PolicyContextInput = {},
): PolicyEvaluation {
  const notMatched = (onMatched: boolean, errors: string[], conditionResult: unknown = null) => ({
    onMatched,
    matched: false,
    conditionResult,
    actions: [],
    errors,
  });
  const parsed = policyRulesSchema.safeParse(policy.rules);
  if (!parsed.success) {
    const errors = parsed.error.issues.map(
      (issue) =>
        `invalid rules${issue.path.length > 0 ? ` at ${issue.path.join(".")}` : ""}: ${issue.message}`,
    );
    return notMatched(policyListensTo(policy.rules, event.type), errors);
  }
  const rules = parsed.data;
  if (!rules.on.some((pattern) => matchesEventPattern(pattern, event.type))) return notMatched(false, []);
  const full: PolicyContext = { ...context, event };
  let conditionResult: unknown = true;
  if (rules.if !== undefined) {
    // Validated on write and by the schema above; checked once more right before applying, because the
    // JSON Logic library would happily run operators (`method`, `log`, anything added globally) we do not allow.
    const issues = validateJsonLogic(rules.if);
    if (issues.length > 0) {
      return notMatched(
        true,
        issues.map(
          (i) => `invalid condition${i.path.length > 0 ? ` at ${i.path.join(".")}` : ""}: ${i.message}`,
        ),
      );
    }
    try {
      conditionResult = jsonLogic.apply(rules.if as jsonLogic.RulesLogic, toLogicData(full));
    } catch (error) {
      return notMatched(true, [
        `condition failed: ${error instanceof Error ? error.message : String(error)}`,
      ]);
    }
  }
  if (!jsonLogic.truthy(conditionResult)) return notMatched(true, [], conditionResult ?? null);
  let actions: PlannedAction[];
  try {
    actions = plan(rules, full);
  } catch (error) {
    if (error instanceof PlanError) return notMatched(true, [error.message], conditionResult ?? null);
    throw error;
  }
  return { onMatched: true, matched: true, conditionResult, actions, errors: [] };
}
