import type { EventBus, Logger, Platform } from "@cybernetic/core";
import { type EventHandler, H3 } from "h3";
import type { Registry } from "prom-client";
import { type GatewayConfig, type ResolvedGatewayConfig, resolveGatewayConfig } from "./config.js";
import type { GatewayQueue, GatewayStorage } from "./gateway-dependencies.js";
import { createSseHub } from "./internal/sse-hub.js";
import { createStaticFiles } from "./internal/static-files.js";
import { createStreamTokens } from "./internal/stream-token.js";
import { createLogger } from "./logger.js";
import { createGatewayMetrics, type GatewayMetrics } from "./metrics.js";
import { createAuthenticator } from "./middleware/authenticate.js";
import { createCors } from "./middleware/cors.js";
import { createRateLimiter } from "./middleware/rate-limiter.js";
import { buildOpenApiDocument } from "./openapi/build-openapi-document.js";
import { createPipeline } from "./pipeline.js";
import type { PolicyEvaluator } from "./policy-evaluator.js";
import { createReadiness } from "./readiness.js";
import type { AnyRoute, RouteMethod } from "./route-definition.js";
import { routeTable } from "./routes/index.js";
import { createTelegramTargets } from "./routes/telegram.js";
import { type ServedGateway, type ServeOptions, serveGateway } from "./serve-gateway.js";

/** Where `config.dashboardDir` is served. */
const DASHBOARD_MOUNT = "/dashboard";

/** What `createGateway` needs. Only `platform` is required. */
export interface GatewayOptions {
  /** The domain services (`createPlatform`), on the runtime database role. */
  platform: Platform;
  config?: GatewayConfig;
  /** Structured logger (pino or anything with core's `Logger` shape); default: pino at info on stdout. */
  logger?: Logger;
  /** Job look-ups (`GET /v1/jobs/:id`), readiness and queue-depth metrics; without it those answer 503. */
  queue?: GatewayQueue;
  /**
   * Readiness (`storage.check()`); without it the storage check reports `disabled`. The artifact routes
   * use `platform.artifacts` (build the platform with the same adapter); without it they answer 503.
   */
  storage?: GatewayStorage;
  /**
   * The event bus (started by the host), for `GET /v1/events`; without it the stream answers 503. The
   * gateway subscribes once and fans out to its streams; it does not start or stop the bus.
   */
  bus?: EventBus;
  /** Registry for the gateway's metrics; default: a new one (never prom-client's global registry). */
  registry?: Registry;
  /** The workers' policy engine, for `POST /v1/policies/:id/evaluate`; without it only `on` is matched. */
  evaluatePolicy?: PolicyEvaluator;
  /** `info.version` of the OpenAPI document. */
  version?: string;
}

/** A registered route. */
export interface RouteInfo {
  method: RouteMethod;
  path: string;
  operationId: string;
}

/** What `createGateway` returns. */
export interface Gateway {
  /** The h3 app; `app.fetch(request)` serves a request in memory (tests, edge runtimes). */
  app: H3;
  metrics: GatewayMetrics;
  /** The resolved configuration. */
  config: ResolvedGatewayConfig;
  /** Every route the app serves (from the route table), for tooling and tests. */
  routes: readonly RouteInfo[];
  /** The OpenAPI 3.1 document served at `/openapi.json`. */
  openapi(): ReturnType<typeof buildOpenApiDocument>;
  /** Starts a Node HTTP server; see `ServedGateway.close` for graceful shutdown. */
  serve(options?: ServeOptions): Promise<ServedGateway>;
}

/**
 * Builds the gateway: the h3 app with every route of the route table behind the request pipeline
 * (request id, access log, auth, tenant context, rate limit, body limits, content type, CORS, security
 * headers), the metrics, and a `serve()` for Node.
 *
 * @example
 * ```ts
 * const db = createDatabase({ url: process.env.DATABASE_URL! });
 * await assertRuntimeRoleIsSafe(db);
 * const gateway = createGateway({ platform: createPlatform({ db }), config: { adminKey } });
 * const server = await gateway.serve({ port: 8080 });
 * // … later
 * await server.close();
 * ```
 */
export function createGateway(options: GatewayOptions): Gateway {
  const config = resolveGatewayConfig(options.config);
  const { platform, queue, storage } = options;
  const logger = options.logger ?? createLogger();
  const metrics = createGatewayMetrics({
    ...(options.registry ? { registry: options.registry } : {}),
    db: platform.db,
    ...(queue ? { queue } : {}),
    indicatorSeries: config.metricsIndicatorSeries,
  });
  const authenticator = createAuthenticator({
    apiKeys: platform.apiKeys,
    adminKey: config.adminKey,
    cacheTtlMs: config.apiKeyCacheTtlMs,
  });
  const pipeline = createPipeline({
    logger,
    metrics,
    authenticator,
    rateLimiter: createRateLimiter(config.rateLimit),
    cors: createCors(config.corsOrigins),
    bodyLimitBytes: config.bodyLimitBytes,
    metricsToken: config.metricsToken,
    idempotency: platform.idempotency,
  });
  const readiness = createReadiness({
    db: platform.db,
    storage,
    queue,
    timeoutMs: config.readyTimeoutMs,
    onReport: (report) => metrics.readiness(report),
  });

  const { tokenSecret, ...streamConfig } = config.events;
  const hub = options.bus && createSseHub({ bus: options.bus, metrics, logger, config: streamConfig });
  const secret = tokenSecret ?? config.adminKey;
  const tokens = createStreamTokens({
    ...(secret !== undefined ? { secret } : {}),
    ttlSeconds: streamConfig.tokenTtlSeconds,
  });

  let routes: AnyRoute[] = [];
  let document: ReturnType<typeof buildOpenApiDocument> | undefined;
  const openapi = () => {
    document ??= buildOpenApiDocument(routes, { version: options.version ?? "0.1.0" });
    return document;
  };
  routes = routeTable({
    platform,
    queue,
    storage,
    artifactMaxBytes: config.artifactMaxBytes,
    metrics,
    authenticator,
    readiness,
    evaluatePolicy: options.evaluatePolicy,
    openapi: () => JSON.stringify(openapi()),
    startedAt: performance.now(),
    draining: () => pipeline.tracker.draining,
    events: { hub, tokens },
    telegram: {
      config: config.telegram,
      targets: createTelegramTargets(
        (slug) => platform.telegram.webhookTarget(slug),
        config.apiKeyCacheTtlMs,
      ),
    },
  });

  const app = new H3({
    silent: true,
    // Errors that escape the pipeline (h3 refusing a malformed URL before routing) get the same JSON
    // error shape and headers as everything else.
    onError: (error, event) => pipeline.failure(event, error),
  });
  const byPath = new Map<string, Map<string, EventHandler>>();
  for (const route of routes) {
    const handler = pipeline.route(route);
    app.on(route.method, route.path, handler);
    const methods = byPath.get(route.path) ?? new Map<string, EventHandler>();
    byPath.set(route.path, methods);
    methods.set(route.method, handler);
  }
  for (const [path, methods] of byPath) app.all(path, pipeline.otherMethods(path, methods));
  if (config.dashboardDir !== undefined) {
    const files = pipeline.files(
      DASHBOARD_MOUNT,
      createStaticFiles({ root: config.dashboardDir, mount: DASHBOARD_MOUNT }),
    );
    app.all(DASHBOARD_MOUNT, files);
    app.all(`${DASHBOARD_MOUNT}/**`, files);
  }
  app.all("/**", pipeline.notFound());

  return {
    app,
    metrics,
    config,
    routes: routes.map((r) => ({ method: r.method, path: r.path, operationId: r.operationId })),
    openapi,
    serve: (serveOptions) =>
      serveGateway(
        {
          app,
          tracker: pipeline.tracker,
          defaultTimeoutMs: config.shutdownTimeoutMs,
          defaultDrainMs: config.shutdownDrainMs,
          headersTimeoutMs: config.headersTimeoutMs,
          requestTimeoutMs: config.requestTimeoutMs,
          keepAliveTimeoutMs: config.keepAliveTimeoutMs,
          beforeStop: () => hub?.close(),
          onClose: async () => {},
          onCut: (info) =>
            logger.warn(
              info,
              `SHUTDOWN_TIMEOUT_MS passed while stopping http (close's timeoutMs); cutting ${info.requests} requests in flight`,
            ),
          onClientError: (info) => logger.warn(info, "malformed request rejected by the HTTP parser"),
        },
        serveOptions,
      ),
  };
}
