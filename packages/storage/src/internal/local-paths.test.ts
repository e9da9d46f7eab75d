import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { escapeSegment, keyPath, unescapeName } from "./local-paths.js";

describe("local key paths", () => {
  it("maps segments to directories and the last one to '<name>%'", () => {
    expect(keyPath("a/b/c.txt")).toEqual({ dirs: ["a", "b"], file: "c.txt%" });
    expect(keyPath("100%/x?y")).toEqual({ dirs: ["100%25"], file: "x%3Fy%" });
  });

  it("escapes reversibly, and an escaped name never ends in a lone '%' (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 40 }), (segment) => {
        const escaped = escapeSegment(segment);
        expect(unescapeName(escaped)).toBe(segment);
        expect(escaped).not.toMatch(/%$/);
        expect(escaped).not.toMatch(/[<>:"|?*]/);
      }),
    );
  });

  it("rejects names longer than 255 bytes on disk", () => {
    expect(() => keyPath(`${"é".repeat(128)}/x`)).toThrow(/segment_too_long/);
    expect(() => keyPath(`x/${"a".repeat(255)}`)).toThrow(/segment_too_long/); // 255 + "%"
    expect(keyPath(`x/${"a".repeat(254)}`).file).toHaveLength(255);
  });
});
