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

/** `set_state`: merge `patch` (JSON merge patch) into a system's state. */
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

/** One action of a rule's `then`. */
export const policyActionSchema = z.discriminatedUnion("type", [
  notifyActionSchema,
  publishActionSchema,
  setStateActionSchema,
  algedonicActionSchema,
]);

/**
 * A policy's rules: `on` which events, `if` a JSON Logic condition holds (absent: always), `then` run
 * these actions.
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
/** Any policy action. */
export type PolicyAction = z.infer<typeof policyActionSchema>;
/** A policy's validated rules. */
export type PolicyRules = z.infer<typeof policyRulesSchema>;
