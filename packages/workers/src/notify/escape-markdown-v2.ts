/**
 * Telegram MarkdownV2 escaping. Per the Bot API, in MarkdownV2 every one of
 * `_ * [ ] ( ) ~ ` > # + - = | { } . !` must be preceded by a backslash, and so must the backslash itself;
 * an unescaped one makes `sendMessage` fail with 400 "can't parse entities". We send plain text, so we
 * escape everything that could be markup.
 */

const SPECIAL = /[_*[\]()~`>#+\-=|{}.!\\]/g;

/** Telegram's limit on a message's text, in UTF-16 code units after entity parsing. */
export const TELEGRAM_MAX_MESSAGE_LENGTH = 4_096;

/**
 * Escapes text for `parse_mode: "MarkdownV2"` so it renders literally.
 *
 * @example
 * ```ts
 * escapeMarkdownV2("Risk: high (line 3)!"); // "Risk: high \\(line 3\\)\\!"
 * ```
 */
export function escapeMarkdownV2(text: string): string {
  return text.replace(SPECIAL, (ch) => `\\${ch}`);
}

/**
 * Escapes text for MarkdownV2 and keeps the escaped result within `maxLength` (default Telegram's
 * 4 096), cutting the source text, never an escape sequence or a surrogate pair, and marking the cut
 * with an (escaped) ellipsis.
 *
 * @example
 * ```ts
 * escapeMarkdownV2Truncated("a.".repeat(5000)).length <= 4096; // true
 * ```
 */
export function escapeMarkdownV2Truncated(text: string, maxLength = TELEGRAM_MAX_MESSAGE_LENGTH): string {
  const escaped = escapeMarkdownV2(text);
  if (escaped.length <= maxLength) return escaped;
  const ellipsis = "…";
  let out = "";
  for (const ch of text) {
    const piece = escapeMarkdownV2(ch);
    if (out.length + piece.length + ellipsis.length > maxLength) break;
    out += piece;
  }
  return out + ellipsis;
}
