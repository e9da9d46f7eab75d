import type { ApiKeyScope, ErrorCode } from "@cybernetic/core";
import type { H3Event } from "h3";
import type { z } from "zod";
import type { Principal, RouteAuth } from "./middleware/authenticate.js";

/** HTTP methods the API uses. */
export type RouteMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD";

/**
 * The OpenAPI tags routes are grouped by, with the description the document gives each. A route's
 * `tag` must be one of these, so every tag in the document is described.
 */
export const routeTags = {
  operations: "Liveness, readiness, metrics and this document; no tenant key needed.",
  tenants: "Tenants and their API keys: the admin API, and a tenant's view of its own keys.",
  systems: "The five VSM systems' versioned states (S1 operations … S5 policy) and their history.",
  units:
    "Recursion: the tenant is the root of a tree of viable units, each with its own S1..S5 states, and how viable each one is.",
  episodes: "Things that happened; S4 analyses each one (summary, entities, sentiment, risk).",
  policies: "S5 rules evaluated against events: when a pattern and condition match, their actions run.",
  alerts:
    "Algedonic alerts: raised, acknowledged, resolved; a pain alert nobody acknowledges climbs the unit tree to the root.",
  audits:
    "S3*: sporadic audits past what the units report (stuck episodes, stale states, failing policies, corrupted artifacts, stuck notifications).",
  artifacts: "Files the tenant stores, streamed in and out by path.",
  jobs: "Background jobs of the calling tenant, such as an episode's analysis.",
  notifications:
    "What the platform sent on the tenant's behalf (alerts, policy notifications) and its recent events.",
  events: "The tenant's events, live over server-sent events, resumable from any id or list cursor.",
  telegram:
    "Telegram's webhook: updates for the platform's bot or a tenant's own, authenticated by the secret token given to setWebhook.",
} as const;

/** A route's OpenAPI tag. */
export type RouteTag = keyof typeof routeTags;

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
  /** What the route's `beforeBody` returned (undefined without one). */
  locals: unknown;
}

/** One documented response of a route. */
export interface RouteResponse {
  description: string;
  schema?: z.ZodType;
  /** Default `application/json`. */
  contentType?: string;
  /** Response headers worth documenting: name → description. */
  headers?: Record<string, string>;
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
  /** One line: what the operation does. */
  summary: string;
  /** What a caller needs beyond the summary: effects, conditions, notable answers. */
  description: string;
  tag: RouteTag;
  auth: RouteAuth;
  /** Scope a tenant key needs; default `read` for GET, `write` otherwise. */
  scope?: ApiKeyScope;
  /**
   * Also admit `?token=<token>` on this tenant route when no key header is sent (the event stream, for
   * browsers' EventSource): returns the principal the token stands for, or throws 401/403.
   */
  queryToken?: (token: string, scope: ApiKeyScope | undefined) => Principal;
  /** Path parameters; validated before the handler runs, issues name the parameter. */
  params?: z.ZodType<P>;
  /** Query parameters (documentation; the service or handler validates them). */
  query?: z.ZodObject;
  /** Request headers worth documenting (the handler or `beforeBody` checks them). */
  headers?: z.ZodObject;
  /**
   * Runs once the path parameters are parsed and before the body is read: a public route that
   * authenticates requests itself (the Telegram webhook's secret token) refuses them here, before their
   * body costs anything. What it returns is the handler's `ctx.locals`.
   */
  beforeBody?: (ctx: RouteContext<P>) => unknown | Promise<unknown>;
  /** This route's JSON body limit, instead of the gateway's `bodyLimitBytes`. */
  bodyLimitBytes?: number;
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
 * defineApiRoute({
 *   method: "GET", path: "/v1/episodes/:id", operationId: "getEpisode", summary: "One episode",
 *   tag: "episodes", auth: "tenant", params: z.object({ id: uuidSchema }),
 *   responses: { 200: { description: "The episode", schema: episodeSchema } },
 *   handler: ({ tenantId, params }) => platform.episodes.get(tenantId!, params.id),
 * });
 * ```
 */
export function defineApiRoute<P = Record<string, string>>(route: RouteDefinition<P>): RouteDefinition<P> {
  return route;
}

/** The request header that makes a tenant POST safe to retry (see `docs/configuration.md`). */
export const IDEMPOTENCY_KEY_HEADER = "idempotency-key";

/**
 * Whether a route honours `Idempotency-Key`: tenant POSTs with a JSON (or no) body. The pipeline and the
 * OpenAPI document both ask this, so they cannot disagree.
 *
 * @example
 * ```ts
 * acceptsIdempotencyKey({ method: "POST", auth: "tenant", ... }); // true
 * ```
 */
export function acceptsIdempotencyKey(route: Pick<AnyRoute, "method" | "auth" | "streamBody">): boolean {
  return route.method === "POST" && route.auth === "tenant" && route.streamBody === undefined;
}
