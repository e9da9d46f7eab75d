/**
 * The storage package's one error class. Every adapter throws `StorageError`s (never a raw `fs` or
 * AWS error), so a caller switches on `code` and never on a driver's message. `@cybernetic/core`
 * maps these onto its own catalog; keep the `code` / `status` / `details` shape stable.
 */

/**
 * Why a storage operation failed, with the HTTP status a gateway should answer with.
 *
 * @example
 * ```ts
 * storageErrorStatus.not_found; // 404
 * ```
 */
export const storageErrorStatus = {
  /** The key holds no object. */
  not_found: 404,
  /** The key breaks a rule of `validateKey()` (or of the adapter, e.g. a local path segment too long). */
  invalid_key: 400,
  /** An option or argument is malformed: metadata, content type, range bounds, list cursor or limit. */
  invalid_argument: 400,
  /** The requested byte range starts past the end of the object. */
  invalid_range: 416,
  /** The caller's `AbortSignal` fired, or the body stream failed before it ended. Nothing was stored. */
  aborted: 400,
  /** The body is larger than `maxBytes`. Nothing was stored. */
  too_large: 413,
  /** The operation conflicts with the current state of the store. */
  conflict: 409,
  /** The adapter cannot do this (e.g. signed URLs on the local adapter, a missing optional SDK). */
  unsupported: 501,
  /** The backing store failed or cannot be reached (disk error, S3 down, wrong credentials). */
  storage_unavailable: 503,
} as const;

/**
 * A storage error code, e.g. `"not_found"`.
 *
 * @example
 * ```ts
 * const code: StorageErrorCode = "too_large";
 * ```
 */
export type StorageErrorCode = keyof typeof storageErrorStatus;

/**
 * Options for `new StorageError()`.
 *
 * @example
 * ```ts
 * new StorageError("too_large", "body exceeds 1 MiB", { details: { limit: 1_048_576 } });
 * ```
 */
export interface StorageErrorOptions {
  /** Machine-readable facts about the failure (e.g. `{ rule: "dot_segment" }`); safe to show a client. */
  details?: Record<string, unknown>;
  /** The underlying error, for logs. */
  cause?: unknown;
}

const marker: unique symbol = Symbol.for("cybernetic.storage.error");

/**
 * The error every storage adapter throws. `isInstance` works across duplicate installs of this package
 * (it checks a `Symbol.for` marker, not the prototype chain).
 *
 * @example
 * ```ts
 * try {
 *   await storage.get("reports/missing.pdf");
 * } catch (err) {
 *   if (StorageError.isInstance(err) && err.code === "not_found") return notFound();
 *   throw err;
 * }
 * ```
 */
export class StorageError extends Error {
  override readonly name = "StorageError";
  /** Why it failed; stable, switch on it. */
  readonly code: StorageErrorCode;
  /** The HTTP status that fits `code`. */
  readonly status: number;
  /** Machine-readable facts about the failure; `undefined` when there are none. */
  readonly details: Record<string, unknown> | undefined;
  declare readonly [marker]: true;

  constructor(code: StorageErrorCode, message: string, options: StorageErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = storageErrorStatus[code];
    this.details = options.details;
    // Non-enumerable so it never shows up in JSON or logs.
    Object.defineProperty(this, marker, { value: true, enumerable: false });
  }

  /**
   * True for a `StorageError` from any copy of this package.
   *
   * @example
   * ```ts
   * if (StorageError.isInstance(err)) console.log(err.code, err.status);
   * ```
   */
  static isInstance(value: unknown): value is StorageError {
    return typeof value === "object" && value !== null && (value as { [marker]?: unknown })[marker] === true;
  }
}

/** errno values that mean "the store is there, but takes no more writes". */
const WRITE_ERRNOS = new Set(["ENOSPC", "EDQUOT", "EROFS", "EFBIG"]);

/**
 * True when `error` says the store can no longer be written (full disk, quota, read-only file system)
 * while it may still be read: a degraded store, not a missing one. `check()` reports such a store with
 * `details.writable: false`; an upload that failed this way carries the errno.
 *
 * @example
 * ```ts
 * try {
 *   await storage.check();
 * } catch (error) {
 *   if (isStorageWriteFailure(error)) reportDegraded(); // reads still work
 * }
 * ```
 */
export function isStorageWriteFailure(error: unknown): boolean {
  if (!StorageError.isInstance(error) || error.code !== "storage_unavailable") return false;
  const details = error.details as { writable?: unknown; errno?: unknown } | undefined;
  return (
    details?.writable === false || (typeof details?.errno === "string" && WRITE_ERRNOS.has(details.errno))
  );
}
