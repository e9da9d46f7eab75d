/** Validation of `put()` options, shared by every adapter so they accept and reject the same things. */
import type { PutOptions } from "../storage-adapter.js";
import { StorageError } from "../storage-error.js";

/** The default content type of an object stored without one. */
export const DEFAULT_CONTENT_TYPE = "application/octet-stream";
/** Total bytes of metadata names and values (the S3 limit for user metadata). */
export const MAX_METADATA_BYTES = 2048;

const METADATA_NAME = /^[a-z0-9][a-z0-9._-]{0,127}$/;
// Printable ASCII, no leading or trailing space (HTTP would trim it, changing the value on S3).
const METADATA_VALUE = /^(?:[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)?$/;
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const CONTENT_TYPE = new RegExp(`^${TOKEN}/${TOKEN}(?:[\\x20-\\x7e]*[\\x21-\\x7e])?$`);

/** `put()` options after validation, with defaults applied. */
export interface NormalizedPutOptions {
  contentType: string;
  metadata: Record<string, string>;
  maxBytes: number | undefined;
  signal: AbortSignal | undefined;
}

function invalid(field: string, message: string, details: Record<string, unknown> = {}): StorageError {
  return new StorageError("invalid_argument", `invalid ${field}: ${message}`, {
    details: { field, ...details },
  });
}

/** Validates a content type; `undefined` becomes the default. */
export function validateContentType(value: unknown): string {
  if (value === undefined) return DEFAULT_CONTENT_TYPE;
  if (typeof value !== "string" || value.length > 255 || !CONTENT_TYPE.test(value)) {
    throw invalid(
      "contentType",
      'expected a media type such as "text/plain; charset=utf-8" (printable ASCII, ≤ 255)',
    );
  }
  return value;
}

/** Validates user metadata and returns a copy, so later changes by the caller do not leak in. */
export function validateMetadata(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalid("metadata", "expected an object of string values");
  }
  const copy: Record<string, string> = {};
  let bytes = 0;
  for (const [name, entry] of Object.entries(value)) {
    if (!METADATA_NAME.test(name)) {
      throw invalid(
        "metadata",
        `name ${JSON.stringify(name)} must be lowercase [a-z0-9._-], ≤ 128 characters`,
        {
          name,
        },
      );
    }
    if (typeof entry !== "string" || !METADATA_VALUE.test(entry)) {
      throw invalid(
        "metadata",
        `value of ${JSON.stringify(name)} must be printable ASCII without leading or trailing spaces`,
        { name },
      );
    }
    bytes += name.length + entry.length;
    copy[name] = entry;
  }
  if (bytes > MAX_METADATA_BYTES) {
    throw invalid("metadata", `is ${bytes} bytes; the limit is ${MAX_METADATA_BYTES}`, {
      limit: MAX_METADATA_BYTES,
    });
  }
  return copy;
}

/** Validates `put()` options. */
export function normalizePutOptions(options: PutOptions | undefined): NormalizedPutOptions {
  const { contentType, metadata, maxBytes, signal } = options ?? {};
  if (maxBytes !== undefined && !(Number.isSafeInteger(maxBytes) && maxBytes >= 0)) {
    throw invalid("maxBytes", "expected a non-negative integer");
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw invalid("signal", "expected an AbortSignal");
  }
  return {
    contentType: validateContentType(contentType),
    metadata: validateMetadata(metadata),
    maxBytes,
    signal,
  };
}

/** The `too_large` error for a body over `maxBytes`. */
export function tooLargeError(maxBytes: number): StorageError {
  return new StorageError("too_large", `the body exceeds the limit of ${maxBytes} bytes`, {
    details: { limit: maxBytes },
  });
}
