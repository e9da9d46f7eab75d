// S4 episode analysis: the Analyzer interface and its implementations.

// Interface
export type { AnalyzeOptions, Analyzer, AnalyzerInput } from "./analyzer.js";
export { AnalyzerError, type AnalyzerErrorCode, type AnalyzerErrorOptions } from "./analyzer-error.js";

// Implementations
export {
  createHeuristicAnalyzer,
  HEURISTIC_ANALYZER_VERSION,
  type HeuristicAnalyzerOptions,
} from "./heuristic-analyzer.js";
export {
  ANALYSIS_SYSTEM_PROMPT,
  createOpenAICompatibleAnalyzer,
  type OpenAICompatibleAnalyzerOptions,
} from "./openai-compatible-analyzer.js";
