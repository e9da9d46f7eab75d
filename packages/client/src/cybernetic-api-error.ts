const marker = Symbol.for("cybernetic.CyberneticApiError");

/**
 * An error answer of the API (or a network failure, `status` 0), with the server's error code and
 * request id. `isInstance` works across duplicate installs, where `instanceof` does not.
 *
 * @example
 * ```ts
 * try {
 *   await client.episodes.get(id);
 * } catch (error) {
 *   if (CyberneticApiError.isInstance(error) && error.status === 404) console.log("gone", error.requestId);
 * }
 * ```
 */
export class CyberneticApiError extends Error {
  override readonly name = "CyberneticApiError";
  readonly [marker] = true;

  constructor(
    /** HTTP status; 0 when no answer arrived (network error, timeout). */
    readonly status: number,
    /** The API's error code (`validation_failed`, `not_found`, …), or `network_error` / `timeout`. */
    readonly code: string,
    message: string,
    readonly details: unknown,
    /** The `x-request-id` of the answer, when there was one. */
    readonly requestId: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** True for any `CyberneticApiError`, even one from a second copy of this package. */
  static isInstance(value: unknown): value is CyberneticApiError {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[marker] === true;
  }
}
