/**
 * The one retry contract of the worker runtime: an error that says it is permanent, by carrying
 * `retryable: false`, is not retried, whatever its class (`PermanentJobError`, `AnalyzerError`,
 * `NotificationError`, a host's own error). Checked by property, not `instanceof`, so an error from a
 * second copy of a package or from a host's code counts the same. Every other error is retried while the
 * job has retries left.
 *
 * @example
 * ```ts
 * isRetryable(new AnalyzerError("http_error", "404 from the LLM endpoint", { retryable: false })); // false
 * isRetryable(new Error("connection reset")); // true
 * ```
 */
export function isRetryable(error: unknown): boolean {
  return !(
    typeof error === "object" &&
    error !== null &&
    (error as { retryable?: unknown }).retryable === false
  );
}
