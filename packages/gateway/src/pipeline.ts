/**
 * The request pipeline. Every request goes through the same stages, in this order:
 *
 *  1. request id      `x-request-id` accepted when well-formed, else generated; echoed on every response
 *  2. access log      one JSON line per request (request id, tenant, route template, status, duration)
 *  3. auth            `Authorization: Bearer` or `x-api-key`; admin key only on admin routes
 *  4. tenant context  the key's tenant becomes the handler's `tenantId` (row-level security scope)
 *  5. rate limit      token bucket per API key id; 429 with `retry-after`
 *  6. body size       413 on `Content-Length` over the limit, and again while streaming
 *  7. content type    415 for a non-JSON body on a JSON route
 *     idempotency     a tenant POST with `Idempotency-Key` runs once; a retry replays the stored answer
 *  8. CORS            headers for configured origins (preflights are answered before auth)
 *  9. security headers
 * 10. the route
 *
 * The stages are composed once per route when the app is built, into one h3 handler, rather than
 * registered as h3 middleware: h3 dispatches each middleware per request, and on this machine five
 * trivial ones already cost 5-8% of throughput (bench/http). Headers from stages 1, 8 and 9 are added
 * to every response, including errors raised by earlier stages, so a browser can read a 401.
 */
import type { ServerResponse } from "node:http";
import {
  assertIdempotencyKey,
  CyberneticError,
  type IdempotencyService,
  idempotencyFingerprint,
  type Json,
  type Logger,
} from "@cybernetic/core";
import { type EventHandler, getQuery, type H3Event } from "h3";
import { mapError } from "./error-mapper.js";
import { parseJsonBody } from "./internal/parse-json-body.js";
import { type HANDLED, Reply, toFastResponse, writeNodeResponse } from "./internal/reply.js";
import { FileReply, type StaticFiles } from "./internal/static-files.js";
import { timingSafeEqualStrings } from "./internal/timing-safe-equal.js";
import type { GatewayMetrics } from "./metrics.js";
import { createAccessLog } from "./middleware/access-log.js";
import { type Authenticator, type Principal, WWW_AUTHENTICATE } from "./middleware/authenticate.js";
import { assertContentLength, hasBody, readBodyLimited } from "./middleware/body-limit.js";
import { assertJsonContentType } from "./middleware/content-type.js";
import type { Cors } from "./middleware/cors.js";
import type { RateLimiter } from "./middleware/rate-limiter.js";
import { requestIdOf } from "./middleware/request-id.js";
import { SECURITY_HEADERS, SITE_SECURITY_HEADERS } from "./middleware/security-headers.js";
import {
  type AnyRoute,
  acceptsIdempotencyKey,
  IDEMPOTENCY_KEY_HEADER,
  type RouteContext,
} from "./route-definition.js";

/** What the pipeline needs. */
export interface PipelineOptions {
  logger: Logger;
  metrics: GatewayMetrics;
  authenticator: Authenticator;
  rateLimiter: RateLimiter;
  cors: Cors;
  bodyLimitBytes: number;
  metricsToken: string | undefined;
  /** Honours `Idempotency-Key` on tenant POSTs when given (the platform's service). */
  idempotency?: IdempotencyService;
}

/** Requests in flight, and whether the server is draining (then responses ask clients to reconnect). */
export interface RequestTracker {
  readonly active: number;
  draining: boolean;
  /** Resolves once no request is in flight. */
  idle(): Promise<void>;
}

/** The composed handlers the app registers. */
export interface Pipeline {
  tracker: RequestTracker;
  /** The handler of one route: every stage, then the route's own handler. */
  route(route: AnyRoute): EventHandler;
  /**
   * For a known path: HEAD through its GET handler, CORS preflights (OPTIONS), and 405 with `allow` for
   * methods it does not serve.
   */
  otherMethods(path: string, handlers: ReadonlyMap<string, EventHandler>): EventHandler;
  /**
   * The files of a site mounted at `mount` (GET and HEAD; other methods 405), with the request id,
   * access log and metrics of every request and the site's security headers; a miss is 404 JSON.
   */
  files(mount: string, files: StaticFiles): EventHandler;
  /** Anything unmatched: 404 JSON. */
  notFound(): EventHandler;
  /** The response for an error raised outside any route handler (written, or as a `Response`). */
  failure(event: H3Event, error: unknown): unknown;
}

interface RequestState {
  requestId: string;
  start: number;
  method: string;
  template: string;
  tenantId: string | undefined;
  keyId: string | undefined;
}

const EMPTY = Buffer.alloc(0);
const REPLAYED = ["idempotent-replayed", "true"] as const;

const isPromise = (value: unknown): value is Promise<unknown> =>
  typeof (value as Promise<unknown> | null)?.then === "function";

const METRICS_UNAUTHORIZED = () =>
  new CyberneticError("unauthorized", "GET /metrics requires `Authorization: Bearer <METRICS_TOKEN>`", {
    headers: { [WWW_AUTHENTICATE[0]]: WWW_AUTHENTICATE[1] },
  });

/**
 * Builds the pipeline (see the module comment for the stages).
 *
 * @example
 * ```ts
 * const pipeline = createPipeline({ logger, metrics, authenticator, rateLimiter, cors, bodyLimitBytes, metricsToken });
 * app.on(route.method, route.path, pipeline.route(route));
 * ```
 */
export function createPipeline(options: PipelineOptions): Pipeline {
  const { logger, metrics, authenticator, rateLimiter, cors, bodyLimitBytes, idempotency } = options;
  const corsEnabled = cors.enabled;
  const accessLog = createAccessLog(logger);
  const base: string[] = SECURITY_HEADERS.flat();
  const site: string[] = SITE_SECURITY_HEADERS.flat();
  let active = 0;
  let idleWaiters: (() => void)[] = [];

  const tracker: RequestTracker = {
    get active() {
      return active;
    },
    draining: false,
    idle() {
      return active === 0 ? Promise.resolve() : new Promise((resolve) => idleWaiters.push(resolve));
    },
  };

  const begin = (event: H3Event, method: string, template: string): RequestState => {
    active++;
    metrics.inFlight = active;
    return {
      requestId: requestIdOf(event.req.headers.get("x-request-id")),
      start: performance.now(),
      method,
      template,
      tenantId: undefined,
      keyId: undefined,
    };
  };

  const finish = (
    event: H3Event,
    state: RequestState,
    reply: Reply,
    record: (status: number, seconds: number) => void,
  ): Response | typeof HANDLED | Promise<typeof HANDLED> => {
    const headers = reply instanceof FileReply ? site.slice() : base.slice();
    headers.push("x-request-id", state.requestId);
    if (corsEnabled)
      for (const [name, value] of cors.headersFor(event.req.headers.get("origin"))) headers.push(name, value);
    if (tracker.draining) headers.push("connection", "close");
    const nodeRes = event.runtime?.node?.res;
    const response =
      nodeRes !== undefined && !nodeRes.headersSent && event.req.method !== "HEAD"
        ? writeNodeResponse(nodeRes as ServerResponse, reply, headers)
        : toFastResponse(reply, headers);
    const seconds = (performance.now() - state.start) / 1000;
    record(reply.status, seconds);
    accessLog({
      requestId: state.requestId,
      tenantId: state.tenantId,
      keyId: state.keyId,
      method: state.method,
      route: state.template,
      status: reply.status,
      durationMs: Math.round(seconds * 100_000) / 100,
    });
    active--;
    metrics.inFlight = active;
    if (active === 0 && idleWaiters.length > 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
    return response;
  };

  const fail = (state: RequestState, error: unknown): Reply =>
    mapError(
      error,
      { requestId: state.requestId, method: state.method, route: state.template, tenantId: state.tenantId },
      logger,
    );

  const toReply = (value: unknown): Reply => (value instanceof Reply ? value : new Reply(200, value));

  /**
   * Runs a tenant POST at most once per `Idempotency-Key`: the first attempt runs and its JSON answer is
   * stored; a retry with the same request gets that answer again (`idempotent-replayed: true`). A failed
   * attempt releases the key unless its effect had already committed (the mark commits with the effect,
   * see core's `withTenant`), so a retry never doubles an effect.
   */
  const once = async (
    event: H3Event,
    state: RequestState,
    key: string,
    body: Buffer,
    handler: () => unknown,
  ): Promise<Reply> => {
    const service = idempotency as IdempotencyService;
    const tenantId = state.tenantId as string;
    const fingerprint = idempotencyFingerprint("POST", `${event.url.pathname}${event.url.search}`, body);
    const claim = await service.begin(tenantId, key, fingerprint);
    if (claim.state === "replay") {
      return new Reply(claim.response.status, claim.response.body ?? undefined, [REPLAYED]);
    }
    let reply: Reply;
    try {
      reply = toReply(await service.run(tenantId, key, async () => handler()));
    } catch (error) {
      // When this fails too (the database is gone), the key's lease runs out and a retry may take over.
      await service.abandon(tenantId, key).catch(() => {});
      throw error;
    }
    if (reply.contentType !== undefined || reply.status >= 500) {
      await service.abandon(tenantId, key).catch(() => {});
      return reply;
    }
    await service
      .complete(tenantId, key, { status: reply.status, body: (reply.body ?? null) as Json })
      .catch((error: unknown) =>
        logger.warn(
          { requestId: state.requestId, tenantId, reason: String((error as Error)?.message).split("\n")[0] },
          "idempotency: the answer could not be stored; a retry will be told the request took effect",
        ),
      );
    return reply;
  };

  /** Runs `fn` and finishes the request, staying synchronous when nothing along the way is async. */
  const settle = (
    event: H3Event,
    state: RequestState,
    record: (status: number, seconds: number) => void,
    fn: () => unknown,
  ) => {
    let result: unknown;
    try {
      assertHostHeader(event);
      result = fn();
    } catch (error) {
      return finish(event, state, fail(state, error), record);
    }
    if (isPromise(result)) {
      return result.then(
        (value) => finish(event, state, toReply(value), record),
        (error: unknown) => finish(event, state, fail(state, error), record),
      );
    }
    return finish(event, state, toReply(result), record);
  };

  const route = (def: AnyRoute): EventHandler => {
    const recorder = metrics.route(def.method, def.path);
    const record = (status: number, seconds: number) => recorder.record(status, seconds);
    const scope = def.scope ?? (def.method === "GET" || def.method === "HEAD" ? "read" : "write");
    const bodyRequired = def.body !== undefined && def.bodyRequired !== false;
    const needsKey = def.auth === "admin" || def.auth === "tenant";
    const jsonBodyLimit = def.bodyLimitBytes ?? bodyLimitBytes;
    const routeBodyLimit = def.streamBody?.bodyLimitBytes ?? jsonBodyLimit;
    const idempotent = idempotency !== undefined && acceptsIdempotencyKey(def);

    const afterAuth = (event: H3Event, state: RequestState, principal: Principal | undefined) => {
      // Tenant context and rate limit.
      if (principal !== undefined) {
        const bucket = principal.kind === "admin" ? "admin" : principal.keyId;
        if (principal.kind === "tenant") {
          state.tenantId = principal.tenantId;
          state.keyId = principal.keyId;
        }
        const retryAfter = rateLimiter.take(bucket);
        if (retryAfter > 0) {
          throw new CyberneticError("rate_limited", `rate limit exceeded; retry in ${retryAfter} s`, {
            details: { retryAfterSeconds: retryAfter },
            headers: { "retry-after": String(retryAfter) },
          });
        }
      }
      // Body size (declared length) and content type.
      const headers = event.req.headers;
      assertContentLength(headers.get("content-length"), routeBodyLimit);
      const params = def.params ? parseParams(def, event) : (event.context.params ?? {});
      const ctx: RouteContext<unknown> = {
        event,
        requestId: state.requestId,
        principal,
        tenantId: state.tenantId,
        params,
        query: def.query ? (getQuery(event) as Record<string, string | string[]>) : {},
        body: undefined,
        locals: undefined,
      };
      const idempotencyKey =
        idempotent && principal?.kind === "tenant" ? headers.get(IDEMPOTENCY_KEY_HEADER) : null;
      if (idempotencyKey !== null) assertIdempotencyKey(idempotencyKey);
      const invoke = (buffer: Buffer) =>
        idempotencyKey === null
          ? def.handler(ctx)
          : once(event, state, idempotencyKey, buffer, () => def.handler(ctx));
      const withBody = () => {
        if (def.body === undefined) return invoke(EMPTY);
        const present = hasBody(event);
        if (present) assertJsonContentType(headers.get("content-type"));
        else if (!bodyRequired) return invoke(EMPTY);
        const raw = present ? readBodyLimited(event, jsonBodyLimit) : Promise.resolve(EMPTY);
        return raw.then((buffer) => {
          ctx.body = parseJsonBody(buffer);
          return invoke(buffer);
        });
      };
      if (def.beforeBody === undefined) return withBody();
      const locals = def.beforeBody(ctx);
      if (!isPromise(locals)) {
        ctx.locals = locals;
        return withBody();
      }
      return locals.then((value) => {
        ctx.locals = value;
        return withBody();
      });
    };

    return (event) => {
      const state = begin(event, def.method, def.path);
      return settle(event, state, record, () => {
        if (def.auth === "metrics" && options.metricsToken !== undefined) {
          const header = event.req.headers.get("authorization") ?? "";
          const token = header.startsWith("Bearer ") ? header.slice(7).trim() : "";
          if (!timingSafeEqualStrings(token, options.metricsToken)) throw METRICS_UNAUTHORIZED();
        }
        if (!needsKey) return afterAuth(event, state, undefined);
        const headers = event.req.headers;
        const token =
          def.queryToken !== undefined && !headers.has("authorization") && !headers.has("x-api-key")
            ? event.url.searchParams.get("token")
            : null;
        if (token !== null) return afterAuth(event, state, def.queryToken?.(token, scope));
        const principal = authenticator.authenticate(
          headers.get("authorization"),
          headers.get("x-api-key"),
          def.auth as "admin" | "tenant",
          scope,
        );
        return isPromise(principal)
          ? principal.then((p) => afterAuth(event, state, p))
          : afterAuth(event, state, principal);
      });
    };
  };

  const otherMethods = (path: string, handlers: ReadonlyMap<string, EventHandler>): EventHandler => {
    const methods = [...handlers.keys()];
    if (handlers.has("GET") && !handlers.has("HEAD")) methods.push("HEAD");
    const allow = [...methods, "OPTIONS"].join(", ");
    const recorder = metrics.route("OTHER", path);
    const record = (status: number, seconds: number) => recorder.record(status, seconds);
    return (event) => {
      const method = event.req.method;
      const get = handlers.get("GET");
      // HEAD is GET without the body (h3 drops it); the GET handler does the work and the accounting.
      if (method === "HEAD" && get !== undefined) return get(event);
      const state = begin(event, method === "OPTIONS" ? "OPTIONS" : "OTHER", path);
      return settle(event, state, record, () => {
        if (method === "OPTIONS") {
          const preflight = cors.preflight(event.req.headers.get("origin"), methods);
          return new Reply(204, undefined, [["allow", allow], ...(preflight ?? [])]);
        }
        throw new CyberneticError(
          "method_not_allowed",
          `${method} is not allowed on ${path}; allowed: ${allow}`,
          {
            details: { allow: allow.split(", ") },
            headers: { allow },
          },
        );
      });
    };
  };

  const files = (mount: string, site: StaticFiles): EventHandler => {
    const template = `${mount}/**`;
    const recorder = metrics.route("GET", template);
    const record = (status: number, seconds: number) => recorder.record(status, seconds);
    return (event) => {
      const method = event.req.method;
      const state = begin(event, method === "HEAD" ? "HEAD" : "GET", template);
      return settle(event, state, record, () => {
        if (method !== "GET" && method !== "HEAD") {
          throw new CyberneticError(
            "method_not_allowed",
            `${method} is not allowed on ${template}; allowed: GET, HEAD`,
            { details: { allow: ["GET", "HEAD"] }, headers: { allow: "GET, HEAD" } },
          );
        }
        return site.serve(event.url.pathname, method === "GET");
      });
    };
  };

  const notFound = (): EventHandler => {
    const recorder = metrics.route("OTHER", "unmatched");
    const record = (status: number, seconds: number) => recorder.record(status, seconds);
    return (event) => {
      const state = begin(event, "OTHER", "unmatched");
      return settle(event, state, record, () => {
        throw new CyberneticError("not_found", `no route matches ${event.req.method} ${event.url.pathname}`, {
          details: { method: event.req.method, path: event.url.pathname.slice(0, 500) },
        });
      });
    };
  };

  const failureRecorder = metrics.route("OTHER", "unmatched");
  const failure = (event: H3Event, error: unknown) => {
    const state = begin(event, "OTHER", "unmatched");
    return finish(event, state, fail(state, error), (status, seconds) =>
      failureRecorder.record(status, seconds),
    );
  };

  return { tracker, route, otherMethods, files, notFound, failure };
}

function parseParams(def: AnyRoute, event: H3Event): unknown {
  const raw = event.context.params ?? {};
  const decoded: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    try {
      decoded[key] = decodeURIComponent(value);
    } catch {
      decoded[key] = value;
    }
  }
  const result = (def.params as NonNullable<AnyRoute["params"]>).safeParse(decoded);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    path: issue.path.map(String).join("."),
    message: issue.message,
  }));
  throw new CyberneticError("validation_failed", issues.map((i) => `${i.path}: ${i.message}`).join("; "), {
    details: { issues },
  });
}

/**
 * HTTP/1.1 requires a Host header (RFC 9112 §3.2). Node's own check answers a bare 400, so the server
 * turns it off and the pipeline refuses such a request here, in the API's error shape.
 */
function assertHostHeader(event: H3Event): void {
  const req = event.runtime?.node?.req as { httpVersion?: string; headers?: { host?: string } } | undefined;
  if (req?.httpVersion === "1.1" && req.headers?.host === undefined) {
    throw new CyberneticError("validation_failed", "an HTTP/1.1 request must carry a Host header", {
      details: { issues: [{ path: "host", message: "required" }] },
    });
  }
}
