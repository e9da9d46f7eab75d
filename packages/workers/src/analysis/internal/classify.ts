/**
 * Lexicon classification: VSM systems, topics, risk and language (see `lexicon.ts`).
 */
import {
  type AnalysisRisk,
  type AnalysisSentiment,
  type RiskLevel,
  riskLevels,
  type SystemNumber,
} from "@cybernetic/core/contract";
import {
  LANGUAGE_HINTS,
  RISK_NEGATORS,
  RISK_RULES,
  type RiskRule,
  TOPIC_LEXICON,
  VSM_LEXICON,
} from "../lexicon.js";
import { PhraseMatcher } from "./phrase-matcher.js";
import type { Token } from "./text.js";

/** A sentence's tokens with the weight its matches carry (the title and tags count double). */
export interface WeightedSentence {
  readonly tokens: readonly Token[];
  readonly weight: number;
}

const vsmMatcher = new PhraseMatcher<SystemNumber>(
  Object.entries(VSM_LEXICON).flatMap(([system, terms]) =>
    terms.map((term) => [term, Number(system) as SystemNumber] as const),
  ),
);
const topicMatcher = new PhraseMatcher<string>(
  Object.entries(TOPIC_LEXICON).flatMap(([topic, terms]) => terms.map((term) => [term, topic] as const)),
);
const riskMatcher = new PhraseMatcher<RiskRule>(
  RISK_RULES.flatMap((rule) => rule.terms.map((term) => [term, rule] as const)),
);

/** A system or topic is reported when its hits reach this share of the best one's. */
const RELATIVE_THRESHOLD = 0.3;
const RISK_NEGATION_WINDOW = 3;
const MAX_REASONS = 10;

/** Sums match weights per key, then keeps keys reaching the relative threshold, best first. */
function rank<K>(hits: Map<K, number>, order: (a: K, b: K) => number): K[] {
  const best = Math.max(0, ...hits.values());
  if (best === 0) return [];
  return [...hits.entries()]
    .filter(([, n]) => n >= Math.max(1, best * RELATIVE_THRESHOLD))
    .sort(([a, n], [b, m]) => m - n || order(a, b))
    .map(([key]) => key);
}

function countMatches<K>(matcher: PhraseMatcher<K>, sentences: readonly WeightedSentence[]): Map<K, number> {
  const hits = new Map<K, number>();
  for (const sentence of sentences) {
    for (const match of matcher.match(sentence.tokens.map((t) => t.norm))) {
      hits.set(match.payload, (hits.get(match.payload) ?? 0) + sentence.weight);
    }
  }
  return hits;
}

/** The VSM systems the text concerns, ascending. */
export function detectSystems(sentences: readonly WeightedSentence[]): SystemNumber[] {
  return rank(countMatches(vsmMatcher, sentences), (a, b) => a - b).sort((a, b) => a - b);
}

const topicOrder = Object.keys(TOPIC_LEXICON);

/** Topic labels from the topic lexicon, most-hit first. */
export function detectTopics(sentences: readonly WeightedSentence[]): string[] {
  return rank(countMatches(topicMatcher, sentences), (a, b) => topicOrder.indexOf(a) - topicOrder.indexOf(b));
}

function isRiskNegator(norm: string | undefined): boolean {
  return norm !== undefined && (RISK_NEGATORS.has(norm) || norm.endsWith("n't"));
}

/**
 * The risk level and its reasons: the most severe rule that fired (unless negated: "no data loss"),
 * plus negative sentiment as a medium reason. Reasons are most severe first, then in order of appearance.
 */
export function assessRisk(
  sentences: readonly WeightedSentence[],
  sentiment: AnalysisSentiment,
): AnalysisRisk {
  const fired = new Map<RiskRule, string>();
  for (const sentence of sentences) {
    const norms = sentence.tokens.map((t) => t.norm);
    for (const match of riskMatcher.match(norms)) {
      if (fired.has(match.payload)) continue;
      let negated = false;
      for (let k = 1; k <= RISK_NEGATION_WINDOW && match.start - k >= 0; k++) {
        if (isRiskNegator(norms[match.start - k])) negated = true;
      }
      if (negated) continue;
      const words = sentence.tokens.slice(match.start, match.end).map((t) => t.text);
      fired.set(match.payload, words.join(" "));
    }
  }

  const reasons: { level: RiskLevel; text: string }[] = [...fired.entries()].map(([rule, words]) => ({
    level: rule.level,
    text: `${rule.reason}: "${words}"`,
  }));
  if (sentiment.label === "negative") {
    reasons.push({ level: "medium", text: `negative sentiment (score ${sentiment.score})` });
  }
  // Stable sort: within a level, order of appearance is kept.
  reasons.sort((a, b) => riskLevels.indexOf(b.level) - riskLevels.indexOf(a.level));
  const level = reasons[0]?.level ?? "low";
  return { level, reasons: reasons.slice(0, MAX_REASONS).map((r) => r.text) };
}

/** A language tag when one language's common words clearly dominate, else `undefined`. */
export function detectLanguage(tokens: readonly Token[]): string | undefined {
  const hits = new Map<string, number>();
  let words = 0;
  for (const token of tokens) {
    if (!/\p{L}/u.test(token.norm)) continue;
    words++;
    for (const [language, hints] of Object.entries(LANGUAGE_HINTS)) {
      if (hints.has(token.norm)) hits.set(language, (hits.get(language) ?? 0) + 1);
    }
  }
  const ranked = [...hits.entries()].sort(([a, n], [b, m]) => m - n || (a < b ? -1 : 1));
  const [best, second] = ranked;
  if (!best || best[1] < 3 || best[1] < words * 0.05) return undefined;
  if (second && best[1] < second[1] * 2) return undefined;
  return best[0];
}
