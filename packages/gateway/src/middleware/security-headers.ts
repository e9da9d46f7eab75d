import type { HeaderPair } from "../internal/reply.js";

/**
 * Sent on every response. The API serves JSON only, so the policy forbids everything a browser could
 * do with a response (render it as a document, frame it, sniff another type, leak the URL); responses
 * are per tenant, so nothing may be cached by shared caches.
 */
export const SECURITY_HEADERS: readonly HeaderPair[] = Object.freeze([
  ["x-content-type-options", "nosniff"],
  ["x-frame-options", "DENY"],
  ["content-security-policy", "default-src 'none'; frame-ancestors 'none'"],
  ["referrer-policy", "no-referrer"],
  ["cross-origin-opener-policy", "same-origin"],
  ["cache-control", "no-store"],
] as const);

/**
 * Sent instead of `SECURITY_HEADERS` with the files of a site the gateway serves (the dashboard): the
 * page may load its own scripts, styles and images and call this origin (the API and its event stream),
 * and nothing else; it may not be framed. Its `cache-control` comes with each file.
 */
export const SITE_SECURITY_HEADERS: readonly HeaderPair[] = Object.freeze([
  ["x-content-type-options", "nosniff"],
  ["x-frame-options", "DENY"],
  [
    "content-security-policy",
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
      "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  ],
  ["referrer-policy", "no-referrer"],
  ["cross-origin-opener-policy", "same-origin"],
] as const);
