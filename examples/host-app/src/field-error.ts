import { type CyberneticError, validationError } from "@cybernetic/core";

/**
 * A `validation_failed` error (400) whose message and `details.issues` name the offending field: a body
 * member, a header, a path parameter or an environment variable.
 *
 * @example
 * ```ts
 * throw fieldError("title", "expected a string");
 * ```
 */
export function fieldError(path: string, message: string): CyberneticError {
  return validationError(`${path}: ${message}`, [{ path, message }]);
}
