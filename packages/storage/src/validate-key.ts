/**
 * Key validation shared by every adapter. A key is a `/`-separated path such as `reports/2024/q1.pdf`.
 * The rules keep keys safe to use as file paths, URL paths, HTTP header values and log lines, and they
 * normalise nothing: a key is stored byte for byte as given, or rejected with the rule it broke.
 */
import { StorageError } from "./storage-error.js";

/** The longest key, in bytes of UTF-8 (the S3 limit). */
export const MAX_KEY_BYTES = 1024;

/**
 * The rule a rejected key broke; it is `details.rule` of the `invalid_key` error and named in its message.
 * `segment_too_long` and `symlink` are raised by the local adapter only (a path segment longer than the
 * filesystem allows, or a path that crosses a symbolic link).
 *
 * @example
 * ```ts
 * const rule: KeyRule = "dot_segment";
 * ```
 */
export type KeyRule =
  | "not_a_string"
  | "empty"
  | "too_long"
  | "invalid_unicode"
  | "control_character"
  | "bidi_control"
  | "invisible_character"
  | "backslash"
  | "leading_slash"
  | "trailing_slash"
  | "empty_segment"
  | "dot_segment"
  | "segment_too_long"
  | "symlink";

/**
 * Why a key is invalid: the rule, a human sentence, and where it went wrong.
 *
 * @example
 * ```ts
 * const problem: KeyProblem = { rule: "backslash", message: "…", index: 1, codePoint: "U+005C" };
 * ```
 */
export interface KeyProblem {
  rule: KeyRule;
  message: string;
  /** UTF-16 index of the offending character, when there is one. */
  index?: number;
  /** The offending character as `U+XXXX`, when there is one. */
  codePoint?: string;
}

// Bidirectional formatting characters: they make a key display differently from what it is
// ("invoice\u202Efdp.exe" shows as "invoiceexe.pdf").
function isBidiControl(cp: number): boolean {
  return (
    cp === 0x061c ||
    cp === 0x200e ||
    cp === 0x200f ||
    (cp >= 0x202a && cp <= 0x202e) ||
    (cp >= 0x2066 && cp <= 0x2069)
  );
}

// Characters that render as nothing, so two keys that look identical differ. Variation selectors
// (U+FE00–U+FE0F) are allowed on purpose: emoji need them.
function isInvisible(cp: number): boolean {
  return (
    cp === 0x00ad || // soft hyphen
    cp === 0x034f || // combining grapheme joiner
    cp === 0x115f ||
    cp === 0x1160 || // Hangul fillers
    cp === 0x17b4 ||
    cp === 0x17b5 || // Khmer inherent vowels
    (cp >= 0x180b && cp <= 0x180f) || // Mongolian variation selectors and vowel separator
    (cp >= 0x200b && cp <= 0x200d) || // zero-width space, non-joiner, joiner
    (cp >= 0x2060 && cp <= 0x206f) || // word joiner, invisible operators, deprecated format characters
    cp === 0x3164 || // Hangul filler
    cp === 0xfeff || // byte order mark / zero-width no-break space
    cp === 0xffa0 || // halfwidth Hangul filler
    (cp >= 0xfff9 && cp <= 0xfffb) || // interlinear annotation
    (cp >= 0x1d173 && cp <= 0x1d17a) || // musical formatting
    (cp >= 0xe0000 && cp <= 0xe007f) // tag characters ("ASCII smuggling")
  );
}

function isControl(cp: number): boolean {
  return cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f) || cp === 0x2028 || cp === 0x2029;
}

function isNoncharacter(cp: number): boolean {
  return (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe;
}

function hex(cp: number): string {
  return `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** Character-level rules, shared by keys and prefixes. */
function scanCharacters(value: string): KeyProblem | undefined {
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    let cp = unit;
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        cp = ((unit - 0xd800) << 10) + (next - 0xdc00) + 0x10000;
      } else {
        return {
          rule: "invalid_unicode",
          message: `contains an unpaired surrogate ${hex(unit)} at index ${i}`,
          index: i,
          codePoint: hex(unit),
        };
      }
    } else if (unit >= 0xdc00 && unit <= 0xdfff) {
      return {
        rule: "invalid_unicode",
        message: `contains an unpaired surrogate ${hex(unit)} at index ${i}`,
        index: i,
        codePoint: hex(unit),
      };
    }
    const at = { index: i, codePoint: hex(cp) };
    if (isControl(cp)) {
      return {
        rule: "control_character",
        message: `contains the control character ${hex(cp)} at index ${i}`,
        ...at,
      };
    }
    if (isBidiControl(cp)) {
      return {
        rule: "bidi_control",
        message: `contains the bidi control character ${hex(cp)} at index ${i}`,
        ...at,
      };
    }
    if (isInvisible(cp)) {
      return {
        rule: "invisible_character",
        message: `contains the invisible character ${hex(cp)} at index ${i}`,
        ...at,
      };
    }
    if (isNoncharacter(cp)) {
      return {
        rule: "invalid_unicode",
        message: `contains the noncharacter ${hex(cp)} at index ${i}`,
        ...at,
      };
    }
    if (cp === 0x5c) {
      return {
        rule: "backslash",
        message: `contains a backslash at index ${i}; use "/" to separate segments`,
        ...at,
      };
    }
    if (cp > 0xffff) i++;
  }
  return undefined;
}

function lengthProblem(value: string): KeyProblem | undefined {
  const bytes = Buffer.byteLength(value, "utf8");
  return bytes > MAX_KEY_BYTES
    ? { rule: "too_long", message: `is ${bytes} bytes of UTF-8; the limit is ${MAX_KEY_BYTES}` }
    : undefined;
}

function segmentProblem(segment: string, index: number): KeyProblem | undefined {
  if (segment === "")
    return { rule: "empty_segment", message: `has an empty segment (segment ${index + 1})` };
  if (segment === "." || segment === "..") {
    return { rule: "dot_segment", message: `has a "${segment}" segment (segment ${index + 1})` };
  }
  return undefined;
}

/**
 * Checks a key without throwing; returns the first rule it breaks, or `undefined` when it is valid.
 *
 * @example
 * ```ts
 * keyProblem("a/../b")?.rule; // "dot_segment"
 * keyProblem("reports/q1.pdf"); // undefined
 * ```
 */
export function keyProblem(key: unknown): KeyProblem | undefined {
  if (typeof key !== "string")
    return { rule: "not_a_string", message: `must be a string, got ${typeof key}` };
  if (key === "") return { rule: "empty", message: "must not be empty" };
  const chars = scanCharacters(key);
  if (chars) return chars;
  const length = lengthProblem(key);
  if (length) return length;
  if (key.startsWith("/")) return { rule: "leading_slash", message: 'must not start with "/"', index: 0 };
  if (key.endsWith("/")) {
    return { rule: "trailing_slash", message: 'must not end with "/"', index: key.length - 1 };
  }
  const segments = key.split("/");
  for (let i = 0; i < segments.length; i++) {
    const problem = segmentProblem(segments[i] as string, i);
    if (problem) return problem;
  }
  return undefined;
}

/**
 * Checks a list prefix without throwing. A prefix follows the key rules, except that it may be empty,
 * may end with `/`, and its last (partial) segment may be anything a key segment may start with
 * (`"a/."` is a fine prefix of `"a/.hidden"`).
 *
 * @example
 * ```ts
 * prefixProblem("reports/2024-"); // undefined
 * prefixProblem("../")?.rule; // "dot_segment"
 * ```
 */
export function prefixProblem(prefix: unknown): KeyProblem | undefined {
  if (typeof prefix !== "string")
    return { rule: "not_a_string", message: `must be a string, got ${typeof prefix}` };
  if (prefix === "") return undefined;
  const chars = scanCharacters(prefix);
  if (chars) return chars;
  const length = lengthProblem(prefix);
  if (length) return length;
  if (prefix.startsWith("/")) return { rule: "leading_slash", message: 'must not start with "/"', index: 0 };
  const segments = prefix.split("/");
  // Every segment but the last is complete; the last is a partial segment (empty when the prefix ends in "/").
  for (let i = 0; i < segments.length - 1; i++) {
    const problem = segmentProblem(segments[i] as string, i);
    if (problem) return problem;
  }
  return undefined;
}

function invalidKey(what: "key" | "prefix", problem: KeyProblem): StorageError {
  const { rule, message, ...rest } = problem;
  return new StorageError("invalid_key", `invalid storage ${what} (${rule}): it ${message}`, {
    details: { rule, ...rest },
  });
}

/**
 * Throws a `StorageError` with code `invalid_key` unless `key` is a valid storage key; returns the key
 * unchanged (never normalised). The error's `details.rule` names the rule broken: `empty`,
 * `empty_segment` (`a//b`), `dot_segment` (`.` or `..`), `leading_slash`, `trailing_slash`,
 * `backslash`, `control_character` (C0, DEL, C1, U+2028/9), `bidi_control`, `invisible_character`
 * (zero-width, BOM, soft hyphen, tags…), `invalid_unicode` (lone surrogates, noncharacters) or
 * `too_long` (over 1,024 bytes of UTF-8).
 *
 * @example
 * ```ts
 * validateKey("tenants/acme/report.pdf"); // "tenants/acme/report.pdf"
 * validateKey("../etc/passwd"); // throws StorageError { code: "invalid_key", details: { rule: "dot_segment" } }
 * ```
 */
export function validateKey(key: unknown): string {
  const problem = keyProblem(key);
  if (problem) throw invalidKey("key", problem);
  return key as string;
}

/**
 * Throws a `StorageError` (`invalid_key`) unless `prefix` is a valid list prefix (see `prefixProblem`).
 *
 * @example
 * ```ts
 * validatePrefix("reports/"); // "reports/"
 * ```
 */
export function validatePrefix(prefix: unknown): string {
  const problem = prefixProblem(prefix);
  if (problem) throw invalidKey("prefix", problem);
  return prefix as string;
}

/**
 * True when `key` is a valid storage key.
 *
 * @example
 * ```ts
 * if (!isValidKey(userInput)) return badRequest();
 * ```
 */
export function isValidKey(key: unknown): key is string {
  return keyProblem(key) === undefined;
}
