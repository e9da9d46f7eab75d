/** Validation of `list()` arguments and the cursor format, shared by every adapter. */
import type { ListOptions } from "../storage-adapter.js";
import { StorageError } from "../storage-error.js";
import { MAX_KEY_BYTES, validatePrefix } from "../validate-key.js";

/** Most items one `list()` page returns (and its default). */
export const MAX_LIST_LIMIT = 1000;

// The cursor is the last key of the previous page, so pages stay stable while keys are added or
// removed: a new key sorting before the cursor is simply not seen. Versioned so it can change.
const CURSOR_VERSION = "k1.";

/** Encodes the last key of a page as an opaque cursor. */
export function encodeCursor(key: string): string {
  return CURSOR_VERSION + Buffer.from(key, "utf8").toString("base64url");
}

function invalidCursor(): StorageError {
  return new StorageError("invalid_argument", "invalid cursor: pass the nextCursor of a previous page", {
    details: { field: "cursor" },
  });
}

/** Decodes a cursor back to the key after which the next page starts. */
export function decodeCursor(cursor: unknown): string {
  if (typeof cursor !== "string" || !cursor.startsWith(CURSOR_VERSION)) throw invalidCursor();
  const payload = cursor.slice(CURSOR_VERSION.length);
  if (!/^[A-Za-z0-9_-]+$/.test(payload)) throw invalidCursor();
  const bytes = Buffer.from(payload, "base64url");
  const key = bytes.toString("utf8");
  // Reject anything that does not round-trip (invalid UTF-8, non-canonical base64). The key itself need
  // not pass validateKey: on S3 another writer may have stored keys we would not accept.
  if (bytes.byteLength > MAX_KEY_BYTES || Buffer.from(key, "utf8").toString("base64url") !== payload) {
    throw invalidCursor();
  }
  return key;
}

/** `list()` arguments after validation. */
export interface NormalizedListOptions {
  prefix: string;
  /** Only keys after this one (from the cursor). */
  after: string | undefined;
  limit: number;
}

/** Validates `list()` arguments. */
export function normalizeListOptions(
  prefix: unknown,
  options: ListOptions | undefined,
): NormalizedListOptions {
  const validPrefix = validatePrefix(prefix ?? "");
  const { cursor, limit = MAX_LIST_LIMIT } = options ?? {};
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw new StorageError(
      "invalid_argument",
      `invalid limit: expected an integer from 1 to ${MAX_LIST_LIMIT}`,
      {
        details: { field: "limit" },
      },
    );
  }
  return { prefix: validPrefix, after: cursor === undefined ? undefined : decodeCursor(cursor), limit };
}
