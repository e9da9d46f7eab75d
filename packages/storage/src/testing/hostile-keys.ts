/**
 * Keys every adapter must reject (each with the one rule it breaks) and keys every adapter must store
 * and return byte for byte. Exported so code that builds keys from user input (e.g. core's artifact
 * paths) can test itself against the same list.
 */
import type { KeyRule } from "../validate-key.js";

/**
 * A key that `validateKey()` rejects, with the rule it breaks.
 *
 * @example
 * ```ts
 * const k: HostileKey = { key: "../etc/passwd", rule: "dot_segment", description: "path traversal" };
 * ```
 */
export interface HostileKey {
  key: string;
  rule: KeyRule;
  description: string;
}

/**
 * At least 30 hostile keys: traversal, absolute paths, separators, control, bidi and invisible
 * characters, broken Unicode and over-long keys. Each breaks exactly one rule (the one listed).
 *
 * @example
 * ```ts
 * for (const { key, rule } of hostileKeys) {
 *   expect(() => validateKey(key)).toThrow(expect.objectContaining({ details: expect.objectContaining({ rule }) }));
 * }
 * ```
 */
export const hostileKeys: readonly HostileKey[] = [
  { key: "", rule: "empty", description: "empty key" },
  { key: "a//b", rule: "empty_segment", description: "double slash" },
  { key: "a///b/c", rule: "empty_segment", description: "triple slash" },
  { key: ".", rule: "dot_segment", description: "current directory" },
  { key: "..", rule: "dot_segment", description: "parent directory" },
  { key: "../etc/passwd", rule: "dot_segment", description: "path traversal" },
  { key: "a/../../b", rule: "dot_segment", description: "traversal in the middle" },
  { key: "a/./b", rule: "dot_segment", description: "dot segment in the middle" },
  { key: "a/..", rule: "dot_segment", description: "trailing parent segment" },
  { key: "/etc/passwd", rule: "leading_slash", description: "absolute path" },
  { key: "/", rule: "leading_slash", description: "root" },
  { key: "a/b/", rule: "trailing_slash", description: "directory-like key" },
  { key: "a\\b", rule: "backslash", description: "backslash separator" },
  { key: "..\\..\\windows\\win.ini", rule: "backslash", description: "Windows traversal" },
  { key: "a\u0000b", rule: "control_character", description: "NUL byte" },
  { key: "\u0000", rule: "control_character", description: "only NUL" },
  { key: "a\nb", rule: "control_character", description: "line feed (log injection)" },
  { key: "a\rb", rule: "control_character", description: "carriage return (header injection)" },
  { key: "a\tb", rule: "control_character", description: "tab" },
  { key: "a\u001b[31mred", rule: "control_character", description: "ANSI escape" },
  { key: "a\u007fb", rule: "control_character", description: "DEL" },
  { key: "a\u0085b", rule: "control_character", description: "C1 next line" },
  { key: "a\u009bb", rule: "control_character", description: "C1 control sequence introducer" },
  { key: "a\u2028b", rule: "control_character", description: "Unicode line separator" },
  { key: "invoice\u202efdp.exe", rule: "bidi_control", description: "right-to-left override" },
  { key: "a\u202ab", rule: "bidi_control", description: "left-to-right embedding" },
  { key: "a\u2066b", rule: "bidi_control", description: "left-to-right isolate" },
  { key: "a\u200fb", rule: "bidi_control", description: "right-to-left mark" },
  { key: "a\u061cb", rule: "bidi_control", description: "Arabic letter mark" },
  { key: "a\u200bb", rule: "invisible_character", description: "zero-width space" },
  { key: "a\u200db", rule: "invisible_character", description: "zero-width joiner" },
  { key: "a\u2060b", rule: "invisible_character", description: "word joiner" },
  { key: "\ufeffa", rule: "invisible_character", description: "byte order mark" },
  { key: "a\u00adb", rule: "invisible_character", description: "soft hyphen" },
  { key: "a\u3164b", rule: "invisible_character", description: "Hangul filler" },
  { key: "a\u{e0041}b", rule: "invisible_character", description: "tag character (ASCII smuggling)" },
  { key: "a\ud800b", rule: "invalid_unicode", description: "lone high surrogate" },
  { key: "a\udc00", rule: "invalid_unicode", description: "lone low surrogate" },
  { key: "a\uffffb", rule: "invalid_unicode", description: "noncharacter U+FFFF" },
  { key: "a\ufdd0b", rule: "invalid_unicode", description: "noncharacter U+FDD0" },
  { key: "x".repeat(1025), rule: "too_long", description: "1,025 ASCII bytes" },
  { key: "é".repeat(513), rule: "too_long", description: "513 two-byte characters (1,026 bytes)" },
  { key: "😀".repeat(257), rule: "too_long", description: "257 four-byte characters (1,028 bytes)" },
];

/**
 * A valid key of exactly `bytes` bytes of UTF-8 (default 1,024, the limit), made of segments of at
 * most 200 bytes (filesystems limit one name to 255) and ending in two-byte characters.
 *
 * @example
 * ```ts
 * Buffer.byteLength(maxLengthKey()); // 1024
 * ```
 */
export function maxLengthKey(bytes = 1024): string {
  const segments: string[] = [];
  let used = 0;
  while (bytes - used > 201) {
    segments.push("k".repeat(200));
    used += 201; // segment and its "/"
  }
  const rest = bytes - used;
  const last = rest % 2 === 0 ? "é".repeat(rest / 2) : `x${"é".repeat((rest - 1) / 2)}`;
  return [...segments, last].join("/");
}

/**
 * Unusual but valid keys: every adapter must store and list each exactly as given (no normalisation).
 * Includes the NFC and NFD spellings of "é" as two different keys. (For a key of the maximum length,
 * see `maxLengthKey()`.)
 *
 * @example
 * ```ts
 * for (const key of trickyKeys) await storage.put(key, key);
 * ```
 */
export const trickyKeys: readonly string[] = [
  "a",
  "A",
  "a b",
  " leading space",
  "trailing space ",
  "100%",
  "%2F",
  "%",
  "a+b",
  "a?b=c&d=e",
  "a#fragment",
  "a;b,c:d@e$f!g'h(i)j*k",
  '"quoted"',
  "<angle>|pipe",
  "`tick`~tilde",
  "[x]{y}^",
  ".hidden",
  "..a",
  "a..",
  "...",
  "a/.b",
  "a/..b",
  "CON",
  "nul.txt",
  "ünïcödé/ファイル.txt",
  "😀/🎉.bin",
  "\u00e9", // é, NFC
  "e\u0301", // é, NFD: a different key
  "\uffee", // sorts before astral characters in UTF-8 order, after them in UTF-16 order
  "\u{1f600}x",
  "a/b/c/d/e/f/g/h/i/j",
  "deep/a",
  "deep",
];
