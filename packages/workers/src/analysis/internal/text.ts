/**
 * Text preparation for the heuristic analyzer: bounding, masking of literal entities, sentence splitting
 * and tokenising. Everything here is linear in the input: the regular expressions are anchored by
 * look-behinds or bounded quantifiers so a pathological input (one 100k-character "word") cannot make
 * them backtrack quadratically.
 */
import { ABBREVIATIONS } from "../lexicon.js";

/** A word (or emoji) of the text. `norm` is lowercase with typographic apostrophes made plain. */
export interface Token {
  readonly text: string;
  readonly norm: string;
  readonly start: number;
  readonly end: number;
}

/** A sentence: offsets into the prepared text, its tokens, and whether it is a heading or label line. */
export interface Sentence {
  readonly start: number;
  readonly end: number;
  readonly heading: boolean;
  readonly tokens: readonly Token[];
}

/** A literal entity found by pattern: a URL, email, `@mention` or `#hashtag`. */
export interface Literal {
  readonly kind: "url" | "email" | "mention" | "hashtag";
  readonly text: string;
  readonly start: number;
}

/** One prepared piece of text (the title, or the content). */
export interface PreparedText {
  /** The text as analysed (NFC-normalised, bounded), used for display (summary sentences). */
  readonly text: string;
  /** `text` with URLs, emails and mentions blanked out (same offsets), used for words. */
  readonly masked: string;
  readonly sentences: readonly Sentence[];
  readonly literals: readonly Literal[];
}

const URL_RE = /\b(?:https?:\/\/|www\.)[^\s<>"'`]{1,2048}/giu;
const URL_TRAILING_RE = /[.,;:!?'"»”’)\]}]+$/u;
const EMAIL_RE =
  /(?<![\p{L}\p{N}._%+-])[\p{L}\p{N}._%+-]{1,64}@[\p{L}\p{N}-]{1,63}(?:\.[\p{L}\p{N}-]{1,63}){0,8}\.\p{L}{2,24}(?![\p{L}\p{N}-])/gu;
const MENTION_RE =
  /(?<![\p{L}\p{N}_@.])@[\p{L}\p{N}_](?:[\p{L}\p{N}_]|[.-](?=[\p{L}\p{N}_])){1,63}(?![\p{L}\p{N}_@])/gu;
const HASHTAG_RE = /(?<![\p{L}\p{N}_&#])#[\p{L}_][\p{L}\p{N}\p{M}_]{0,63}(?![\p{L}\p{N}\p{M}_])/gu;
const TOKEN_RE =
  /[\p{L}\p{N}](?:[\p{L}\p{N}\p{M}_]|['’.&-](?=[\p{L}\p{N}])){0,199}|\p{Extended_Pictographic}/gu;
// Western punctuation ends a sentence before a space; CJK full-width punctuation ends one anywhere.
const BOUNDARY_RE = /[.!?…]+["'”’)\]]*(?=\s|$)|[。！？]+[」』）]*/gu;
const LIST_MARKER_RE = /^\s*(?:[-*+•>]|\d{1,3}[.)])\s+/u;
const HEADING_RE = /^\s*#{1,6}\s/u;
const NEXT_CHAR_RE = /\s*(\S)/uy;

/**
 * Cuts `text` to at most `maxChars` UTF-16 units without splitting a surrogate pair, and normalises it
 * to NFC (so "é" typed either way is one word).
 */
export function boundText(text: string, maxChars: number): string {
  let cut = text.length > maxChars ? text.slice(0, maxChars) : text;
  const last = cut.charCodeAt(cut.length - 1);
  if (cut.length < text.length && last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return cut.normalize("NFC");
}

/** Lowercases a token for lexicon lookups. */
export function normalizeToken(token: string): string {
  return token.toLowerCase().replace(/’/g, "'");
}

/** Splits `text[start, end)` into tokens. */
export function tokenize(text: string, start = 0, end = text.length): Token[] {
  const tokens: Token[] = [];
  const slice = text.slice(start, end);
  for (const m of slice.matchAll(TOKEN_RE)) {
    const s = start + m.index;
    tokens.push({ text: m[0], norm: normalizeToken(m[0]), start: s, end: s + m[0].length });
  }
  return tokens;
}

/** Finds the literal entities of `text` and prepares it: masking, sentences, tokens. */
export function prepareText(text: string): PreparedText {
  const literals: Literal[] = [];
  const spans: [number, number][] = [];

  let masked = text;
  for (const m of text.matchAll(URL_RE)) {
    const url = m[0].replace(URL_TRAILING_RE, "");
    if (url.length < 8) continue;
    literals.push({ kind: "url", text: url, start: m.index });
    spans.push([m.index, m.index + url.length]);
  }
  masked = mask(masked, spans);
  spans.length = 0;
  for (const m of masked.matchAll(EMAIL_RE)) {
    literals.push({ kind: "email", text: m[0], start: m.index });
    spans.push([m.index, m.index + m[0].length]);
  }
  masked = mask(masked, spans);
  spans.length = 0;
  for (const m of masked.matchAll(MENTION_RE)) {
    literals.push({ kind: "mention", text: m[0], start: m.index });
    spans.push([m.index, m.index + m[0].length]);
  }
  masked = mask(masked, spans);
  // Hashtags stay in the masked text: "#outage" is still a word about an outage.
  for (const m of masked.matchAll(HASHTAG_RE)) literals.push({ kind: "hashtag", text: m[0], start: m.index });
  literals.sort((a, b) => a.start - b.start);

  return { text, masked, sentences: splitSentences(masked, text), literals };
}

function mask(text: string, spans: readonly [number, number][]): string {
  if (spans.length === 0) return text;
  let out = "";
  let at = 0;
  for (const [s, e] of spans) {
    out += text.slice(at, s) + " ".repeat(e - s);
    at = e;
  }
  return out + text.slice(at);
}

/**
 * Splits text into sentences: at line breaks, and after `.`, `!`, `?` or `…` followed by a space,
 * unless the period ends an abbreviation ("Dr.", "Inc.", an initial) or the next word is lowercase.
 * List markers are skipped; Markdown headings and short lines ending in ":" are marked as headings.
 * `display` (same offsets as `text`; by default `text`) decides where a sentence's visible text starts
 * and ends, so a masked URL at the end of a sentence stays in it.
 */
export function splitSentences(text: string, display = text): Sentence[] {
  const sentences: Sentence[] = [];
  let lineStart = 0;
  while (lineStart <= text.length) {
    let lineEnd = text.indexOf("\n", lineStart);
    if (lineEnd === -1) lineEnd = text.length;
    splitLine(text, display, lineStart, lineEnd, sentences);
    lineStart = lineEnd + 1;
  }
  return sentences;
}

function splitLine(text: string, display: string, lineStart: number, lineEnd: number, out: Sentence[]): void {
  const line = text.slice(lineStart, lineEnd);
  const shown = display.slice(lineStart, lineEnd);
  if (shown.trim() === "") return;
  const heading = HEADING_RE.test(line) || (/:\s*$/u.test(line) && line.trim().split(/\s+/).length <= 6);
  const marker = LIST_MARKER_RE.exec(line);
  let segStart = marker ? marker[0].length : 0;

  const emit = (s: number, e: number) => {
    const tokens = tokenize(text, lineStart + s, lineStart + e);
    const part = shown.slice(s, e);
    if (part.trim() === "") return;
    const trimmedStart = s + (part.length - part.trimStart().length);
    const trimmedEnd = e - (part.length - part.trimEnd().length);
    out.push({ start: lineStart + trimmedStart, end: lineStart + trimmedEnd, heading, tokens });
  };

  if (!heading) {
    for (const m of line.matchAll(BOUNDARY_RE)) {
      const at = m.index;
      if (at < segStart) continue;
      if (m[0] === ".") {
        const before = /[\p{L}.]{1,12}$/u.exec(line.slice(Math.max(segStart, at - 12), at));
        const word = before ? before[0].toLowerCase() : "";
        if (ABBREVIATIONS.has(word) || /^\p{Lu}$/u.test(before?.[0] ?? "")) continue;
      }
      NEXT_CHAR_RE.lastIndex = at + m[0].length;
      const next = NEXT_CHAR_RE.exec(line);
      if (next && /\p{Ll}/u.test(next[1]!)) continue;
      emit(segStart, at + m[0].length);
      segStart = at + m[0].length;
    }
  }
  if (segStart < line.length) emit(segStart, line.length);
}
