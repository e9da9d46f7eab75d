import { describe, expect, it } from "vitest";
import {
  jsonLogicOperators,
  jsonLogicSchema,
  type PolicyRules,
  policyActionSchema,
  policyRulesSchema,
  validateJsonLogic,
} from "./policy-rules.js";

/** `{ op: { op: … { op: leaf } } }`, `depth` operators deep. */
const nest = (op: string, depth: number, leaf: unknown = true): unknown =>
  depth === 0 ? leaf : { [op]: nest(op, depth - 1, leaf) };

const paths = (result: ReturnType<typeof policyRulesSchema.safeParse>) =>
  result.success ? [] : result.error.issues.map((i) => i.path.join("."));

describe("validateJsonLogic", () => {
  it.each<[string, unknown]>([
    ["a comparison", { "==": [{ var: "event.data.risk" }, "high"] }],
    [
      "nested logic",
      {
        and: [
          { ">=": [{ var: "event.data.score" }, 0.5] },
          { or: [{ in: ["ops", { var: "event.data.tags" }] }, { "!": { var: "event.data.quiet" } }] },
        ],
      },
    ],
    [
      "if/then/else",
      { if: [{ "<": [{ var: "n" }, 10] }, "small", { "<": [{ var: "n" }, 100] }, "medium", "large"] },
    ],
    ["array operations", { some: [{ var: "items" }, { "==": [{ var: "" }, 3] }] }],
    ["reduce", { reduce: [{ var: "xs" }, { "+": [{ var: "current" }, { var: "accumulator" }] }, 0] }],
    ["string helpers", { cat: ["S", { substr: [{ var: "id" }, 0, 4] }] }],
    ["missing", { missing: ["a", "b"] }],
    ["a literal true", true],
    ["a literal number", 42],
    ["a literal string", "yes"],
    ["null", null],
    ["an array of literals", [1, "two", false, null]],
  ])("accepts %s", (_, expression) => {
    expect(validateJsonLogic(expression)).toEqual([]);
  });

  it.each([...jsonLogicOperators])("accepts the allowed operator %s", (op) => {
    expect(validateJsonLogic({ [op]: ["a", 1] })).toEqual([]);
  });

  it.each<[string, unknown]>([
    ["a path string", { var: "event.data.risk" }],
    ["an empty path (the current item)", { var: "" }],
    ["an array index", { var: 0 }],
    ["[path]", { var: ["a.b"] }],
    ["[path, default]", { var: ["a.b", 0] }],
    ["[index, default expression]", { var: [1, { cat: ["x", "y"] }] }],
  ])("accepts var with %s", (_, expression) => {
    expect(validateJsonLogic(expression)).toEqual([]);
  });

  it.each<[string, unknown]>([
    ["an object", { var: { path: "a" } }],
    ["an empty array", { var: [] }],
    ["three elements", { var: ["a", 1, 2] }],
    ["a boolean", { var: true }],
    ["null", { var: null }],
    ["an object as path", { var: [{ var: "a" }] }],
  ])("rejects var with %s at the var", (_, expression) => {
    const issues = validateJsonLogic(expression);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ path: ["var"], message: expect.stringContaining("var") });
  });

  it("checks a var's default expression too", () => {
    expect(validateJsonLogic({ var: ["a", { eval: "x" }] })).toEqual([
      { path: ["var", 1, "eval"], message: 'unknown operator "eval"' },
    ]);
  });

  const disallowed = [
    "eval",
    "method",
    "log",
    "regex",
    "require",
    "Function",
    "constructor",
    "toString",
    "hasOwnProperty",
    "valueOf",
    "=",
    "",
    "VAR",
  ];
  it.each(disallowed)("rejects the operator %j, naming it at its path", (op) => {
    expect(validateJsonLogic({ [op]: [1] })).toEqual([{ path: [op], message: `unknown operator "${op}"` }]);
    const nested = validateJsonLogic({ and: [true, { or: [false, { [op]: [1] }] }] });
    expect(nested).toEqual([{ path: ["and", 1, "or", 1, op], message: `unknown operator "${op}"` }]);
  });

  it('rejects "__proto__" given as a real JSON key', () => {
    const expression = JSON.parse('{"__proto__": [1]}');
    expect(validateJsonLogic(expression)).toEqual([
      { path: ["__proto__"], message: 'unknown operator "__proto__"' },
    ]);
  });

  it("rejects objects that are not exactly one operator", () => {
    expect(validateJsonLogic({})).toEqual([
      { path: [], message: expect.stringMatching(/exactly one key.*found 0/) },
    ]);
    expect(validateJsonLogic({ and: [{ "==": [1, 1], "!=": [1, 2] }] })).toEqual([
      { path: ["and", 0], message: expect.stringMatching(/exactly one key.*found 2/) },
    ]);
  });

  it("reports every problem, not just the first", () => {
    const issues = validateJsonLogic({ and: [{ eval: 1 }, { method: 2 }, { var: true }] });
    expect(issues.map((i) => i.path)).toEqual([
      ["and", 0, "eval"],
      ["and", 1, "method"],
      ["and", 2, "var"],
    ]);
  });

  it.each<[string, unknown]>([
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
  ])("rejects the non-finite number %s", (_, value) => {
    expect(validateJsonLogic({ "==": [1, value] })).toEqual([
      { path: ["==", 1], message: "numbers must be finite" },
    ]);
  });

  it.each<[string, unknown]>([
    ["undefined", undefined],
    ["a function", () => true],
    ["a bigint", 1n],
    ["a symbol", Symbol("x")],
  ])("rejects a value that is not JSON: %s", (_, value) => {
    const issues = validateJsonLogic({ "==": [1, value] });
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toEqual(["==", 1]);
    expect(issues[0]?.message).toMatch(/unsupported value of type/);
  });

  it("accepts moderate nesting and rejects deep nesting once", () => {
    expect(validateJsonLogic(nest("!", 10))).toEqual([]);
    const issues = validateJsonLogic(nest("!", 200));
    expect(issues).toHaveLength(1);
    expect(issues[0]?.message).toMatch(/nested deeper than \d+/);
    // The path leads down the chain to where the limit was hit.
    expect(issues[0]?.path.every((p) => p === "!")).toBe(true);
    expect(issues[0]?.path.length).toBeGreaterThan(10);
  });

  it("finds the depth limit between an accepted and a rejected depth", () => {
    let ok = 0;
    while (validateJsonLogic(nest("!", ok + 1)).length === 0 && ok < 1000) ok++;
    expect(ok).toBeGreaterThanOrEqual(10);
    expect(ok).toBeLessThan(1000);
    expect(validateJsonLogic(nest("!", ok))).toEqual([]);
    expect(validateJsonLogic(nest("!", ok + 1))[0]?.message).toMatch(/deeper/);
  });

  it("accepts a moderately large expression and rejects a huge one once", () => {
    expect(validateJsonLogic({ and: Array.from({ length: 500 }, () => true) })).toEqual([]);
    const issues = validateJsonLogic({ and: Array.from({ length: 50_000 }, () => ({ "==": [1, 1] })) });
    expect(issues).toHaveLength(1);
    expect(issues[0]?.message).toMatch(/more than \d+ nodes/);
  });

  it("is exposed as a zod schema whose issues carry the paths", () => {
    expect(jsonLogicSchema.safeParse({ "==": [1, 1] }).success).toBe(true);
    const result = jsonLogicSchema.safeParse({ or: [true, { eval: "1" }] });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path)).toEqual([["or", 1, "eval"]]);
  });
});

describe("policyRulesSchema", () => {
  const notify = {
    type: "notify",
    channel: "telegram",
    to: "-100123",
    template: "High risk: {{event.data.title}}",
  };
  const base = { on: ["episode.analyzed"], then: [notify] };

  it("parses rules with every action type and fills defaults", () => {
    const rules = {
      on: ["episode.*", "custom.audit", "*"],
      if: { "==": [{ var: "event.data.risk" }, "high"] },
      then: [
        notify,
        { type: "notify", channel: "webhook", to: "https://example.com/hook", template: "{{event.type}}" },
        { type: "notify", channel: "event", to: "ops", template: "x" },
        { type: "publish", event: "custom.escalated" },
        { type: "set_state", system: "5", patch: { mood: "alert", stale: null } },
        { type: "algedonic", severity: "pleasure", message: "record week" },
      ],
    };
    const parsed = policyRulesSchema.parse(rules) as PolicyRules;
    expect(parsed.then[3]).toEqual({ type: "publish", event: "custom.escalated", data: {} });
    expect(parsed.then[4]).toEqual({ type: "set_state", system: 5, patch: { mood: "alert", stale: null } });
    expect(parsed.on).toEqual(rules.on);
    expect(parsed.if).toEqual(rules.if);
  });

  it("makes the condition optional", () => {
    expect(policyRulesSchema.parse(base)).toEqual(base);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ["an unknown operator", { if: { eval: "1" } }, "if.eval"],
    ["an object with two keys", { if: { "==": [1, 1], "<": [1, 2] } }, "if"],
    ["an unknown action type", { then: [{ type: "exec", command: "ls" }] }, "then.0.type"],
    ["a notify with an unknown channel", { then: [{ ...notify, channel: "sms" }] }, "then.0.channel"],
    ["a notify with an empty target", { then: [{ ...notify, to: "" }] }, "then.0.to"],
    ["a notify with an empty template", { then: [{ ...notify, template: "" }] }, "then.0.template"],
    ["an action with an extra field", { then: [{ ...notify, retries: 3 }] }, "then.0"],
    ["an unknown event type", { on: ["episode.unknown"] }, "on.0"],
    ["an unknown event category", { on: ["episode.created", "nosuch.*"] }, "on.1"],
    ["an event pattern with uppercase", { on: ["Episode.created"] }, "on.0"],
    ["no event patterns", { on: [] }, "on"],
    ["21 event patterns", { on: Array.from({ length: 21 }, () => "*") }, "on"],
    ["no actions", { then: [] }, "then"],
    ["21 actions", { then: Array.from({ length: 21 }, () => notify) }, "then"],
    ["set_state of system 6", { then: [{ type: "set_state", system: 6, patch: {} }] }, "then.0.system"],
    ["set_state of system 0", { then: [{ type: "set_state", system: 0, patch: {} }] }, "then.0.system"],
    ["set_state of system x", { then: [{ type: "set_state", system: "x", patch: {} }] }, "then.0.system"],
    ["set_state without a patch", { then: [{ type: "set_state", system: 1 }] }, "then.0.patch"],
    ["publish of a built-in type", { then: [{ type: "publish", event: "algedonic.alert" }] }, "then.0.event"],
    ["publish of a bare category", { then: [{ type: "publish", event: "custom" }] }, "then.0.event"],
    ["publish with array data", { then: [{ type: "publish", event: "custom.x", data: [1] }] }, "then.0.data"],
    [
      "algedonic with an unknown severity",
      { then: [{ type: "algedonic", severity: "meh", message: "m" }] },
      "then.0.severity",
    ],
    ["an unknown top-level key", { else: [] }, ""],
  ])("rejects %s at %j", (_, override, path) => {
    const result = policyRulesSchema.safeParse({ ...base, ...override });
    expect(result.success).toBe(false);
    expect(paths(result)).toContain(path);
  });

  it("an unknown action type never parses as some other action", () => {
    for (const type of ["NOTIFY", "notify ", "Publish", "", null]) {
      expect(policyActionSchema.safeParse({ ...notify, type }).success).toBe(false);
    }
  });
});
