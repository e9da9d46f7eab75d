import {
  NEGATED_SENTIMENT,
  RISK_RULES,
  SENTENCE_STARTERS,
  SENTIMENT,
  STOPWORDS,
  TOPIC_LEXICON,
  VSM_LEXICON,
} from "../lexicon.js";
import { PhraseMatcher } from "./phrase-matcher.js";

// Every single-word lexicon term is an ordinary word of the language: capitalised at the start of a
// sentence ("Customers", "Revenue", "Outage") it is not a name.
const lexiconWords = new PhraseMatcher<true>(
  [
    ...Object.keys(SENTIMENT),
    ...Object.keys(NEGATED_SENTIMENT),
    ...Object.values(VSM_LEXICON).flat(),
    ...Object.values(TOPIC_LEXICON).flat(),
    ...RISK_RULES.flatMap((rule) => rule.terms),
  ]
    .filter((term) => !term.includes(" "))
    .map((term) => [term, true] as const),
);

/** True for words that are ordinary vocabulary (stopwords, sentence openers, lexicon words). */
export function isCommonWord(norm: string): boolean {
  return STOPWORDS.has(norm) || SENTENCE_STARTERS.has(norm) || lexiconWords.lookup(norm) === true;
}
