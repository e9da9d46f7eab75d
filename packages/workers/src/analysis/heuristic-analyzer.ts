import type { EpisodeAnalysis } from "@cybernetic/core/contract";
import type { AnalyzeOptions, Analyzer, AnalyzerInput } from "./analyzer.js";
import {
  assessRisk,
  detectLanguage,
  detectSystems,
  detectTopics,
  type WeightedSentence,
} from "./internal/classify.js";
import { extractEntities } from "./internal/entities.js";
import { scoreSentiment } from "./internal/sentiment.js";
import { summarize } from "./internal/summary.js";
import { countTerms, isContentWord, repeatedPhrases, termKey, topKeywords } from "./internal/terms.js";
import { boundText, prepareText, tokenize } from "./internal/text.js";

/** Options of `createHeuristicAnalyzer`. Every limit bounds the work or the size of the result. */
export interface HeuristicAnalyzerOptions {
  /** Only the first `maxChars` characters of the content are analysed. Default 100 000. */
  maxChars?: number;
  /** Most sentences in the summary. Default 3. */
  maxSummarySentences?: number;
  /** Longest summary, in characters. Default 600. */
  maxSummaryChars?: number;
  /** Most keywords. Default 10. */
  maxKeywords?: number;
  /** Most topics. Default 5. */
  maxTopics?: number;
  /** Most entities. Default 50. */
  maxEntities?: number;
}

/** The version written into `analysis.analyzer.version`; bump it when the output for a text may change. */
export const HEURISTIC_ANALYZER_VERSION = "1.0.0";

const MAX_TITLE_CHARS = 1_000;
const MAX_TAGS = 50;
const MAX_TAG_CHARS = 100;

function limit(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer`);
  return value;
}

/**
 * The default analyzer: deterministic (the same input always gives the same analysis), offline, and
 * explainable. Summary by sentence extraction, keywords by term frequency, entities by capitalisation and
 * patterns, and sentiment, VSM systems, topics and risk by the word lists documented in `lexicon.ts`.
 * Work is bounded: at most `maxChars` characters of content are read, so a megabyte costs what 100 kB does.
 *
 * @example
 * ```ts
 * const analyzer = createHeuristicAnalyzer({ maxSummarySentences: 2 });
 * const { summary, systems, risk } = await analyzer.analyze({
 *   title: "Checkout outage",
 *   content: "Payments failed for 40 minutes. No data was lost.",
 * });
 * // systems: [1], risk.level: "high"
 * ```
 */
export function createHeuristicAnalyzer(options: HeuristicAnalyzerOptions = {}): Analyzer {
  const maxChars = limit(options.maxChars, 100_000, "maxChars");
  const maxSummarySentences = limit(options.maxSummarySentences, 3, "maxSummarySentences");
  const maxSummaryChars = limit(options.maxSummaryChars, 600, "maxSummaryChars");
  const maxKeywords = limit(options.maxKeywords, 10, "maxKeywords");
  const maxTopics = limit(options.maxTopics, 5, "maxTopics");
  const maxEntities = limit(options.maxEntities, 50, "maxEntities");

  const analyzeSync = (input: AnalyzerInput): EpisodeAnalysis => {
    const title = prepareText(boundText(String(input.title ?? ""), MAX_TITLE_CHARS));
    const content = prepareText(boundText(String(input.content ?? ""), maxChars));
    const titleTokens = tokenize(title.masked);
    const tagTokens = (input.tags ?? [])
      .slice(0, MAX_TAGS)
      .map((tag) => tokenize(boundText(String(tag), MAX_TAG_CHARS).replace(/[-_/]+/gu, " ")));
    const contentSentences = content.sentences.map((s) => s.tokens);

    const weighted: WeightedSentence[] = [
      { tokens: titleTokens, weight: 2 },
      ...tagTokens.map((tokens) => ({ tokens, weight: 2 })),
      ...contentSentences.map((tokens) => ({ tokens, weight: 1 })),
    ];
    const terms = countTerms([
      { tokens: titleTokens, weight: 2 },
      ...contentSentences.map((tokens) => ({ tokens, weight: 1 })),
    ]);
    const titleKeys = new Set(titleTokens.filter((t) => isContentWord(t.norm)).map((t) => termKey(t.norm)));

    const sentiment = scoreSentiment([titleTokens, ...contentSentences]);
    const topics = detectTopics(weighted);
    for (const phrase of repeatedPhrases(contentSentences, maxTopics)) {
      if (!topics.includes(phrase)) topics.push(phrase);
    }
    const language = detectLanguage([...titleTokens, ...contentSentences.flat()]);

    return {
      summary: summarize(content, title.text, terms, titleKeys, {
        maxSentences: maxSummarySentences,
        maxChars: maxSummaryChars,
      }),
      keywords: topKeywords(terms, maxKeywords),
      topics: topics.slice(0, maxTopics),
      entities: extractEntities(title, content, maxEntities),
      sentiment,
      systems: detectSystems(weighted),
      risk: assessRisk(weighted, sentiment),
      analyzer: { name: "heuristic", version: HEURISTIC_ANALYZER_VERSION },
      ...(language === undefined ? {} : { language }),
    };
  };

  return {
    name: "heuristic",
    async analyze(input: AnalyzerInput, analyzeOptions: AnalyzeOptions = {}): Promise<EpisodeAnalysis> {
      analyzeOptions.signal?.throwIfAborted();
      return analyzeSync(input);
    },
  };
}
