import { CyberneticError, type ErrorIssue } from "@cybernetic/core";

/** JSON nested deeper than this is refused: validating it recursively could exhaust the stack. */
export const MAX_JSON_DEPTH = 64;

function invalid(message: string, issues: ErrorIssue[]): CyberneticError {
  return new CyberneticError("validation_failed", message, { details: { issues } });
}

/** A string with an unpaired surrogate (not valid Unicode: PostgreSQL would store U+FFFD instead). */
function hasLoneSurrogate(text: string): boolean {
  return !(text as string & { isWellFormed(): boolean }).isWellFormed();
}

// `ignoreBOM` keeps a byte order mark in the text, where JSON.parse refuses it (RFC 8259: senders must not
// add one).
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Walks a parsed body once, iteratively: refuses nesting deeper than `MAX_JSON_DEPTH`, strings or keys
 * containing U+0000 (PostgreSQL text and jsonb cannot store it) or an unpaired surrogate (not Unicode:
 * it would be stored as U+FFFD), and `__proto__` keys (JavaScript objects cannot hold them as data, so
 * they would be dropped without a word), naming the offending field.
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
      if (hasLoneSurrogate(v)) {
        throw invalid(`${item.path || "body"}: must be valid Unicode (it has an unpaired surrogate)`, [
          { path: item.path, message: "contains an unpaired surrogate" },
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
      if (hasLoneSurrogate(key)) {
        throw invalid("a key must be valid Unicode (it has an unpaired surrogate)", [
          { path, message: "key contains an unpaired surrogate" },
        ]);
      }
      if (key === "__proto__") {
        throw invalid(`${path}: "__proto__" is not allowed as a key`, [
          { path, message: '"__proto__" is not allowed as a key' },
        ]);
      }
      stack.push({ value: (v as Record<string, unknown>)[key], path, depth: item.depth + 1 });
    }
  }
}

/**
 * Parses a JSON request body.
 *
 * @throws CyberneticError `invalid_json` (400) for a body that is not UTF-8 or not JSON, naming where
 * parsing failed; `validation_failed` for an empty body, nesting deeper than 64 levels, a NUL character,
 * an unpaired surrogate or a `__proto__` key.
 */
export function parseJsonBody(raw: Buffer): unknown {
  if (raw.length === 0) {
    throw invalid("a JSON request body is required", [{ path: "", message: "required" }]);
  }
  let text: string;
  try {
    text = UTF8.decode(raw);
  } catch {
    throw new CyberneticError("invalid_json", "the request body is not valid UTF-8", {
      details: { issues: [{ path: "", message: "not valid UTF-8" }] },
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
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
