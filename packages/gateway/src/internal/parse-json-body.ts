import { CyberneticError, type ErrorIssue } from "@cybernetic/core";

/** JSON nested deeper than this is refused: validating it recursively could exhaust the stack. */
export const MAX_JSON_DEPTH = 64;

function invalid(message: string, issues: ErrorIssue[]): CyberneticError {
  return new CyberneticError("validation_failed", message, { details: { issues } });
}

/**
 * Walks a parsed body once, iteratively: refuses nesting deeper than `MAX_JSON_DEPTH` and strings or
 * keys containing U+0000 (PostgreSQL text and jsonb cannot store it), naming the offending field.
 */
function guard(value: unknown): void {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path: "", depth: 0 }];
  while (stack.length > 0) {
    const item = stack.pop() as { value: unknown; path: string; depth: number };
    const v = item.value;
    if (typeof v === "string") {
      if (v.includes("\u0000")) {
        throw invalid(`${item.path || "body"}: must not contain the NUL character (\\u0000)`, [
          { path: item.path, message: "must not contain the NUL character" },
        ]);
      }
      continue;
    }
    if (v === null || typeof v !== "object") continue;
    if (item.depth >= MAX_JSON_DEPTH) {
      throw invalid(`${item.path || "body"}: JSON is nested deeper than ${MAX_JSON_DEPTH} levels`, [
        { path: item.path, message: `nested deeper than ${MAX_JSON_DEPTH} levels` },
      ]);
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        stack.push({ value: v[i], path: item.path ? `${item.path}.${i}` : String(i), depth: item.depth + 1 });
      }
      continue;
    }
    for (const key of Object.keys(v)) {
      const path = item.path ? `${item.path}.${key}` : key;
      if (key.includes("\u0000")) {
        throw invalid("a key must not contain the NUL character (\\u0000)", [
          { path, message: "key must not contain the NUL character" },
        ]);
      }
      stack.push({ value: (v as Record<string, unknown>)[key], path, depth: item.depth + 1 });
    }
  }
}

/**
 * Parses a JSON request body.
 *
 * @throws CyberneticError `invalid_json` (400) naming where parsing failed; `validation_failed` for an
 * empty body, nesting deeper than 64 levels or a NUL character.
 */
export function parseJsonBody(raw: Buffer): unknown {
  if (raw.length === 0) {
    throw invalid("a JSON request body is required", [{ path: "", message: "required" }]);
  }
  let value: unknown;
  try {
    value = JSON.parse(raw.toString("utf8"));
  } catch (error) {
    throw new CyberneticError(
      "invalid_json",
      `the request body is not valid JSON: ${(error as Error).message.slice(0, 200)}`,
      { details: { issues: [{ path: "", message: "malformed JSON" }] } },
    );
  }
  guard(value);
  return value;
}
