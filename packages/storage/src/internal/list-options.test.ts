import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeCursor, encodeCursor, normalizeListOptions } from "./list-options.js";

describe("list cursors", () => {
  it("round-trip any key (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", minLength: 1, maxLength: 200 }), (key) => {
        const cursor = encodeCursor(key);
        expect(cursor).toMatch(/^k1\.[A-Za-z0-9_-]+$/);
        expect(decodeCursor(cursor)).toBe(key);
      }),
    );
  });

  it("reject tampered or foreign cursors", () => {
    const valid = encodeCursor("reports/a.pdf");
    for (const cursor of ["", "k1.", `${valid}=`, `k2.${valid.slice(3)}`, "k1./w", "k1.gICA", 42, null]) {
      expect(() => decodeCursor(cursor), String(cursor)).toThrow(/invalid cursor/);
    }
  });
});

describe("normalizeListOptions", () => {
  it("applies defaults and validates", () => {
    expect(normalizeListOptions(undefined, undefined)).toEqual({ prefix: "", after: undefined, limit: 1000 });
    expect(normalizeListOptions("a/", { limit: 5, cursor: encodeCursor("a/b") })).toEqual({
      prefix: "a/",
      after: "a/b",
      limit: 5,
    });
    expect(() => normalizeListOptions("", { limit: 0 })).toThrow(/invalid limit/);
  });
});
