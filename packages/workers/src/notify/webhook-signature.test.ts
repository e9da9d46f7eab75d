import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { signWebhook, verifyWebhookSignature } from "./webhook-signature.js";

describe("webhook signatures", () => {
  const body = '{"text":"Line 3 stopped"}';

  it("signs <timestamp>.<body> with HMAC-SHA256 and the sha256= prefix", () => {
    const expected = createHmac("sha256", "s3cret").update(`1700000000.${body}`).digest("hex");
    expect(signWebhook("s3cret", 1_700_000_000, body)).toBe(`sha256=${expected}`);
  });

  it("verifies a fresh signature and rejects tampering, other secrets, stale or missing timestamps", () => {
    const now = 1_700_000_000;
    const signature = signWebhook("s3cret", now, body);
    const base = { secret: "s3cret", timestamp: String(now), body, signature, now };
    expect(verifyWebhookSignature(base)).toBe(true);
    expect(verifyWebhookSignature({ ...base, body: `${body} ` })).toBe(false);
    expect(verifyWebhookSignature({ ...base, secret: "other" })).toBe(false);
    expect(verifyWebhookSignature({ ...base, now: now + 301 })).toBe(false);
    expect(verifyWebhookSignature({ ...base, timestamp: undefined })).toBe(false);
    expect(verifyWebhookSignature({ ...base, timestamp: "17e8" })).toBe(false);
    expect(verifyWebhookSignature({ ...base, signature: signature.slice(0, -1) })).toBe(false);
    expect(verifyWebhookSignature({ ...base, signature: undefined })).toBe(false);
  });
});
