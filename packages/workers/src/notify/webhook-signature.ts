/**
 * Webhook signatures: `x-cybernetic-signature: sha256=<hex>`, an HMAC-SHA256 with the tenant's secret
 * over `"<timestamp>.<body>"`, where `<timestamp>` is the `x-cybernetic-timestamp` header (unix seconds)
 * and `<body>` the raw request body. Signing the timestamp with the body lets a receiver reject replays.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Computes the signature header value for a body sent at `timestamp` (unix seconds).
 *
 * @example
 * ```ts
 * signWebhook("s3cret", 1700000000, '{"text":"hi"}'); // "sha256=…64 hex digits…"
 * ```
 */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

/** What `verifyWebhookSignature` checks. */
export interface VerifyWebhookSignatureInput {
  secret: string;
  /** The `x-cybernetic-timestamp` header as received. */
  timestamp: string | undefined;
  /** The raw body as received (before any JSON parsing). */
  body: string;
  /** The `x-cybernetic-signature` header as received. */
  signature: string | undefined;
  /** Largest accepted clock difference in seconds. Default 300. */
  toleranceSeconds?: number;
  /** The receiver's clock, unix seconds. Default now. */
  now?: number;
}

/**
 * For receivers: true when the signature matches and the timestamp is within tolerance. Compares in
 * constant time.
 *
 * @example
 * ```ts
 * const ok = verifyWebhookSignature({ secret, body, timestamp: req.headers["x-cybernetic-timestamp"],
 *   signature: req.headers["x-cybernetic-signature"] });
 * ```
 */
export function verifyWebhookSignature(input: VerifyWebhookSignatureInput): boolean {
  const { timestamp, signature } = input;
  if (timestamp === undefined || signature === undefined || !/^\d{1,12}$/.test(timestamp)) return false;
  const now = input.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(timestamp)) > (input.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signWebhook(input.secret, Number(timestamp), input.body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
