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
      const current = out[key];
      const base = typeof current === "object" && current !== null && !Array.isArray(current) ? current : {};
      out[key] = applyMergePatch(base, value as JsonObject);
    } else {
      out[key] = value as Json;
    }
  }
  return out;
}
