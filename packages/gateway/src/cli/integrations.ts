/**
 * The CLI's connection to `@cybernetic/workers` and `@cybernetic/storage` (both dependencies of the
 * gateway, imported statically).
 */
import type { StorageAdapter } from "@cybernetic/storage";
import * as workers from "@cybernetic/workers";
import type { CyberneticConfig } from "../config.js";
import type { PolicyEvaluator } from "../policy-evaluator.js";

/** The functions the CLI calls from `@cybernetic/workers` (typed by the package itself). */
export type WorkersModule = Pick<
  typeof import("@cybernetic/workers"),
  | "createJobQueue"
  | "startWorkers"
  | "installQueue"
  | "builtInJobs"
  | "evaluatePolicy"
  | "createHeuristicAnalyzer"
  | "callTelegramBotApi"
  | "jobNames"
  | "deadLetterQueue"
>;

/**
 * What the jobs need from the configuration: the S4 analyzer (the built-in heuristic one), the platform's
 * Telegram bot when a token is configured, and the Bot API's address for tenants' own bots.
 */
export function workerDependencies(
  workers: WorkersModule,
  config: CyberneticConfig,
  storage?: StorageAdapter,
) {
  return {
    analyzer: workers.createHeuristicAnalyzer(),
    // Housekeeping removes expired artifacts' blobs through it.
    ...(storage ? { artifactBlobs: storage } : {}),
    ...(config.telegram.botToken
      ? { telegram: { token: config.telegram.botToken, baseUrl: config.telegram.apiBaseUrl } }
      : {}),
    // Tenants' own bots (settings.telegram.botToken) go to the same Bot API.
    ...(config.telegram.apiBaseUrl ? { telegramApi: { baseUrl: config.telegram.apiBaseUrl } } : {}),
  };
}

/** The queue the CLI runs. */
export type CliQueue = ReturnType<WorkersModule["createJobQueue"]>;

/** Running workers. */
export type WorkerHandle = Awaited<ReturnType<WorkersModule["startWorkers"]>>;

/** The storage adapter the CLI builds (artifacts, readiness, housekeeping). */
export type CliStorage = StorageAdapter;

/** The workers package, as the CLI uses it (a dependency of the gateway, always present). */
export const workersModule: WorkersModule = workers;

/**
 * Adapts the workers' policy engine to the gateway's dry run: `matched` there means the `on` pattern
 * matched and the condition held.
 */
export function policyEvaluatorOf(workers: WorkersModule): PolicyEvaluator {
  return (policy, event) => {
    const evaluation = workers.evaluatePolicy(policy, event);
    return {
      conditionMet: evaluation.onMatched && evaluation.matched,
      actions: evaluation.actions as never,
      errors: evaluation.errors,
    };
  };
}
