import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareKeys } from "./compare-keys.js";

const sign = (n: number) => Math.sign(n);

describe("compareKeys", () => {
  it("orders by UTF-8 bytes, unlike JavaScript's UTF-16 comparison", () => {
    // U+FFEE is one UTF-16 unit above the surrogates of 😀 (U+1F600), but below it in UTF-8.
    expect("\uffee" > "😀").toBe(true);
    expect(compareKeys("\uffee", "😀")).toBeLessThan(0);
    expect(["b", "a/b", "a", "a-b", "é", "😀", "\uffee", "Z"].sort(compareKeys)).toEqual([
      "Z",
      "a",
      "a-b",
      "a/b",
      "b",
      "é",
      "\uffee",
      "😀",
    ]);
  });

  it("agrees with Buffer.compare on UTF-8 for any well-formed strings (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), fc.string({ unit: "grapheme" }), (a, b) => {
        expect(sign(compareKeys(a, b))).toBe(sign(Buffer.compare(Buffer.from(a), Buffer.from(b))));
      }),
      { numRuns: 2000 },
    );
  });

  it("is zero only for equal strings and puts a prefix first", () => {
    expect(compareKeys("abc", "abc")).toBe(0);
    expect(compareKeys("ab", "abc")).toBeLessThan(0);
    expect(compareKeys("abc", "ab")).toBeGreaterThan(0);
  });
});
