/** The token bucket and the bounded cache behind the rate limit and the API-key cache (no server needed). */
import { describe, expect, it } from "vitest";
import { BoundedCache } from "../src/internal/bounded-cache.ts";
import { createRateLimiter } from "../src/middleware/rate-limiter.ts";

describe("createRateLimiter", () => {
  it("allows a burst, then refills at the configured rate", () => {
    const limiter = createRateLimiter({ perSecond: 2, burst: 3, maxKeys: 10 });
    expect([0, 0, 0].map(() => limiter.take("k", 0))).toEqual([0, 0, 0]);
    expect(limiter.take("k", 0)).toBe(1); // one token needs 0.5 s: retry-after rounds up to 1
    expect(limiter.take("k", 500)).toBe(0);
    expect(limiter.take("k", 500)).toBe(1);
  });

  it("keeps one bucket per key", () => {
    const limiter = createRateLimiter({ perSecond: 1, burst: 1, maxKeys: 10 });
    expect(limiter.take("a", 0)).toBe(0);
    expect(limiter.take("a", 0)).toBe(1);
    expect(limiter.take("b", 0)).toBe(0);
  });

  it("stays within maxKeys, evicting a refilled bucket before a busy one", () => {
    const limiter = createRateLimiter({ perSecond: 1, burst: 2, maxKeys: 2 });
    limiter.take("busy", 0);
    limiter.take("busy", 0); // empty bucket: its state matters
    limiter.take("idle", 0); // one token left at t=0, full again by t=1000
    limiter.take("new", 1000);
    expect(limiter.size).toBe(2);
    expect(limiter.take("busy", 1000)).toBe(0); // refilled one token: busy survived eviction
    expect(limiter.take("busy", 1000)).toBe(1);
  });
});

describe("BoundedCache", () => {
  it("expires entries and evicts the oldest when full", () => {
    const cache = new BoundedCache<string, number>(2, 100);
    cache.set("a", 1, 0);
    cache.set("b", 2, 0);
    cache.set("c", 3, 0);
    expect(cache.get("a", 0)).toBeUndefined();
    expect(cache.get("b", 0)).toBe(2);
    expect(cache.get("b", 100)).toBeUndefined();
    expect(cache.size).toBe(1);
  });

  it("deletes by value and never stores with a zero TTL", () => {
    const cache = new BoundedCache<string, { id: string }>(10, 1000);
    cache.set("x", { id: "1" }, 0);
    cache.set("y", { id: "2" }, 0);
    expect(cache.deleteWhere((v) => v.id === "1")).toBe(1);
    expect(cache.get("x", 0)).toBeUndefined();
    const off = new BoundedCache<string, number>(10, 0);
    off.set("k", 1, 0);
    expect(off.size).toBe(0);
  });
});
