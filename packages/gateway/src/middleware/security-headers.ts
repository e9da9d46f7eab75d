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
