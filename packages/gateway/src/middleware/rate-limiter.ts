import type { RateLimitConfig } from "../config.js";

/** A per-key token bucket. */
export interface RateLimiter {
  /**
   * Takes one token from `key`'s bucket. Returns 0 when the request may proceed, otherwise the whole
   * number of seconds after which a token will be available (the `retry-after` value).
   */
  take(key: string, now?: number): number;
  /** Buckets currently held. */
  readonly size: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** How many of the oldest buckets eviction looks at for one that has refilled (and so holds no state). */
const EVICTION_SCAN = 16;

/**
 * Creates a token-bucket rate limiter keyed by API key id: each key may burst `burst` requests, then
 * `perSecond` per second. At most `maxKeys` buckets are kept; when full, a bucket that has refilled
 * completely is evicted first (forgetting it loses nothing), else the oldest.
 *
 * @example
 * ```ts
 * const limiter = createRateLimiter({ perSecond: 50, burst: 100, maxKeys: 10_000 });
 * const retryAfter = limiter.take(keyId);
 * if (retryAfter > 0) throw tooManyRequests(retryAfter);
 * ```
 */
export function createRateLimiter(config: RateLimitConfig): RateLimiter {
  const buckets = new Map<string, Bucket>();
  const perMs = config.perSecond / 1000;

  const refill = (bucket: Bucket, now: number) => {
    const elapsed = now - bucket.updatedAt;
    if (elapsed > 0) {
      bucket.tokens = Math.min(config.burst, bucket.tokens + elapsed * perMs);
      bucket.updatedAt = now;
    }
  };

  const evict = (now: number) => {
    let scanned = 0;
    for (const [key, bucket] of buckets) {
      refill(bucket, now);
      if (bucket.tokens >= config.burst) {
        buckets.delete(key);
        return;
      }
      if (++scanned >= EVICTION_SCAN) break;
    }
    const oldest = buckets.keys().next();
    if (!oldest.done) buckets.delete(oldest.value);
  };

  return {
    take(key, now = performance.now()) {
      let bucket = buckets.get(key);
      if (bucket === undefined) {
        if (buckets.size >= config.maxKeys) evict(now);
        bucket = { tokens: config.burst, updatedAt: now };
        buckets.set(key, bucket);
      } else {
        refill(bucket, now);
      }
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return 0;
      }
      return Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000));
    },
    get size() {
      return buckets.size;
    },
  };
}
