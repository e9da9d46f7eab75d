import type { Json, JsonObject } from "../schema.js";

/**
 * JSON Merge Patch (RFC 7396): objects merge recursively, `null` deletes a member, anything else
 * replaces. Used by policies' `set_state` actions.
 */
export function applyMergePatch(target: JsonObject, patch: JsonObject): JsonObject {
  const out: JsonObject = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      delete out[key];
    } else if (typeof value === "object" && !Array.isArray(value)) {
      const current = Object.hasOwn(out, key) ? out[key] : undefined;
      const base = typeof current === "object" && current !== null && !Array.isArray(current) ? current : {};
      setMember(out, key, applyMergePatch(base, value as JsonObject));
    } else {
      setMember(out, key, value as Json);
    }
  }
  return out;
}

/**
 * Defines an own member. A plain `out[key] = value` would treat a member named `__proto__` (legal JSON,
 * an own property after `JSON.parse`) as the prototype setter and drop it from the document.
 */
function setMember(out: JsonObject, key: string, value: Json): void {
  Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
}
