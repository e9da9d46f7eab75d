/** Why an analysis failed. */
export type AnalyzerErrorCode = "timeout" | "http_error" | "invalid_response" | "network_error";

/** Options accepted by `new AnalyzerError()`. */
export interface AnalyzerErrorOptions {
  /** Whether trying again later may succeed (the job runner uses this to retry or give up). */
  retryable: boolean;
  /** The HTTP status, for `http_error`. */
  status?: number;
  cause?: unknown;
}

const marker = Symbol.for("cybernetic.analyzer-error");

/**
 * The error an `Analyzer` rejects with. Messages never contain the API key.
 *
 * @example
 * ```ts
 * try {
 *   await analyzer.analyze(episode);
 * } catch (err) {
 *   if (AnalyzerError.isInstance(err) && err.retryable) throw err; // let the job be retried
 *   markFailed(episode, err);
 * }
 * ```
 */
export class AnalyzerError extends Error {
  override readonly name = "AnalyzerError";
  readonly code: AnalyzerErrorCode;
  readonly retryable: boolean;
  readonly status: number | undefined;
  readonly [marker] = true;

  constructor(code: AnalyzerErrorCode, message: string, options: AnalyzerErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable;
    this.status = options.status;
  }

  /**
   * True for any `AnalyzerError`, even one created by a second copy of this package (`instanceof` fails
   * across duplicate installs; the `Symbol.for` marker does not).
   */
  static isInstance(value: unknown): value is AnalyzerError {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[marker] === true;
  }
}
