import { CyberneticError } from "@cybernetic/core";

const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;.*)?$/i;

/**
 * Refuses a request body that is not JSON with 415 `unsupported_media_type`. Accepts
 * `application/json` and `application/<anything>+json`, with parameters; a `charset` must be UTF-8.
 *
 * @example
 * ```ts
 * assertJsonContentType(req.headers.get("content-type")); // throws for "text/plain"
 * ```
 */
export function assertJsonContentType(contentType: string | null): void {
  if (contentType !== null && JSON_MEDIA_TYPE.test(contentType)) {
    // JSON is UTF-8 (RFC 8259): a body declared in another charset would be misread, so it is refused.
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType)?.[1];
    if (charset === undefined || /^utf-?8$/i.test(charset)) return;
    throw new CyberneticError(
      "unsupported_media_type",
      `the request body must be JSON in UTF-8, not charset ${JSON.stringify(charset.slice(0, 40))}`,
      { details: { contentType } },
    );
  }
  throw new CyberneticError(
    "unsupported_media_type",
    contentType === null
      ? "the request body must be JSON: send Content-Type: application/json"
      : `the request body must be JSON (Content-Type: application/json), not ${JSON.stringify(contentType.slice(0, 100))}`,
    { details: { contentType } },
  );
}
