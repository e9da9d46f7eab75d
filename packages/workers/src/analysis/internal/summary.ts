/**
 * Extractive summary: score each sentence by the frequency of its content words (so sentences about what
 * the text is mostly about win), favour the first sentence and sentences sharing words with the title,
 * take the best few that fit the budget, and print them in their original order.
 *
 * Names do not count towards a sentence's score (a signature repeating the sender's name and company is
 * not the gist), and greetings and name-heavy lines ("— Clara, Lumen Bakery") are played down.
 */
import { isContentWord, type TermStats, termKey } from "./terms.js";
import type { PreparedText } from "./text.js";

/** Limits of the summary. */
export interface SummaryLimits {
  readonly maxSentences: number;
  readonly maxChars: number;
}

const GREETINGS: ReadonlySet<string> = new Set(["hi", "hello", "hey", "dear", "thanks", "cheers", "regards"]);

/** The extractive summary of `content`, or the title when there is no content to summarise. */
export function summarize(
  content: PreparedText,
  title: string,
  terms: TermStats,
  titleKeys: ReadonlySet<string>,
  limits: SummaryLimits,
): string {
  const all = content.sentences
    .map((sentence, index) => ({
      sentence,
      index,
      text: collapse(content.text.slice(sentence.start, sentence.end)),
    }))
    .filter(({ sentence, text }) => !sentence.heading && text !== "");
  // Lines without a single word (a bare URL, a row of dashes) only when there is nothing else.
  const worded = all.filter(({ sentence }) => sentence.tokens.length > 0);
  const candidates = worded.length > 0 ? worded : all;
  if (candidates.length === 0) return truncate(collapse(title), limits.maxChars);

  const isGreeting = (c: (typeof candidates)[number]) => GREETINGS.has(c.sentence.tokens[0]?.norm ?? "");
  // News-style texts put the gist first; a greeting is not the gist.
  const lead = candidates.findIndex((c) => !isGreeting(c));

  const scored = candidates.map((candidate, rank) => {
    const tokens = candidate.sentence.tokens;
    const keys = new Set<string>();
    let words = 0;
    let names = 0;
    tokens.forEach((token, i) => {
      if (!/\p{L}/u.test(token.norm)) return;
      const name = i > 0 && /^\p{Lu}/u.test(token.text);
      if (name) names++;
      if (!isContentWord(token.norm)) return;
      words++;
      if (!name) keys.add(termKey(token.norm));
    });
    let score = 0;
    let titleHits = 0;
    for (const key of keys) {
      score += terms.weight.get(key) ?? 0;
      if (titleKeys.has(key)) titleHits++;
    }
    score /= 1 + Math.sqrt(words);
    if (titleKeys.size > 0) score *= 1 + (0.5 * titleHits) / titleKeys.size;
    if (rank === lead) score *= 1.5;
    if (tokens.length < 4) score *= 0.5;
    if (isGreeting(candidate)) score *= 0.3;
    if (names >= 2 && names / tokens.length >= 0.5) score *= 0.3;
    return { ...candidate, score };
  });

  const ranked = [...scored].sort((a, b) => b.score - a.score || a.index - b.index);
  const chosen: typeof scored = [];
  let length = 0;
  for (const candidate of ranked) {
    if (chosen.length >= limits.maxSentences) break;
    const added = candidate.text.length + (chosen.length > 0 ? 1 : 0);
    if (length + added > limits.maxChars) continue;
    chosen.push(candidate);
    length += added;
  }
  if (chosen.length === 0) return truncate(ranked[0]!.text, limits.maxChars);
  return chosen
    .sort((a, b) => a.index - b.index)
    .map((c) => c.text)
    .join(" ");
}

function collapse(text: string): string {
  return text.replace(/\s+/gu, " ").trim();
}

/** Cuts at a word boundary (when one is near) and appends "…", never splitting a surrogate pair. */
export function truncate(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  if (maxChars <= 1) return "";
  let cut = text.slice(0, maxChars - 1);
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  const space = cut.lastIndexOf(" ");
  if (space > maxChars * 0.6) cut = cut.slice(0, space);
  return `${cut.trimEnd()}…`;
}
