import { CyberneticError, type Platform } from "@cybernetic/core";
import type { GatewayQueue, GatewayStorage } from "../gateway-dependencies.js";
import type { GatewayMetrics } from "../metrics.js";
import type { Authenticator } from "../middleware/authenticate.js";
import type { PolicyEvaluator } from "../policy-evaluator.js";
import type { Readiness } from "../readiness.js";
import type { RouteContext } from "../route-definition.js";
import type { EventRouteDependencies } from "./events.js";
import type { TelegramRouteDependencies } from "./telegram.js";

/** What the route modules are built from. */
export interface RouteDependencies {
  platform: Platform;
  queue: GatewayQueue | undefined;
  storage: GatewayStorage | undefined;
  /** Largest artifact upload, in bytes (the artifact routes' body limit). */
  artifactMaxBytes: number;
  metrics: GatewayMetrics;
  authenticator: Authenticator;
  readiness: Readiness;
  evaluatePolicy: PolicyEvaluator | undefined;
  /** The OpenAPI document as JSON text (built on first use). */
  openapi(): string;
  /** `performance.now()` at start, for `/health`'s uptime. */
  startedAt: number;
  /** The SSE fan-out (absent without an event bus) and the stream tokens. */
  events: EventRouteDependencies;
  /** The Telegram webhook's configuration and its cache of webhook targets. */
  telegram: TelegramRouteDependencies;
  /** True once the server is shutting down: `/ready` then answers 503 so load balancers move on. */
  draining(): boolean;
}

/** The calling tenant of a tenant route. */
export function tenantOf(ctx: RouteContext<unknown>): string {
  if (ctx.tenantId === undefined) throw new CyberneticError("internal", "tenant route without a tenant");
  return ctx.tenantId;
}

/** 503 `unavailable` for a route whose optional dependency was not configured. */
export function notConfigured(what: string): CyberneticError {
  return new CyberneticError("unavailable", `${what} is not configured on this gateway`, {
    details: { dependency: what },
  });
}
