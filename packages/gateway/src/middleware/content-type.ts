import { CyberneticError } from "@cybernetic/core";

const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;.*)?$/i;

/**
 * Refuses a request body that is not JSON with 415 `unsupported_media_type`. Accepts
 * `application/json` and `application/<anything>+json`, with parameters (`; charset=utf-8`).
 *
 * @example
 * ```ts
 * assertJsonContentType(req.headers.get("content-type")); // throws for "text/plain"
 * ```
 */
export function assertJsonContentType(contentType: string | null): void {
  if (contentType !== null && JSON_MEDIA_TYPE.test(contentType)) return;
  throw new CyberneticError(
    "unsupported_media_type",
    contentType === null
      ? "the request body must be JSON: send Content-Type: application/json"
      : `the request body must be JSON (Content-Type: application/json), not ${JSON.stringify(contentType.slice(0, 100))}`,
    { details: { contentType } },
  );
}
