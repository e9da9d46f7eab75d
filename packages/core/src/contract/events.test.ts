import { describe, expect, it } from "vitest";
import {
  CUSTOM_EVENT_CATEGORY,
  customEventTypeSchema,
  eventCategories,
  eventPatternSchema,
  eventTypes,
  matchesEventPattern,
} from "./events.js";

/** The outbox's CHECK on `events.type` (migration 0001). */
const storedTypeShape = /^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/;

/** The event types of the recursive model (docs/vsm.md). */
const vsmTypes = [
  "unit.created",
  "unit.updated",
  "unit.moved",
  "unit.archived",
  "algedonic.escalated",
  "algedonic.acknowledged",
  "algedonic.resolved",
  "audit.finding",
  "audit.completed",
  "indicator.created",
  "indicator.updated",
  "indicator.readings_recorded",
  "indicator.change_detected",
];

describe("event types", () => {
  it("are <category>.<name>, unique, and storable in the outbox", () => {
    expect(new Set(eventTypes).size).toBe(eventTypes.length);
    for (const type of eventTypes) expect(type).toMatch(storedTypeShape);
  });

  it("are every type DESIGN.md lists, and those of the running VSM (units, alerts, audits, indicators)", () => {
    expect([...eventTypes].sort()).toEqual(
      [
        ...vsmTypes,
        "episode.created",
        "episode.analyzed",
        "episode.failed",
        "policy.created",
        "policy.updated",
        "policy.deleted",
        "policy.triggered",
        "system.state_changed",
        "artifact.stored",
        "artifact.deleted",
        "notification.sent",
        "notification.failed",
        "algedonic.alert",
        "telegram.message",
        "telegram.command",
      ].sort(),
    );
  });

  it("categories are exactly the prefixes of the types, and custom is not one of them", () => {
    expect([...eventCategories].sort()).toEqual([...new Set(eventTypes.map((t) => t.split(".")[0]))].sort());
    expect(eventCategories).not.toContain(CUSTOM_EVENT_CATEGORY);
  });
});

describe("matchesEventPattern", () => {
  it.each<[string, string, boolean]>([
    ["*", "episode.created", true],
    ["*", "custom.anything", true],
    ["episode.*", "episode.analyzed", true],
    ["episode.*", "episode.created", true],
    ["episode.*", "policy.created", false],
    ["episode.*", "episodes.created", false],
    ["episode.*", "episode", false],
    ["episode.analyzed", "episode.analyzed", true],
    ["episode.analyzed", "episode.analyzed_v2", false],
    ["episode.created", "episode.analyzed", false],
    ["custom.*", "custom.escalated", true],
    ["custom.escalated", "custom.escalated", true],
    ["system.*", "system.state_changed", true],
  ])("%s vs %s → %s", (pattern, type, expected) => {
    expect(matchesEventPattern(pattern, type)).toBe(expected);
  });

  it("each category pattern matches exactly that category's types", () => {
    for (const category of eventCategories) {
      const matched = eventTypes.filter((t) => matchesEventPattern(`${category}.*`, t));
      expect(matched).toEqual(eventTypes.filter((t) => t.startsWith(`${category}.`)));
      expect(matched.length).toBeGreaterThan(0);
    }
  });

  it("every type matches itself and * but no other exact type", () => {
    for (const type of eventTypes) {
      expect(matchesEventPattern("*", type)).toBe(true);
      expect(eventTypes.filter((other) => matchesEventPattern(type, other))).toEqual([type]);
    }
  });
});

describe("eventPatternSchema", () => {
  it.each([
    "*",
    ...eventTypes,
    ...eventCategories.map((c) => `${c}.*`),
    "custom.*",
    "custom.escalated",
    "custom.a_1",
  ])("accepts %s", (pattern) => {
    expect(eventPatternSchema.safeParse(pattern).success).toBe(true);
  });

  it.each<[string, unknown, RegExp]>([
    ["an unknown type in a known category", "episode.unknown", /unknown event type "episode.unknown"/],
    ["an unknown category wildcard", "nosuch.*", /unknown event category "nosuch"/],
    ["an unknown exact type", "nosuch.thing", /unknown event type/],
    ["a bare category", "episode", /unknown event type/],
    ["a bare wildcard suffix", ".*", /unknown event category ""/],
    ["a double wildcard", "**", /unknown event type/],
    ["a category wildcard of a type", "episode.created.*", /unknown event category/],
    ["uppercase", "Episode.created", /unknown event type/],
    ["a malformed custom type", "custom.Bad-Name", /unknown event type/],
    ["the empty string", "", /unknown event type/],
    ["a 101-character pattern", `custom.${"a".repeat(94)}`, /100/],
    ["a number", 5, /string/i],
  ])("rejects %s", (_, pattern, message) => {
    const result = eventPatternSchema.safeParse(pattern);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.message).join("; ")).toMatch(message);
  });
});

describe("customEventTypeSchema", () => {
  it.each(["custom.escalated", "custom.a", "custom.report_ready", "custom.v2"])("accepts %s", (type) => {
    expect(customEventTypeSchema.parse(type)).toBe(type);
    expect(type).toMatch(storedTypeShape);
  });

  it.each<[string, unknown, RegExp]>([
    ["a built-in type", "episode.created", /custom/],
    ["a built-in category's new name", "algedonic.custom", /custom/],
    ["the bare category", "custom", /custom\.<name>/],
    ["a wildcard", "custom.*", /custom\.<name>/],
    ["uppercase", "custom.Escalated", /custom\.<name>/],
    ["a dash", "custom.report-ready", /custom\.<name>/],
    ["three parts", "custom.a.b", /custom\.<name>/],
    ["over 100 characters", `custom.${"a".repeat(100)}`, /100/],
    ["a number", 1, /string/i],
  ])("rejects %s", (_, type, message) => {
    const result = customEventTypeSchema.safeParse(type);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.message).join("; ")).toMatch(message);
  });
});
