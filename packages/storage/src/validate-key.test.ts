import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StorageError } from "./storage-error.js";
import { hostileKeys, maxLengthKey, trickyKeys } from "./testing/hostile-keys.js";
import { isValidKey, keyProblem, prefixProblem, validateKey, validatePrefix } from "./validate-key.js";

function thrown(fn: () => unknown): StorageError {
  try {
    fn();
  } catch (error) {
    if (StorageError.isInstance(error)) return error;
    throw error;
  }
  throw new Error("expected a throw");
}

describe("validateKey", () => {
  it("returns valid keys unchanged", () => {
    for (const key of [...trickyKeys, maxLengthKey(), "a/b/c"]) {
      expect(validateKey(key)).toBe(key);
      expect(isValidKey(key)).toBe(true);
    }
  });

  it.each(hostileKeys.map((h) => [h.description, h] as const))("rejects %s", (_, { key, rule }) => {
    const error = thrown(() => validateKey(key));
    expect(error.code).toBe("invalid_key");
    expect(error.status).toBe(400);
    expect(error.details?.rule).toBe(rule);
    expect(error.message).toContain(`(${rule})`);
    expect(isValidKey(key)).toBe(false);
    expect(keyProblem(key)?.rule).toBe(rule);
  });

  it("names the offending character and where it is, without echoing the key", () => {
    const error = thrown(() => validateKey("report\u202egpj.exe"));
    expect(error.details).toEqual({ rule: "bidi_control", index: 6, codePoint: "U+202E" });
    expect(error.message).toBe(
      "invalid storage key (bidi_control): it contains the bidi control character U+202E at index 6",
    );
    expect(thrown(() => validateKey("a\u0000")).details).toMatchObject({ codePoint: "U+0000", index: 1 });
    expect(thrown(() => validateKey("ok/\u{e0041}")).details).toMatchObject({
      codePoint: "U+E0041",
      index: 3,
    });
    expect(thrown(() => validateKey("x".repeat(2000))).message).toContain("2000 bytes");
  });

  it("rejects non-strings", () => {
    for (const key of [undefined, null, 1, {}, [], Symbol("k")]) {
      expect(thrown(() => validateKey(key)).details?.rule).toBe("not_a_string");
    }
  });

  it("accepts exactly 1,024 bytes and rejects 1,025, counting UTF-8 bytes, not characters", () => {
    expect(validateKey(maxLengthKey(1024))).toHaveLength(maxLengthKey(1024).length);
    expect(validateKey("😀".repeat(256))).toBeTruthy(); // 1,024 bytes, 512 UTF-16 units
    expect(keyProblem(`${"😀".repeat(256)}x`)?.rule).toBe("too_long");
  });

  it("allows emoji with variation selectors and astral characters", () => {
    expect(isValidKey("❤\ufe0f/🏳\ufe0f.png")).toBe(true);
    expect(isValidKey("𝔘𝔫𝔦𝔠𝔬𝔡𝔢")).toBe(true);
  });

  it("accepts any key built from safe segments (property)", () => {
    const safeChar = fc.constantFrom(..."abcXYZ019 -_.~()!@$&+=,;'%#?é日😀");
    const segment = fc
      .array(safeChar, { minLength: 1, maxLength: 12 })
      .map((chars) => chars.join(""))
      .filter((s) => s !== "." && s !== "..");
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 8 }), (segments) => {
        const key = segments.join("/");
        expect(validateKey(key)).toBe(key);
      }),
    );
  });

  it("rejects any key with a control character anywhere (property)", () => {
    const control = fc.oneof(fc.integer({ min: 0, max: 0x1f }), fc.integer({ min: 0x7f, max: 0x9f }));
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), control, fc.string({ maxLength: 20 }), (a, code, b) => {
        const problem = keyProblem(`x${a}${String.fromCharCode(code)}${b}`);
        expect(problem).toBeDefined();
      }),
    );
  });
});

describe("validatePrefix", () => {
  it("accepts empty, partial and slash-terminated prefixes", () => {
    for (const prefix of ["", "a", "a/", "reports/2024-", "a/.", "a/..x", "日本/"]) {
      expect(validatePrefix(prefix)).toBe(prefix);
    }
  });

  it("rejects what keys reject, except a trailing slash and a partial last segment", () => {
    const cases: [string, string][] = [
      ["/a", "leading_slash"],
      ["a//", "empty_segment"],
      ["../", "dot_segment"],
      ["a/./b", "dot_segment"],
      ["a\\", "backslash"],
      ["a\n", "control_character"],
      ["\u202e", "bidi_control"],
      ["x".repeat(1025), "too_long"],
    ];
    for (const [prefix, rule] of cases) {
      expect(prefixProblem(prefix)?.rule, prefix).toBe(rule);
      expect(thrown(() => validatePrefix(prefix)).message).toContain("invalid storage prefix");
    }
  });
});
