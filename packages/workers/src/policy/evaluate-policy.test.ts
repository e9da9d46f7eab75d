import type { CyberneticEvent, PolicyRules } from "@cybernetic/core";
import { describe, expect, it } from "vitest";
import { evaluatePolicy, policyListensTo } from "./evaluate-policy.js";
import type { PolicyContextInput } from "./policy-context.js";

const event: CyberneticEvent = {
  id: "42",
  type: "episode.analyzed",
  tenantId: "7d0c5a8e-3f0e-4b7a-9a55-3f1b8c2d9e10",
  occurredAt: "2025-01-01T00:00:00.000Z",
  data: {
    episodeId: "b1c2d3e4-0000-4000-8000-000000000001",
    title: "Line 3 stopped",
    risk: "high",
    systems: [1, 3],
    sentiment: "negative",
  },
};

const context: PolicyContextInput = {
  tenant: { id: event.tenantId, slug: "acme", name: "Acme", settings: { region: "eu" } },
  episode: {
    id: "b1c2d3e4-0000-4000-8000-000000000001",
    title: "Packaging line stopped",
    content: "The packaging line stopped twice.",
    source: "api",
    sourceId: null,
    tags: ["ops"],
    status: "complete",
    analysis: { risk: { level: "high", reasons: ["outage"] } },
    createdAt: "2025-01-01T00:00:00.000Z",
    analyzedAt: "2025-01-01T00:00:01.000Z",
  },
};

const notify = {
  type: "notify",
  channel: "telegram",
  to: "-100123",
  template: "{{event.data.risk}}: {{episode.title}}",
} as const;

const policy = (rules: Partial<PolicyRules> | Record<string, unknown>) => ({
  id: "p1",
  rules: { on: ["episode.analyzed"], then: [notify], ...rules },
});

describe("evaluatePolicy", () => {
  it("matches when on and if hold, and plans the actions with rendered templates", () => {
    const verdict = evaluatePolicy(
      policy({
        if: {
          and: [{ "==": [{ var: "event.data.risk" }, "high"] }, { in: [3, { var: "event.data.systems" }] }],
        },
      }),
      event,
      context,
    );
    expect(verdict).toEqual({
      onMatched: true,
      matched: true,
      conditionResult: true,
      actions: [
        {
          index: 0,
          type: "notify",
          channel: "telegram",
          to: "-100123",
          text: "high: Packaging line stopped",
        },
      ],
      errors: [],
    });
  });

  it("a missing if always holds; on patterns may be categories or *", () => {
    expect(evaluatePolicy(policy({ on: ["episode.*"] }), event, context).matched).toBe(true);
    expect(evaluatePolicy(policy({ on: ["*"] }), event, context).matched).toBe(true);
  });

  it("does not match another event type, and says so without errors", () => {
    const verdict = evaluatePolicy(policy({ on: ["episode.created", "policy.*"] }), event, context);
    expect(verdict).toMatchObject({ onMatched: false, matched: false, actions: [], errors: [] });
  });

  it("does not match when the condition is false, and reports its value", () => {
    const verdict = evaluatePolicy(
      policy({ if: { "==": [{ var: "event.data.risk" }, "low"] } }),
      event,
      context,
    );
    expect(verdict).toMatchObject({
      onMatched: true,
      matched: false,
      conditionResult: false,
      actions: [],
      errors: [],
    });
  });

  it("uses JSON Logic truthiness: an empty array does not match, a non-empty one does", () => {
    const empty = evaluatePolicy(
      policy({ if: { filter: [{ var: "event.data.systems" }, { ">": [{ var: "" }, 4] }] } }),
      event,
      context,
    );
    expect(empty.matched).toBe(false);
    const some = evaluatePolicy(
      policy({ if: { filter: [{ var: "event.data.systems" }, { ">": [{ var: "" }, 2] }] } }),
      event,
      context,
    );
    expect(some.matched).toBe(true);
  });

  it("sees the tenant, the episode and the state in its context", () => {
    const withState: PolicyContextInput = {
      ...context,
      state: {
        system: 3,
        name: "control",
        state: { budget: 120 },
        version: 4,
        updatedAt: "2025-01-01T00:00:00.000Z",
      },
    };
    const rules = {
      if: {
        and: [
          { "==": [{ var: "tenant.slug" }, "acme"] },
          { "==": [{ var: "episode.analysis.risk.level" }, "high"] },
          { ">": [{ var: "state.state.budget" }, 100] },
        ],
      },
    };
    expect(evaluatePolicy(policy(rules), event, withState).matched).toBe(true);
    expect(evaluatePolicy(policy(rules), event, {}).matched).toBe(false);
  });

  it("renders every string of publish data and leaves set_state patches as written", () => {
    const verdict = evaluatePolicy(
      policy({
        then: [
          {
            type: "publish",
            event: "custom.escalated",
            data: { about: "{{episode.title}}", nested: ["{{event.id}}", 1] },
          },
          { type: "set_state", system: 3, patch: { note: "{{event.id}}" } },
          { type: "algedonic", severity: "pain", message: "Pain: {{event.data.title}}" },
        ],
      }),
      event,
      context,
    );
    expect(verdict.actions).toEqual([
      {
        index: 0,
        type: "publish",
        event: "custom.escalated",
        data: { about: "Packaging line stopped", nested: ["42", 1] },
      },
      { index: 1, type: "set_state", system: 3, patch: { note: "{{event.id}}" } },
      { index: 2, type: "algedonic", severity: "pain", message: "Pain: Line 3 stopped" },
    ]);
  });

  describe("record_reading", () => {
    const reading = (action: Record<string, unknown>) =>
      policy({ then: [{ type: "record_reading", indicator: "output", ...action }] });
    const outputEvent = {
      ...event,
      data: { ...event.data, output: 840, measuredAt: "2025-01-01T00:59:00+01:00" },
    };

    it("plans a number or an expression over the event, at the event's time unless `at` says otherwise", () => {
      expect(evaluatePolicy(reading({ value: 12.5 }), outputEvent, context).actions).toEqual([
        { index: 0, type: "record_reading", indicator: "output", actuality: 12.5, at: event.occurredAt },
      ]);
      const verdict = evaluatePolicy(
        reading({ value: { "*": [{ var: "event.data.output" }, 2] }, at: { var: "event.data.measuredAt" } }),
        outputEvent,
        context,
      );
      expect(verdict.matched).toBe(true);
      // The offset is kept as the same moment, written in UTC.
      expect(verdict.actions).toEqual([
        {
          index: 0,
          type: "record_reading",
          indicator: "output",
          actuality: 1680,
          at: "2024-12-31T23:59:00.000Z",
        },
      ]);
    });

    it.each([
      [
        "a string",
        { value: { var: "event.data.title" } },
        /then\.0\.value gave "Line 3 stopped", not a finite number/,
      ],
      ["a missing field", { value: { var: "event.data.nothing" } }, /then\.0\.value gave null/],
      ["a negative number", { value: -1 }, /then\.0\.value gave -1/],
      [
        "an operator outside the whitelist",
        { value: { method: ["x", "length"] } },
        /invalid rules at then\.0\.value/,
      ],
      [
        "an `at` that is no timestamp",
        { value: 1, at: { var: "event.data.title" } },
        /then\.0\.at gave "Line 3 stopped", not an ISO timestamp/,
      ],
      ["an `at` without a zone", { value: 1, at: "2025-01-01T00:00:00" }, /not an ISO timestamp/],
    ])("does not match when the value is %s, and says why", (_name, action, message) => {
      const verdict = evaluatePolicy(reading(action), outputEvent, context);
      expect(verdict.matched).toBe(false);
      expect(verdict.onMatched).toBe(true);
      expect(verdict.actions).toEqual([]);
      expect(verdict.errors.join("\n")).toMatch(message);
    });
  });

  describe("never evaluates anything unknown to true", () => {
    const cases: [string, Record<string, unknown>][] = [
      ["an operator outside the whitelist", { if: { eval: ["1"] } }],
      ["the method operator", { if: { method: [{ var: "event.type" }, "startsWith", ["episode"]] } }],
      ["the log operator", { if: { log: true } }],
      ["an unknown operator nested under a known one", { if: { or: [true, { exec: "rm -rf" }] } }],
      ["an unknown action type", { then: [{ type: "shell", command: "true" }] }],
      [
        "a malformed action",
        { then: [{ type: "notify", channel: "carrier-pigeon", to: "x", template: "y" }] },
      ],
      ["an unknown event pattern", { on: ["episode.analysed"] }],
      ["an extra key in the rules", { unless: true }],
      ["rules that are not an object", { then: "notify everyone" }],
    ];
    for (const [name, rules] of cases) {
      it(name, () => {
        const verdict = evaluatePolicy(policy(rules), event, context);
        expect(verdict.matched).toBe(false);
        expect(verdict.actions).toEqual([]);
        expect(verdict.errors.length).toBeGreaterThan(0);
      });
    }

    it("a stored rule set that is not even an object", () => {
      const verdict = evaluatePolicy({ id: "p", rules: "always" }, event, context);
      expect(verdict).toMatchObject({ matched: false, onMatched: false });
      expect(verdict.errors.length).toBeGreaterThan(0);
    });

    it("a condition that throws inside the JSON Logic engine", () => {
      // Whitelisted operators only, but comparing an object with a string makes the engine convert a
      // prototype-less object to a primitive, which throws: the policy must not match.
      const verdict = evaluatePolicy(policy({ if: { "==": [{ var: "event.data" }, "x"] } }), event, context);
      expect(verdict.matched).toBe(false);
      expect(verdict.errors).toEqual([expect.stringMatching(/^condition failed: /)]);
    });

    it("prototype members are not reachable from conditions", () => {
      const verdict = evaluatePolicy(policy({ if: { var: "event.constructor" } }), event, context);
      expect(verdict.matched).toBe(false);
      expect(verdict.conditionResult).toBeNull();
    });
  });
});

describe("policyListensTo", () => {
  it("reads raw rules defensively", () => {
    expect(policyListensTo({ on: ["episode.*"] }, "episode.analyzed")).toBe(true);
    expect(policyListensTo({ on: ["policy.*"] }, "episode.analyzed")).toBe(false);
    expect(policyListensTo({ on: "episode.analyzed" }, "episode.analyzed")).toBe(false);
    expect(policyListensTo(null, "episode.analyzed")).toBe(false);
  });
});
