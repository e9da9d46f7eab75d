/**
 * The one key order of every adapter's `list()`.
 */

/**
 * Orders keys the way S3 lists them: by their UTF-8 bytes (which is code point order). Every adapter's
 * `list()` uses this order. JavaScript's `<` compares UTF-16 code units and disagrees for characters
 * above U+FFFF versus U+E000–U+FFFF.
 *
 * @example
 * ```ts
 * ["b", "a/b", "a"].sort(compareKeys); // ["a", "a/b", "b"]
 * ```
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      // Move surrogates above U+E000–U+FFFF so code unit order becomes code point order.
      if (x >= 0xd800) x += x >= 0xe000 ? -0x800 : 0x2000;
      if (y >= 0xd800) y += y >= 0xe000 ? -0x800 : 0x2000;
      return x - y;
    }
  }
  return a.length - b.length;
}
