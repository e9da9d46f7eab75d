import { describe, expect, it } from "vitest";
import { lookupPath, renderTemplate } from "./render-template.js";

const context = {
  event: {
    id: "42",
    type: "episode.analyzed",
    data: { title: "Line 3 stopped", risk: "high", tags: ["ops", "night"] },
  },
  episode: { title: "Packaging line", analysis: { risk: { level: "high" } } },
  tenant: { slug: "acme", settings: {} },
};

describe("renderTemplate", () => {
  it("renders dotted paths from the context, with or without spaces inside the braces", () => {
    expect(
      renderTemplate("{{event.type}}: {{ event.data.title }} [{{episode.analysis.risk.level}}]", context),
    ).toBe("episode.analyzed: Line 3 stopped [high]");
  });

  it("renders array members by index, numbers and booleans as text, objects as JSON", () => {
    expect(renderTemplate("{{event.data.tags.1}}", context)).toBe("night");
    expect(renderTemplate("{{n}} {{b}} {{o}}", { n: 3.5, b: false, o: { a: [1] } })).toBe(
      '3.5 false {"a":[1]}',
    );
  });

  it("renders anything missing as the empty string", () => {
    expect(renderTemplate("[{{episode.nope}}][{{nothing.at.all}}][{{event.data.tags.7}}]", context)).toBe(
      "[][][]",
    );
    expect(renderTemplate("[{{v}}]", { v: null })).toBe("[]");
  });

  it("runs no code: expressions, calls and prototype members render as nothing", () => {
    const evil = [
      "{{event.type.constructor}}",
      "{{constructor.constructor('return process')()}}",
      "{{__proto__}}",
      "{{event.data.title.length}}",
      "{{ event['type'] }}",
      "{{#each x}}",
    ];
    for (const template of evil) expect(renderTemplate(template, context)).toBe("");
  });

  it("leaves text without placeholders alone, including single braces", () => {
    expect(renderTemplate("{not a placeholder} {{", context)).toBe("{not a placeholder} {{");
  });

  it("caps each value and the whole output", () => {
    const long = "x".repeat(5_000);
    const one = renderTemplate("{{v}}", { v: long }, { maxValueLength: 10 });
    expect(one).toBe(`${"x".repeat(9)}…`);
    const all = renderTemplate("{{v}}{{v}}{{v}}", { v: long }, { maxLength: 50 });
    expect(all).toHaveLength(50);
    expect(all.endsWith("…")).toBe(true);
  });

  it("never splits a surrogate pair when cutting", () => {
    const out = renderTemplate("{{v}}", { v: "😀".repeat(10) }, { maxValueLength: 4 });
    expect(out).toBe("😀…");
  });
});

describe("lookupPath", () => {
  it("follows own properties only", () => {
    expect(lookupPath({ a: { b: 1 } }, "a.b")).toBe(1);
    expect(lookupPath({ a: {} }, "a.toString")).toBeUndefined();
    expect(lookupPath({ a: [1, 2] }, "a.length")).toBeUndefined();
    expect(lookupPath({ a: [1, 2] }, "a.01")).toBeUndefined();
  });
});
