import { describe, expect, it } from "vitest";
import type { JsonObject } from "../schema.js";
import { applyMergePatch } from "./merge-patch.js";

describe("applyMergePatch (RFC 7396)", () => {
  // RFC 7396, Appendix A, every example whose target and patch are objects (the rest patch a whole
  // document with a non-object, which a system state, always an object, cannot be).
  it.each<[string, string, string]>([
    ['{"a":"b"}', '{"a":"c"}', '{"a":"c"}'],
    ['{"a":"b"}', '{"b":"c"}', '{"a":"b","b":"c"}'],
    ['{"a":"b"}', '{"a":null}', "{}"],
    ['{"a":"b","b":"c"}', '{"a":null}', '{"b":"c"}'],
    ['{"a":["b"]}', '{"a":"c"}', '{"a":"c"}'],
    ['{"a":"c"}', '{"a":["b"]}', '{"a":["b"]}'],
    ['{"a":{"b":"c"}}', '{"a":{"b":"d","c":null}}', '{"a":{"b":"d"}}'],
    ['{"a":[{"b":"c"}]}', '{"a":[1]}', '{"a":[1]}'],
    ['{"e":null}', '{"a":1}', '{"e":null,"a":1}'],
    ["{}", '{"a":{"bb":{"ccc":null}}}', '{"a":{"bb":{}}}'],
  ])("%s + %s = %s", (target, patch, result) => {
    expect(applyMergePatch(JSON.parse(target), JSON.parse(patch))).toEqual(JSON.parse(result));
  });

  it("the RFC's section 3 example", () => {
    const target = {
      title: "Goodbye!",
      author: { givenName: "John", familyName: "Doe" },
      tags: ["example", "sample"],
      content: "This will be unchanged",
    };
    const patch = {
      title: "Hello!",
      phoneNumber: "+01-123-456-7890",
      author: { familyName: null },
      tags: ["example"],
    };
    expect(applyMergePatch(target, patch)).toEqual({
      title: "Hello!",
      author: { givenName: "John" },
      tags: ["example"],
      content: "This will be unchanged",
      phoneNumber: "+01-123-456-7890",
    });
  });

  it("an object patch replaces a scalar or array member with the patch applied to {}", () => {
    expect(applyMergePatch({ a: 1 }, { a: { b: 2, c: null } })).toEqual({ a: { b: 2 } });
    expect(applyMergePatch({ a: [1, 2] }, { a: { b: 2 } })).toEqual({ a: { b: 2 } });
    expect(applyMergePatch({ a: null }, { a: { b: null } })).toEqual({ a: {} });
  });

  it("an empty patch changes nothing; deleting a missing member is a no-op", () => {
    const target: JsonObject = { a: 1, b: { c: [1, { d: true }] } };
    expect(applyMergePatch(target, {})).toEqual(target);
    expect(applyMergePatch(target, { zzz: null })).toEqual(target);
  });

  it("never mutates the target or the patch", () => {
    const target: JsonObject = { a: { b: 1, c: 2 }, d: [1] };
    const patch: JsonObject = { a: { b: null, e: { f: 1 } }, d: null };
    const targetCopy = structuredClone(target);
    const patchCopy = structuredClone(patch);
    const out = applyMergePatch(target, patch);
    expect(out).toEqual({ a: { c: 2, e: { f: 1 } } });
    expect(target).toEqual(targetCopy);
    expect(patch).toEqual(patchCopy);
  });

  it("treats __proto__ as an ordinary member name, as JSON does", () => {
    const target: JsonObject = JSON.parse('{"keep":1}');
    const patch: JsonObject = JSON.parse('{"__proto__":{"polluted":true}}');
    const out = applyMergePatch(target, patch);
    expect(JSON.stringify(out)).toBe('{"keep":1,"__proto__":{"polluted":true}}');
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const removed = applyMergePatch(out, JSON.parse('{"__proto__":null}'));
    expect(JSON.stringify(removed)).toBe('{"keep":1}');
  });
});
