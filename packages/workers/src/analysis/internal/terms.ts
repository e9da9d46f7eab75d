/**
 * Term statistics shared by keywords, topics and the summary: which tokens are content words, how they
 * fold together ("outages" and "outage" are one term), and how often each occurs.
 */
import { STOPWORDS } from "../lexicon.js";
import type { Token } from "./text.js";

const HAS_LETTER_RE = /\p{L}/u;
const NON_LATIN_RE = /[^\p{Script=Latin}\p{N}'.&_-]/u;
const MAX_TERM_LENGTH = 40;

/** True for tokens worth counting: not stopwords, not numbers or emoji, not too short or long. */
export function isContentWord(norm: string): boolean {
  if (!HAS_LETTER_RE.test(norm) || STOPWORDS.has(norm) || norm.length > MAX_TERM_LENGTH) return false;
  // Two letters are a word in scripts without spaces or with short words (CJK, Hangul), not in Latin.
  return norm.length >= 3 || (norm.length === 2 && NON_LATIN_RE.test(norm));
}

/** Folds simple English plurals so "outages" and "outage" count as one term. */
export function termKey(norm: string): string {
  if (norm.length > 4 && norm.endsWith("ies")) return `${norm.slice(0, -3)}y`;
  if (norm.length > 3 && norm.endsWith("s") && !/(?:ss|us|is|'s)$/u.test(norm)) return norm.slice(0, -1);
  return norm;
}

/** Per-term weight, first appearance and most frequent surface form. */
export interface TermStats {
  readonly weight: Map<string, number>;
  readonly first: Map<string, number>;
  readonly surface: Map<string, string>;
}

/** Counts content words of weighted token lists (the title counts double). */
export function countTerms(lists: readonly { tokens: readonly Token[]; weight: number }[]): TermStats {
  const weight = new Map<string, number>();
  const first = new Map<string, number>();
  const forms = new Map<string, Map<string, number>>();
  let position = 0;
  for (const { tokens, weight: w } of lists) {
    for (const token of tokens) {
      position++;
      if (!isContentWord(token.norm)) continue;
      const key = termKey(token.norm);
      weight.set(key, (weight.get(key) ?? 0) + w);
      if (!first.has(key)) first.set(key, position);
      const keyForms = forms.get(key) ?? new Map<string, number>();
      keyForms.set(token.norm, (keyForms.get(token.norm) ?? 0) + 1);
      forms.set(key, keyForms);
    }
  }
  const surface = new Map<string, string>();
  for (const [key, keyForms] of forms) {
    // Most frequent form; on a tie the one seen first (Map order).
    let best = "";
    let bestCount = 0;
    for (const [form, n] of keyForms) {
      if (n > bestCount) {
        best = form;
        bestCount = n;
      }
    }
    surface.set(key, best);
  }
  return { weight, first, surface };
}

/** The top `max` keywords: heaviest first, then earliest. */
export function topKeywords(stats: TermStats, max: number): string[] {
  return [...stats.weight.entries()]
    .sort(([a, n], [b, m]) => m - n || stats.first.get(a)! - stats.first.get(b)!)
    .slice(0, max)
    .map(([key]) => stats.surface.get(key)!);
}

/**
 * Two-word phrases of lowercase content words that occur at least twice, most frequent first (names
 * are entities, not topics).
 */
export function repeatedPhrases(sentences: readonly (readonly Token[])[], max: number): string[] {
  const counts = new Map<string, number>();
  for (const tokens of sentences) {
    for (let i = 1; i < tokens.length; i++) {
      const a = tokens[i - 1]!.norm;
      const b = tokens[i]!.norm;
      if (!isContentWord(a) || !isContentWord(b)) continue;
      if (tokens[i - 1]!.text !== a || tokens[i]!.text !== b) continue;
      const phrase = `${a} ${b}`;
      counts.set(phrase, (counts.get(phrase) ?? 0) + 1);
    }
  }
  return [...counts.entries()]
    .filter(([, n]) => n >= 2)
    .sort(([, n], [, m]) => m - n)
    .slice(0, max)
    .map(([phrase]) => phrase);
}
