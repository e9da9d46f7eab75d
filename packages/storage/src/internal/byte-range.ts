/** Validation and resolution of `get()` byte ranges, shared by every adapter. */
import type { ByteRange } from "../storage-adapter.js";
import { StorageError } from "../storage-error.js";

/** Checks a range's shape (before the object's size is known). */
export function validateRange(range: unknown): ByteRange | undefined {
  if (range === undefined) return undefined;
  const { start, end } = (range ?? {}) as Partial<ByteRange>;
  const ok =
    typeof range === "object" &&
    range !== null &&
    Number.isSafeInteger(start) &&
    (start as number) >= 0 &&
    (end === undefined || (Number.isSafeInteger(end) && end >= (start as number)));
  if (!ok) {
    throw new StorageError(
      "invalid_argument",
      "invalid range: expected { start, end? } with integers 0 ≤ start ≤ end (both inclusive)",
      { details: { field: "range" } },
    );
  }
  return { start: start as number, ...(end === undefined ? {} : { end }) };
}

/**
 * Resolves a range against an object's size: `end` is clamped to the last byte; a range starting at or
 * past the end (including any range of an empty object) throws `invalid_range`.
 */
export function resolveRange(
  range: ByteRange | undefined,
  totalSize: number,
): { start: number; end: number } | undefined {
  if (range === undefined) return undefined;
  if (range.start >= totalSize) {
    throw new StorageError(
      "invalid_range",
      `range starts at byte ${range.start} but the object is ${totalSize} bytes long`,
      { details: { start: range.start, totalSize } },
    );
  }
  return { start: range.start, end: Math.min(range.end ?? totalSize - 1, totalSize - 1) };
}
