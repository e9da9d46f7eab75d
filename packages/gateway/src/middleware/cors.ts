import type { HeaderPair } from "../internal/reply.js";

/** CORS for the configured origins. API keys travel in headers, never cookies, so no credentials mode. */
export interface Cors {
  /** False when no origin is configured: no CORS headers at all. */
  readonly enabled: boolean;
  /** Headers for an actual (non-preflight) response to a request from `origin`; empty when not allowed. */
  headersFor(origin: string | null | undefined): readonly HeaderPair[];
  /**
   * The preflight-only headers of a preflight answer (204), or undefined when the origin is not allowed.
   * `access-control-allow-origin` and `vary` are not among them: every response gets those from
   * `headersFor`, and a second allow-origin value makes browsers reject the preflight.
   */
  preflight(origin: string | null | undefined, methods: readonly string[]): HeaderPair[] | undefined;
}

const ALLOW_HEADERS = "authorization, content-type, x-api-key, x-request-id, last-event-id";
const EXPOSE_HEADERS = "x-request-id, retry-after, location, x-event-cursor";
const NONE: readonly HeaderPair[] = Object.freeze([]);
const VARY_ONLY: readonly HeaderPair[] = Object.freeze([["vary", "origin"]] as const);

/**
 * Creates the CORS policy for a list of origins (`*` allows any).
 *
 * @example
 * ```ts
 * const cors = createCors(["https://app.example.com"]);
 * cors.headersFor("https://app.example.com"); // [["access-control-allow-origin", "https://app.example.com"], …]
 * ```
 */
export function createCors(origins: readonly string[]): Cors {
  const any = origins.includes("*");
  const allowed = new Set(origins);
  // Responses vary by Origin whenever CORS is configured, so a cache never serves one origin's answer to another.
  const cache = new Map<string, readonly HeaderPair[]>();
  const isAllowed = (origin: string | null | undefined): origin is string =>
    typeof origin === "string" && origin !== "" && (any || allowed.has(origin));
  return {
    enabled: origins.length > 0,
    headersFor(origin) {
      if (origins.length === 0) return NONE;
      if (!isAllowed(origin)) return VARY_ONLY;
      const value = any ? "*" : origin;
      let headers = cache.get(value);
      if (!headers) {
        headers = Object.freeze([
          ["access-control-allow-origin", value],
          ["access-control-expose-headers", EXPOSE_HEADERS],
          ["vary", "origin"],
        ] as HeaderPair[]);
        if (cache.size < 1000) cache.set(value, headers);
      }
      return headers;
    },
    preflight(origin, methods) {
      if (!isAllowed(origin)) return undefined;
      return [
        ["access-control-allow-methods", methods.join(", ")],
        ["access-control-allow-headers", ALLOW_HEADERS],
        ["access-control-max-age", "600"],
      ];
    },
  };
}
