import type { ApiKeyScope, ErrorCode } from "@cybernetic/core";
import type { H3Event } from "h3";
import type { z } from "zod";
import type { Principal, RouteAuth } from "./middleware/authenticate.js";

/** HTTP methods the API uses. */
export type RouteMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD";

/** What a route handler receives. */
export interface RouteContext<P = Record<string, string>> {
  event: H3Event;
  requestId: string;
  /** Undefined on public routes. */
  principal: Principal | undefined;
  /** The calling tenant (tenant routes only; undefined elsewhere). */
  tenantId: string | undefined;
  /** Path parameters, validated with the route's `params` schema. */
  params: P;
  /** The raw query (`?a=1&a=2` gives `["1", "2"]`); services validate it with their own schemas. */
  query: Record<string, string | string[]>;
  /** The parsed JSON body (routes with a `body` schema), validated by the service it is handed to. */
  body: unknown;
}

/** One documented response of a route. */
export interface RouteResponse {
  description: string;
  schema?: z.ZodType;
  /** Default `application/json`. */
  contentType?: string;
}

/**
 * One route of the API: everything the gateway needs to register it, authenticate and limit it, and
 * document it in the OpenAPI document. The route table (`routes/index.ts`) is the single list of
 * routes; registration and `/openapi.json` both read it, so they cannot disagree.
 */
export interface RouteDefinition<P = Record<string, string>> {
  method: RouteMethod;
  /** h3 pattern, e.g. `/v1/episodes/:id`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  auth: RouteAuth;
  /** Scope a tenant key needs; default `read` for GET, `write` otherwise. */
  scope?: ApiKeyScope;
  /** Path parameters; validated before the handler runs, issues name the parameter. */
  params?: z.ZodType<P>;
  /** Query parameters (documentation; the service or handler validates them). */
  query?: z.ZodObject;
  /** JSON request body: enables the content-type check and body parsing. */
  body?: z.ZodType;
  /** Whether a body must be sent (default true when `body` is set). */
  bodyRequired?: boolean;
  /**
   * A streamed (non-JSON) request body the handler reads itself, e.g. an artifact upload: nothing is
   * parsed or buffered by the pipeline, and `bodyLimitBytes` replaces the JSON body limit.
   */
  streamBody?: { description: string; bodyLimitBytes: number };
  responses: Record<number, RouteResponse>;
  /** Error codes this route can answer with (documented; 400/401/403/413/415/429/500 are implied). */
  errors?: readonly ErrorCode[];
  handler(ctx: RouteContext<P>): unknown | Promise<unknown>;
}

/** Any route, whatever its parameter type (for tables of routes). */
// biome-ignore lint/suspicious/noExplicitAny: a heterogeneous table needs an existential parameter type
export type AnyRoute = RouteDefinition<any>;

/**
 * Declares a route (an identity function that infers the parameter type from `params`).
 *
 * @example
 * ```ts
 * defineRoute({
 *   method: "GET", path: "/v1/episodes/:id", operationId: "getEpisode", summary: "One episode",
 *   tag: "episodes", auth: "tenant", params: z.object({ id: uuidSchema }),
 *   responses: { 200: { description: "The episode", schema: episodeSchema } },
 *   handler: ({ tenantId, params }) => platform.episodes.get(tenantId!, params.id),
 * });
 * ```
 */
export function defineRoute<P = Record<string, string>>(route: RouteDefinition<P>): RouteDefinition<P> {
  return route;
}
