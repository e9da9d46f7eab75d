import type { EpisodeAnalysis } from "@cybernetic/core/contract";

/** What an analyzer reads: the episode's text and a little context. */
export interface AnalyzerInput {
  /** The episode title (≤ 500 characters in the database). */
  title: string;
  /** The episode body; may be empty, long, or in any script. */
  content: string;
  /** The episode's tags, if any. */
  tags?: string[];
  /** Where the episode came from, e.g. `"telegram"`. */
  source?: string;
}

/** Per-call options. */
export interface AnalyzeOptions {
  /** Aborts the analysis; the promise then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * S4's episode analyzer: turns an episode into an `EpisodeAnalysis`. Implementations are pluggable: the
 * built-in `createHeuristicAnalyzer()` (deterministic, no network) and `createOpenAICompatibleAnalyzer()`
 * (any OpenAI-compatible chat-completions endpoint), or a host app's own.
 *
 * @example
 * ```ts
 * const analyzer: Analyzer = createHeuristicAnalyzer();
 * const analysis = await analyzer.analyze({ title: "Checkout down", content: "Payments failed for 20 min." });
 * if (analysis.risk.level === "critical") alert(analysis.summary);
 * ```
 */
export interface Analyzer {
  /** A short, stable name, e.g. `"heuristic"`; also written into `analysis.analyzer.name`. */
  readonly name: string;
  /** Analyses one episode. Rejects with an `AnalyzerError` when the analysis cannot be produced. */
  analyze(input: AnalyzerInput, options?: AnalyzeOptions): Promise<EpisodeAnalysis>;
}
