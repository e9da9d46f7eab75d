import { randomUUID } from "node:crypto";

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * The request's id: the caller's `x-request-id` when it is 1-128 characters of `A-Za-z0-9._-` (so it is
 * safe in logs and headers), otherwise a new UUID. Every response carries it back.
 *
 * @example
 * ```ts
 * requestIdOf("abc-123"); // "abc-123"
 * requestIdOf("bad id\n"); // "6f1c…" (generated)
 * ```
 */
export function requestIdOf(header: string | null | undefined): string {
  return header && REQUEST_ID.test(header) ? header : randomUUID();
}
