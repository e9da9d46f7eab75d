/**
 * @cybernetic/gateway: the h3 HTTP server (REST API, auth, rate limits, metrics, health, OpenAPI) and the
 * `cybernetic` CLI.
 */

// The CLI (the `cybernetic` bin runs this with process.argv)
export { type CliIo, processIo, UsageError } from "./cli/cli-io.js";
export { runCli } from "./cli/run-cli.js";
// Configuration and logging
export {
  ConfigError,
  type CyberneticConfig,
  type EventStreamSettings,
  environmentSchema,
  eventStreamConfigSchema,
  type GatewayConfig,
  gatewayConfigSchema,
  type LogLevel,
  loadConfig,
  type RateLimitConfig,
  type ResolvedGatewayConfig,
  rateLimitConfigSchema,
  resolveGatewayConfig,
} from "./config.js";
// The gateway
export { createGateway, type Gateway, type GatewayOptions, type RouteInfo } from "./create-gateway.js";

// Embedded PostgreSQL (the CLI's default)
export {
  EmbeddedPostgresError,
  type EmbeddedPostgresHandle,
  type EmbeddedPostgresOptions,
  freePort,
  startEmbeddedPostgres,
} from "./embedded/embedded-postgres.js";
export type { GatewayJob, GatewayQueue, GatewayStorage } from "./gateway-dependencies.js";
export { EVENT_CURSOR_HEADER } from "./internal/event-cursor.js";
export { DEFAULT_EVENT_STREAM, type DisconnectReason, type EventStreamConfig } from "./internal/sse-hub.js";
export { type CreateLoggerOptions, createLogger } from "./logger.js";
// Metrics and OpenAPI
export {
  createGatewayMetrics,
  type GatewayMetrics,
  type GatewayMetricsOptions,
  type JobOutcome,
  type TelegramOutcome,
} from "./metrics.js";
export { buildOpenApiDocument, type OpenApiInfo } from "./openapi/build-openapi-document.js";
export type { PolicyEvaluationOutcome, PolicyEvaluator } from "./policy-evaluator.js";
// Process settings for a long-running server (the CLI's serve and worker apply them)
export { type RuntimeTuning, tuneRuntimeForServing } from "./runtime-tuning.js";
export type { ServedGateway, ServeOptions } from "./serve-gateway.js";
