import { z } from "zod";
import { systemSchema } from "./common.js";
import { customEventTypeSchema, eventPatternSchema } from "./events.js";

/**
 * JSON Logic operators a policy condition may use. Everything else is rejected on write, so nothing
 * unknown can ever evaluate to true. `method` (calls arbitrary JavaScript methods) and `log` (writes to the
 * console) are deliberately absent.
 */
export const jsonLogicOperators = [
  "var",
  "missing",
  "missing_some",
  "if",
  "?:",
  "==",
  "===",
  "!=",
  "!==",
  "!",
  "!!",
  "or",
  "and",
  ">",
  ">=",
  "<",
  "<=",
  "max",
  "min",
  "+",
  "-",
  "*",
  "/",
  "%",
  "map",
  "filter",
  "reduce",
  "all",
  "none",
  "some",
  "merge",
  "in",
  "cat",
  "substr",
] as const;

const operatorSet: ReadonlySet<string> = new Set(jsonLogicOperators);
const MAX_DEPTH = 32;
const MAX_NODES = 2_000;

/** A problem found in a JSON Logic expression, with the path to it. */
export interface JsonLogicIssue {
  path: (string | number)[];
  message: string;
}

/**
 * Checks a JSON Logic expression against the allowed operators and shapes; returns every problem found
 * (empty when valid). Objects must have exactly one key, an operator; `var` takes a path string, a number
 * or `[path, default]`.
 *
 * @example
 * ```ts
 * validateJsonLogic({ "==": [{ var: "event.data.risk" }, "high"] }); // []
 * validateJsonLogic({ eval: ["1"] }); // [{ path: ["eval"], message: 'unknown operator "eval"' }]
 * ```
 */
export function validateJsonLogic(expression: unknown): JsonLogicIssue[] {
  const issues: JsonLogicIssue[] = [];
  let nodes = 0;
  const walk = (node: unknown, path: (string | number)[], depth: number): void => {
    if (++nodes > MAX_NODES) {
      if (nodes === MAX_NODES + 1)
        issues.push({ path, message: `expression has more than ${MAX_NODES} nodes` });
      return;
    }
    if (depth > MAX_DEPTH) {
      issues.push({ path, message: `expression is nested deeper than ${MAX_DEPTH}` });
      return;
    }
    if (node === null || typeof node === "string" || typeof node === "boolean") return;
    if (typeof node === "number") {
      if (!Number.isFinite(node)) issues.push({ path, message: "numbers must be finite" });
      return;
    }
    if (Array.isArray(node)) {
      for (const [i, item] of node.entries()) walk(item, [...path, i], depth + 1);
      return;
    }
    if (typeof node !== "object") {
      issues.push({ path, message: `unsupported value of type ${typeof node}` });
      return;
    }
    const keys = Object.keys(node);
    if (keys.length !== 1) {
      issues.push({
        path,
        message: `an operation must have exactly one key (the operator), found ${keys.length}`,
      });
      return;
    }
    const op = keys[0] as string;
    if (!operatorSet.has(op)) {
      issues.push({ path: [...path, op], message: `unknown operator "${op}"` });
      return;
    }
    const args = (node as Record<string, unknown>)[op];
    if (op === "var") {
      const ok =
        typeof args === "string" ||
        typeof args === "number" ||
        (Array.isArray(args) &&
          args.length >= 1 &&
          args.length <= 2 &&
          ["string", "number"].includes(typeof args[0]));
      if (!ok) issues.push({ path: [...path, op], message: "var takes a path string or [path, default]" });
      if (Array.isArray(args) && args.length === 2) walk(args[1], [...path, op, 1], depth + 1);
      return;
    }
    walk(args, [...path, op], depth + 1);
  };
  walk(expression, [], 0);
  return issues;
}

/** A JSON Logic expression, validated against `jsonLogicOperators`. */
export const jsonLogicSchema = z.json().superRefine((value, ctx) => {
  for (const issue of validateJsonLogic(value)) {
    ctx.addIssue({ code: "custom", message: issue.message, path: issue.path });
  }
});

const template = z.string().min(1).max(4_000);

/** `notify`: send a message on a channel. `template` may use `{{event.type}}`-style placeholders. */
export const notifyActionSchema = z
  .object({
    type: z.literal("notify"),
    channel: z.enum(["telegram", "webhook", "event"]),
    /** A Telegram chat id, a webhook URL, or an event name suffix for `event`. */
    to: z.string().min(1).max(2_000),
    template,
  })
  .strict();

/** `publish`: write a custom event to the outbox. */
export const publishActionSchema = z
  .object({
    type: z.literal("publish"),
    event: customEventTypeSchema,
    data: z.record(z.string(), z.json()).default({}),
  })
  .strict();

/**
 * `set_state`: merge `patch` (JSON merge patch) into a system's state, as written: its strings are not
 * templates (`"{{event.id}}"` is stored as those characters); `publish` data and texts are.
 */
export const setStateActionSchema = z
  .object({
    type: z.literal("set_state"),
    system: systemSchema.pipe(
      z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4), z.literal(5)]),
    ),
    patch: z.record(z.string(), z.json()),
  })
  .strict();

/** `algedonic`: raise a pain or pleasure signal straight to the tenant's alert channels. */
export const algedonicActionSchema = z
  .object({
    type: z.literal("algedonic"),
    severity: z.enum(["pain", "pleasure"]),
    message: template,
  })
  .strict();

/**
 * `record_reading`: record a reading of actuality on one of the policy's unit's indicators (Beer's triple
 * index fed by S1's own events). `value` is a number or a JSON Logic expression over the same data as `if`
 * (`{ "var": "event.data.output" }`) that gives a finite number ≥ 0; `at`, when given, an expression that
 * gives an ISO timestamp (the event's `occurredAt` otherwise). Idempotent: a retried evaluation records
 * the same reading at the same moment, which the indicator skips as a duplicate.
 */
export const recordReadingActionSchema = z
  .object({
    type: z.literal("record_reading"),
    indicator: z.string().trim().min(1).max(200).describe("The name of an indicator of the policy's unit."),
    value: jsonLogicSchema.describe(
      'The actuality: a number, or a JSON Logic expression giving one (for example { "var": "event.data.output" }).',
    ),
    at: jsonLogicSchema
      .optional()
      .describe(
        "When it was measured: an expression giving an ISO timestamp; default the event's occurredAt.",
      ),
  })
  .strict();

/** One action of a rule's `then`. */
export const policyActionSchema = z.discriminatedUnion("type", [
  notifyActionSchema,
  publishActionSchema,
  setStateActionSchema,
  algedonicActionSchema,
  recordReadingActionSchema,
]);

const DURATION_UNITS = { s: 1, m: 60, h: 3_600, d: 86_400 } as const;
/** The longest `for` or `cooldown`: seven days. */
export const MAX_DAMPING_SECONDS = 7 * 86_400;

/**
 * Seconds in a duration as policies write them: a whole number of seconds, or a number with a unit
 * (`"30s"`, `"5m"`, `"2h"`, `"1d"`), as in Prometheus alert rules. Undefined for anything else.
 *
 * @example
 * ```ts
 * durationSeconds("5m"); // 300
 * durationSeconds(90); // 90
 * ```
 */
export function durationSeconds(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== "string") return undefined;
  const match = /^(\d{1,7})(s|m|h|d)$/.exec(value);
  if (!match) return undefined;
  return Number(match[1]) * DURATION_UNITS[match[2] as keyof typeof DURATION_UNITS];
}

/** A `for` or `cooldown` duration: seconds, or `"30s"`, `"5m"`, `"2h"`, `"1d"`; at most seven days. */
export const dampingDurationSchema = z
  .union([z.number().int().min(0), z.string()])
  .superRefine((value, ctx) => {
    const seconds = durationSeconds(value);
    if (seconds === undefined) {
      ctx.addIssue({
        code: "custom",
        message: 'must be whole seconds or a duration like "30s", "5m", "2h", "1d"',
      });
    } else if (seconds > MAX_DAMPING_SECONDS) {
      ctx.addIssue({ code: "custom", message: "must be at most 7 days" });
    }
  });

/**
 * A policy's rules: `on` which events, `if` a JSON Logic condition holds (absent: always), `then` run
 * these actions. S2 damping: with `for`, the condition must have held on every matching event for that
 * long before the policy fires (once per stretch of holding); with `cooldown`, it stays quiet that long
 * after firing. A firing either holds back is recorded as `suppressed`, with the reason.
 *
 * @example
 * ```json
 * { "on": ["episode.analyzed"],
 *   "if": { "==": [{ "var": "event.data.risk" }, "high"] },
 *   "then": [{ "type": "notify", "channel": "telegram", "to": "-100123", "template": "High risk: {{episode.title}}" }] }
 * ```
 */
export const policyRulesSchema = z
  .object({
    on: z.array(eventPatternSchema).min(1).max(20),
    if: jsonLogicSchema.optional(),
    for: dampingDurationSchema
      .optional()
      .describe("How long the condition must hold (on every matching event) before the policy fires."),
    cooldown: dampingDurationSchema.optional().describe("How long the policy stays quiet after firing."),
    then: z.array(policyActionSchema).min(1).max(20),
  })
  .strict();

/** A notify action. */
export type NotifyAction = z.infer<typeof notifyActionSchema>;
/** A publish action. */
export type PublishAction = z.infer<typeof publishActionSchema>;
/** A set_state action. */
export type SetStateAction = z.infer<typeof setStateActionSchema>;
/** An algedonic action. */
export type AlgedonicAction = z.infer<typeof algedonicActionSchema>;
/** A record_reading action. */
export type RecordReadingAction = z.infer<typeof recordReadingActionSchema>;
/** Any policy action. */
export type PolicyAction = z.infer<typeof policyActionSchema>;
/** A policy's validated rules. */
export type PolicyRules = z.infer<typeof policyRulesSchema>;
