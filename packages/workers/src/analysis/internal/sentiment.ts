/**
 * Lexicon sentiment (see `lexicon.ts` for the word lists and the modifier rules).
 *
 * Positive and negative mass are summed separately, and the score is their balance,
 * `(positive - negative) / (positive + negative + 2)`: bounded to (-1, 1), independent of the length of
 * the text, and damped for texts with little evidence (one "good" scores 0.5, not 1).
 */
import type { AnalysisSentiment } from "@cybernetic/core/contract";
import {
  CONTRAST,
  DAMPENERS,
  EMOJI_SENTIMENT,
  INTENSIFIERS,
  NEGATED_SENTIMENT,
  NEGATORS,
  SENTIMENT,
} from "../lexicon.js";
import { PhraseMatcher } from "./phrase-matcher.js";
import type { Token } from "./text.js";

const sentimentWords = new PhraseMatcher<number>(Object.entries(SENTIMENT));
const negatedOnlyWords = new PhraseMatcher<number>(Object.entries(NEGATED_SENTIMENT));

/** Scores at or beyond ±0.2 get a polar label. */
const LABEL_THRESHOLD = 0.2;
const NEGATION_WINDOW = 3;

/** True for "not", "never", "isn't"… */
export function isNegator(norm: string | undefined): boolean {
  return norm !== undefined && (NEGATORS.has(norm) || norm.endsWith("n't"));
}

/** The sentiment of a text given as sentences of tokens. */
export function scoreSentiment(sentences: readonly (readonly Token[])[]): AnalysisSentiment {
  let positive = 0;
  let negative = 0;
  let words = 0;

  for (const tokens of sentences) {
    let contrastAt = -1;
    tokens.forEach((t, i) => {
      if (i > 0 && CONTRAST.has(t.norm)) contrastAt = i;
    });
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i]!;
      if (/\p{L}/u.test(token.norm)) words++;
      let negated = false;
      for (let k = 1; k <= NEGATION_WINDOW && i - k >= 0; k++) {
        if (isNegator(tokens[i - k]!.norm)) negated = true;
      }
      let value: number | undefined;
      const emoji = EMOJI_SENTIMENT[String.fromCodePoint(token.norm.codePointAt(0)!)];
      if (emoji !== undefined && !/\p{L}/u.test(token.norm)) value = emoji;
      else value = sentimentWords.lookup(token.norm);
      if (value === undefined && negated) {
        const negatedOnly = negatedOnlyWords.lookup(token.norm);
        // The negation is already in the lexicon value ("doesn't work" is -2), so do not flip it again.
        if (negatedOnly !== undefined) {
          value = negatedOnly;
          negated = false;
        }
      }
      if (!value) continue;

      const previous = tokens[i - 1]?.norm;
      if (previous !== undefined && INTENSIFIERS.has(previous)) value *= 1.5;
      else if (previous !== undefined && DAMPENERS.has(previous)) value *= 0.5;
      if (negated) value *= -0.5;
      if (contrastAt > 0) value *= i < contrastAt ? 0.5 : i > contrastAt ? 1.5 : 1;

      if (value > 0) positive += value;
      else negative -= value;
    }
  }

  const mass = positive + negative;
  const score = mass === 0 ? 0 : (positive - negative) / (mass + 2);
  const label = score >= LABEL_THRESHOLD ? "positive" : score <= -LABEL_THRESHOLD ? "negative" : "neutral";

  let confidence: number;
  if (mass === 0) {
    // No sentiment words: the longer the text, the more "neutral" is a finding rather than a shrug.
    confidence = words === 0 ? 0 : Math.min(0.6, 0.2 + words / 100);
  } else {
    const evidence = 1 - Math.exp(-mass / 3);
    const margin =
      label === "neutral" ? 1 - Math.abs(score) / LABEL_THRESHOLD : Math.min(1, Math.abs(score) / 0.6);
    confidence = 0.3 + 0.7 * evidence * margin;
  }
  return { score: round(score), label, confidence: round(clamp01(confidence)) };
}

function clamp01(n: number): number {
  return Math.min(1, Math.max(0, n));
}

function round(n: number): number {
  const r = Math.round(n * 1000) / 1000;
  return Object.is(r, -0) ? 0 : r;
}
