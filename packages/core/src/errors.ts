/**
 * The one error catalog. Every package throws `CyberneticError`s; the gateway maps them onto HTTP in one
 * place (`code` and `status` come from here, so a route never picks a status by hand).
 *
 * `details` conventions: `details.issues` lists field problems (`ErrorIssue`); `details.reason`, where an
 * error has one, is a stable identifier in lowercase snake_case (`missing_key`, `revoked_key`,
 * `missing_scope`, `hpe_header_overflow`) for programs to branch on; the prose is in `message`.
 */

/** Every error code the platform uses, with its HTTP status. */
export const errorCatalog = {
  validation_failed: 400,
  invalid_json: 400,
  invalid_cursor: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  version_conflict: 409,
  duplicate: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  range_not_satisfiable: 416,
  idempotency_key_reused: 422,
  rate_limited: 429,
  internal: 500,
  not_implemented: 501,
  unavailable: 503,
} as const;

/** A code from the catalog, e.g. `"validation_failed"`. */
export type ErrorCode = keyof typeof errorCatalog;

/** One field-level problem, used in `details.issues` of validation errors. */
export interface ErrorIssue {
  /** Dotted path to the offending field, e.g. `"rules.then.0.channel"`; empty for the whole input. */
  path: string;
  message: string;
}

const marker = Symbol.for("cybernetic.error");

/** Options accepted by `new CyberneticError()`. */
export interface CyberneticErrorOptions {
  details?: unknown;
  cause?: unknown;
  /** Overrides the catalog status; rarely needed. */
  status?: number;
  /** Extra response headers the gateway should send (e.g. `retry-after`). */
  headers?: Record<string, string>;
}

/**
 * The base error of every Cybernetic package.
 *
 * @example
 * ```ts
 * throw new CyberneticError("not_found", "episode 4f1c… does not exist");
 * if (CyberneticError.isInstance(err) && err.code === "version_conflict") retry();
 * ```
 */
export class CyberneticError extends Error {
  override readonly name = "CyberneticError";
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;
  readonly headers: Record<string, string> | undefined;
  readonly [marker] = true;

  constructor(code: ErrorCode, message: string, options: CyberneticErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status ?? errorCatalog[code];
    this.details = options.details;
    this.headers = options.headers;
  }

  /**
   * True for any `CyberneticError`, even one created by a second copy of this package
   * (`instanceof` fails across duplicate installs; the `Symbol.for` marker does not).
   */
  static isInstance(value: unknown): value is CyberneticError {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[marker] === true;
  }

  /** The JSON body the gateway sends: `{ code, message, details? }`. */
  toJSON(): { code: ErrorCode; message: string; details?: unknown } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

/**
 * A validation error listing every issue found.
 *
 * @example
 * ```ts
 * throw validationError("slug must match ^[a-z0-9-]+$", [{ path: "slug", message: "bad character" }]);
 * ```
 */
export function validationError(
  message: string,
  issues: ErrorIssue[] = [],
  cause?: unknown,
): CyberneticError {
  return new CyberneticError("validation_failed", message, { details: { issues }, cause });
}

/**
 * A not-found error naming the kind of thing and its id.
 *
 * @example
 * ```ts
 * throw notFound("episode", id);
 * ```
 */
export function notFound(kind: string, id?: string): CyberneticError {
  return new CyberneticError(
    "not_found",
    id === undefined ? `${kind} not found` : `${kind} ${id} not found`,
    {
      details: id === undefined ? { kind } : { kind, id },
    },
  );
}

/**
 * An optimistic-locking conflict: the caller's version is stale.
 *
 * @example
 * ```ts
 * throw versionConflict("system 3 state", 4, 5);
 * ```
 */
export function versionConflict(what: string, expected: number, actual: number): CyberneticError {
  return new CyberneticError(
    "version_conflict",
    `${what} is at version ${actual}, not ${expected}; re-read it and retry`,
    { details: { expectedVersion: expected, currentVersion: actual } },
  );
}
