/**
 * Matches lexicon terms (see `lexicon.ts` for the `*` and phrase syntax) against token sequences.
 * Terms are indexed by their first word so matching a sentence costs a couple of map lookups per token,
 * whatever the size of the lexicon.
 */

interface Part {
  readonly value: string;
  readonly prefix: boolean;
}

interface Entry<T> {
  readonly parts: readonly Part[];
  readonly payload: T;
  readonly order: number;
}

/** A match of one term: `payload` of the term, token indices `[start, end)`. */
export interface PhraseMatch<T> {
  readonly payload: T;
  readonly start: number;
  readonly end: number;
}

const BUCKET = 2;

function parsePart(word: string): Part {
  return word.endsWith("*") ? { value: word.slice(0, -1), prefix: true } : { value: word, prefix: false };
}

function partMatches(part: Part, token: string): boolean {
  return part.prefix ? token.startsWith(part.value) : token === part.value;
}

export class PhraseMatcher<T> {
  readonly #exact = new Map<string, Entry<T>[]>();
  readonly #prefix = new Map<string, Entry<T>[]>();
  readonly #shortPrefix: Entry<T>[] = [];

  constructor(terms: Iterable<readonly [term: string, payload: T]>) {
    let order = 0;
    for (const [term, payload] of terms) {
      const parts = term.trim().toLowerCase().split(/\s+/).map(parsePart);
      const first = parts[0];
      if (first === undefined || first.value === "") continue;
      const entry: Entry<T> = { parts, payload, order: order++ };
      if (!first.prefix) push(this.#exact, first.value, entry);
      else if (first.value.length >= BUCKET) push(this.#prefix, first.value.slice(0, BUCKET), entry);
      else this.#shortPrefix.push(entry);
    }
  }

  /** Every term occurrence in `tokens` (lowercase), ordered by start, then by the term's lexicon order. */
  match(tokens: readonly string[]): PhraseMatch<T>[] {
    const matches: PhraseMatch<T>[] = [];
    for (let i = 0; i < tokens.length; i++) {
      for (const entry of this.#candidates(tokens[i]!)) {
        const end = i + entry.parts.length;
        if (end > tokens.length) continue;
        let ok = true;
        for (let k = 0; k < entry.parts.length && ok; k++) ok = partMatches(entry.parts[k]!, tokens[i + k]!);
        if (ok) matches.push({ payload: entry.payload, start: i, end });
      }
    }
    return matches;
  }

  /**
   * The payload of the best single-word term for `token`: an exact term wins, then the longest prefix.
   * Phrases are ignored.
   */
  lookup(token: string): T | undefined {
    let best: Entry<T> | undefined;
    for (const entry of this.#candidates(token)) {
      if (entry.parts.length !== 1) continue;
      const part = entry.parts[0]!;
      if (!part.prefix) return entry.payload;
      if (best === undefined || part.value.length > best.parts[0]!.value.length) best = entry;
    }
    return best?.payload;
  }

  #candidates(token: string): Entry<T>[] {
    const candidates: Entry<T>[] = [];
    const exact = this.#exact.get(token);
    if (exact) candidates.push(...exact);
    for (const entry of this.#prefix.get(token.slice(0, BUCKET)) ?? []) {
      if (token.startsWith(entry.parts[0]!.value)) candidates.push(entry);
    }
    for (const entry of this.#shortPrefix)
      if (token.startsWith(entry.parts[0]!.value)) candidates.push(entry);
    if (candidates.length > 1) candidates.sort((a, b) => a.order - b.order);
    return candidates;
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
