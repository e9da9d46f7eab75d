/**
 * Entity extraction: literal entities (URLs, emails, mentions, hashtags) come from `prepareText`; people
 * and organisations are runs of capitalised words, cleaned up by a few rules:
 *
 * - A run at the start of a sentence loses its first word when that word is ordinary vocabulary
 *   ("Yesterday Acme…" → "Acme"); a lone sentence-initial word is kept only if it is also capitalised
 *   mid-sentence somewhere, is an acronym, or is followed by a verb that shows an actor ("Maria said",
 *   "Stripe reported"). A lone word right after "in", "near"… is taken for a place and skipped.
 * - Lines that look like Title Case headings are skipped, as are acronyms such as KPI or Q3.
 * - Kind: a title (Dr, Ms…), a speech verb after it or a personal cue before it ("thanks to Aisha")
 *   makes a person; an organisation suffix (Inc, GmbH…), an organisation word (Bank, Logistics…), "&" or
 *   a lone acronym makes an organisation; otherwise two or three Title-case words are a person, anything
 *   else (a lone unknown word: "Stripe", "Acme") an organisation.
 * - A lone word that is the first or last word of a longer person's name, or the first word of a longer
 *   organisation's, counts as a mention of that entity ("Maria" → "Maria Lopez", "Acme" → "Acme Corp").
 */
import type { AnalysisEntity } from "@cybernetic/core/contract";
import {
  ACTOR_VERBS,
  NAME_PARTICLES,
  NON_ENTITY_WORDS,
  ORG_SUFFIXES,
  ORG_WORDS,
  PERSON_CONTEXT,
  PERSON_TITLES,
  PLACE_PREPOSITIONS,
  SPEECH_VERBS,
} from "../lexicon.js";
import { isCommonWord } from "./common-words.js";
import type { PreparedText, Sentence } from "./text.js";

interface Candidate {
  text: string;
  kind: AnalysisEntity["kind"];
  count: number;
  order: number;
  words: string[];
  strongPerson: boolean;
  strongOrg: boolean;
  personVotes: number;
  orgVotes: number;
}

const POSSESSIVE_RE = /['’]s$/u;
const INITIAL_GAP_RE = /[:"“”«»(—–]/u;
const CODE_LIKE_RE = /^\p{L}\d/u;
const MAX_RUN = 6;

/**
 * Extracts entities from the title (literals only: titles are often Title Case) and the content, counted
 * and ordered by count (descending), then by first appearance.
 */
export function extractEntities(
  title: PreparedText,
  content: PreparedText,
  maxEntities: number,
): AnalysisEntity[] {
  const candidates = new Map<string, Candidate>();
  let order = 0;

  const addLiteral = (kind: AnalysisEntity["kind"], text: string) => {
    const key = `${kind}:${kind === "url" ? text : text.toLowerCase()}`;
    const existing = candidates.get(key);
    if (existing) existing.count++;
    else candidates.set(key, literalCandidate(kind, text, order++));
  };
  for (const literal of title.literals) addLiteral(literal.kind, literal.text);
  for (const literal of content.literals) addLiteral(literal.kind, literal.text);

  const lowercaseSeen = new Set<string>();
  const capitalisedMidSentence = new Set<string>();
  for (const sentence of content.sentences) {
    sentence.tokens.forEach((token, i) => {
      if (token.text === token.norm) lowercaseSeen.add(token.norm);
      else if (i > 0 && /^\p{Lu}/u.test(token.text)) capitalisedMidSentence.add(stripPossessive(token.norm));
    });
  }
  const isCommon = (norm: string) => isCommonWord(norm) || lowercaseSeen.has(norm);

  const names = new Map<string, Candidate>();
  for (const sentence of content.sentences) {
    if (sentence.heading || looksLikeTitleCase(content.masked, sentence)) continue;
    for (const run of findRuns(content.masked, sentence)) {
      const found = classifyRun(content, sentence, run, isCommon, capitalisedMidSentence);
      if (!found) continue;
      const key = found.text.toLowerCase();
      const existing = names.get(key);
      if (existing) {
        existing.count++;
        existing.strongPerson ||= found.strongPerson;
        existing.strongOrg ||= found.strongOrg;
        existing.personVotes += found.personVotes;
        existing.orgVotes += found.orgVotes;
      } else {
        names.set(key, { ...found, order: order++ });
      }
    }
  }

  for (const candidate of mergeAliases([...names.values()])) {
    candidate.kind = decideKind(candidate);
    candidates.set(`name:${candidate.text.toLowerCase()}`, candidate);
  }

  return [...candidates.values()]
    .sort((a, b) => b.count - a.count || a.order - b.order)
    .slice(0, maxEntities)
    .map(({ text, kind, count }) => ({ text, kind, count }));
}

function literalCandidate(kind: AnalysisEntity["kind"], text: string, order: number): Candidate {
  return {
    text,
    kind,
    count: 1,
    order,
    words: [],
    strongPerson: false,
    strongOrg: false,
    personVotes: 0,
    orgVotes: 0,
  };
}

function stripPossessive(word: string): string {
  return word.replace(POSSESSIVE_RE, "");
}

function bare(norm: string): string {
  return stripPossessive(norm).replace(/\.$/u, "");
}

function isAllCaps(word: string): boolean {
  return /\p{Lu}.*\p{Lu}/u.test(word) && word === word.toUpperCase();
}

// "Incident Review For The Payments Team" is a heading, not four entities; "Tom Becker, Acme Ltd" is a
// signature (headings seldom have commas).
function looksLikeTitleCase(text: string, sentence: Sentence): boolean {
  if (text.slice(sentence.start, sentence.end).includes(",")) return false;
  const words = sentence.tokens.filter((t) => /\p{L}/u.test(t.text));
  if (words.length < 4) return false;
  const capitalised = words.filter((t) => /^\p{Lu}/u.test(t.text)).length;
  return capitalised / words.length >= 0.75;
}

interface Run {
  /** Token indices in the sentence. */
  readonly indices: number[];
  readonly initial: boolean;
}

function findRuns(masked: string, sentence: Sentence): Run[] {
  const runs: Run[] = [];
  const tokens = sentence.tokens;
  let current: number[] = [];
  let pending: number[] = [];
  let initial = false;

  const flush = () => {
    if (current.length > 0) runs.push({ indices: current, initial });
    current = [];
    pending = [];
  };

  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    const gap = masked.slice(i === 0 ? sentence.start : tokens[i - 1]!.end, token.start);
    const atStart = i === 0 || INITIAL_GAP_RE.test(gap);
    const word = stripPossessive(token.text);
    const norm = bare(token.norm);
    const nameLike =
      /^\p{Lu}/u.test(word) &&
      !gap.endsWith("#") &&
      !gap.endsWith("@") &&
      !NON_ENTITY_WORDS.has(norm) &&
      !CODE_LIKE_RE.test(word) &&
      !(isAllCaps(word) && isCommonWord(norm));

    if (nameLike) {
      const last =
        current.length > 0 ? tokens[(pending.length > 0 ? pending.at(-1) : current.at(-1))!]! : undefined;
      const joins =
        last !== undefined &&
        (/^[ \t\u00a0]+$/u.test(gap) ||
          /^[ \t\u00a0]*&[ \t\u00a0]*$/u.test(gap) ||
          (/^\.[ \t\u00a0]+$/u.test(gap) &&
            (PERSON_TITLES.has(bare(last.norm)) || /^\p{Lu}$/u.test(last.text))) ||
          (/^,[ \t\u00a0]+$/u.test(gap) && ORG_SUFFIXES.has(norm)));
      if (joins) {
        current.push(...pending, i);
        pending = [];
      } else {
        flush();
        current = [i];
        initial = atStart;
      }
      if (word !== token.text) flush();
    } else if (
      current.length > 0 &&
      pending.length < 2 &&
      NAME_PARTICLES.has(token.norm) &&
      /^[ \t\u00a0]+$/u.test(gap)
    ) {
      pending.push(i);
    } else {
      flush();
    }
  }
  flush();
  return runs;
}

function classifyRun(
  content: PreparedText,
  sentence: Sentence,
  run: Run,
  isCommon: (norm: string) => boolean,
  capitalisedMidSentence: ReadonlySet<string>,
): Omit<Candidate, "order"> | undefined {
  const tokens = sentence.tokens;
  let indices = run.indices;
  let titled = false;
  while (indices.length > 0 && PERSON_TITLES.has(bare(tokens[indices[0]!]!.norm))) {
    indices = indices.slice(1);
    titled = true;
  }
  let initial = run.initial && !titled;
  if (initial && indices.length > 0 && isCommon(bare(tokens[indices[0]!]!.norm))) {
    indices = indices.slice(1);
    initial = false;
  }
  while (indices.length > 0 && NAME_PARTICLES.has(tokens[indices[0]!]!.norm)) indices = indices.slice(1);
  if (indices.length === 0 || indices.length > MAX_RUN) return undefined;

  const first = tokens[indices[0]!]!;
  const last = tokens[indices.at(-1)!]!;
  const words = indices.map((i) => bare(tokens[i]!.norm));
  const single = indices.length === 1;
  const next = tokens[indices.at(-1)! + 1];
  const spoke = next !== undefined && SPEECH_VERBS.has(next.norm);
  const acted = spoke || (next !== undefined && ACTOR_VERBS.has(next.norm));
  const acronym = single && isAllCaps(stripPossessive(first.text));
  const before = tokens.slice(Math.max(0, indices[0]! - 3), indices[0]!).map((t) => t.norm);
  const personal = before.some((w) => PERSON_CONTEXT.has(w));
  const place = single && before.length > 0 && PLACE_PREPOSITIONS.has(before.at(-1)!);

  if (single && initial && !acted && !acronym && !capitalisedMidSentence.has(words[0]!)) return undefined;
  if (single && isCommon(words[0]!) && !spoke && !titled) return undefined;
  if (place && !spoke && !titled && !personal) return undefined;

  const text = content.text
    .slice(first.start, last.end)
    .replace(POSSESSIVE_RE, "")
    .replace(/\s+/gu, " ")
    .replace(/\.$/u, "");
  const orgCue =
    ORG_SUFFIXES.has(words.at(-1)!) || words.some((w) => ORG_WORDS.has(w)) || text.includes("&") || acronym;
  const personCue = titled || (single && (spoke || personal));
  const titleCaseWords = indices.every((i) => /^\p{Lu}\p{Ll}/u.test(tokens[i]!.text));
  const looksPerson = !single && indices.length <= 3 && titleCaseWords;

  return {
    text,
    kind: "organization",
    count: 1,
    words,
    strongPerson: personCue && !orgCue,
    strongOrg: orgCue,
    personVotes: looksPerson ? 1 : 0,
    orgVotes: looksPerson ? 0 : 1,
  };
}

const NOT_LEGAL_FORMS = new Set(["group", "holdings", "partners", "company"]);

// "Acme Corp", "Acme Corp." and "Acme" are one company.
function legalBase(words: readonly string[]): string {
  let end = words.length;
  while (end > 1 && ORG_SUFFIXES.has(words[end - 1]!) && !NOT_LEGAL_FORMS.has(words[end - 1]!)) end--;
  return words.slice(0, end).join(" ");
}

function absorb(target: Candidate, alias: Candidate): void {
  target.count += alias.count;
  target.order = Math.min(target.order, alias.order);
  target.strongOrg ||= alias.strongOrg;
  target.orgVotes += alias.orgVotes;
}

// "Northwind Logistics" and "Northwind Logistics Ltd" are the same company: merged into the more frequent.
function mergeLegalForms(candidates: Candidate[]): Candidate[] {
  const byBase = new Map<string, Candidate>();
  const kept: Candidate[] = [];
  for (const candidate of candidates) {
    if (candidate.words.length < 2 || decideKind(candidate) !== "organization") {
      kept.push(candidate);
      continue;
    }
    const base = legalBase(candidate.words);
    const existing = byBase.get(base);
    if (!existing) {
      byBase.set(base, candidate);
      kept.push(candidate);
    } else if (candidate.count > existing.count) {
      absorb(candidate, existing);
      kept[kept.indexOf(existing)] = candidate;
      byBase.set(base, candidate);
    } else {
      absorb(existing, candidate);
    }
  }
  return kept;
}

// "Maria" after "Maria Lopez" is the same person; "Acme" after "Acme Corp" the same company.
function mergeAliases(all: Candidate[]): Candidate[] {
  const candidates = mergeLegalForms(all);
  const longer = candidates.filter((c) => c.words.length > 1);
  const kept: Candidate[] = [];
  for (const candidate of candidates) {
    if (candidate.words.length !== 1 || candidate.strongOrg) {
      kept.push(candidate);
      continue;
    }
    const word = candidate.words[0]!;
    let target: Candidate | undefined;
    for (const other of longer) {
      const person = decideKind(other) === "person";
      const matches = person
        ? other.words[0] === word || other.words.at(-1) === word
        : other.words[0] === word;
      if (!matches) continue;
      if (
        !target ||
        other.count > target.count ||
        (other.count === target.count && other.order < target.order)
      ) {
        target = other;
      }
    }
    if (target) {
      target.count += candidate.count;
      target.order = Math.min(target.order, candidate.order);
      target.strongPerson ||= candidate.strongPerson && decideKind(target) === "person";
    } else {
      kept.push(candidate);
    }
  }
  return kept;
}

function decideKind(candidate: Candidate): AnalysisEntity["kind"] {
  if (candidate.strongOrg) return "organization";
  if (candidate.strongPerson) return "person";
  return candidate.personVotes > candidate.orgVotes ? "person" : "organization";
}
