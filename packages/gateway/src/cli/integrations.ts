/**
 * The CLI's connection to `@cybernetic/workers` and `@cybernetic/storage` (both dependencies of the
 * gateway, imported statically).
 */
import { createStorage as createStorageAdapter, type StorageAdapter } from "@cybernetic/storage";
import * as workers from "@cybernetic/workers";
import type { CyberneticConfig, StorageConfig } from "../config.js";
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
>;

/**
 * What the jobs need from the configuration: the S4 analyzer (the built-in heuristic one) and, when a
 * bot token is configured, the Telegram channel.
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
  };
}

/** The queue the CLI runs. */
export type CliQueue = ReturnType<WorkersModule["createJobQueue"]>;

/** Running workers. */
export type WorkerHandle = Awaited<ReturnType<WorkersModule["startWorkers"]>>;

/** The storage adapter the CLI builds (artifacts, readiness, housekeeping). */
export type CliStorage = StorageAdapter;

/** The workers package (a dependency of the gateway; kept behind `loadWorkers` for the CLI's call sites). */
export async function loadWorkers(): Promise<{ workers?: WorkersModule; problem?: string }> {
  return { workers };
}

/** Builds the storage adapter named by the configuration (`@cybernetic/storage`'s `createStorage`). */
export function createStorage(config: StorageConfig): Promise<CliStorage> {
  const s3 = config.s3;
  return createStorageAdapter(
    config.driver === "local"
      ? { driver: "local", root: config.localRoot }
      : config.driver === "s3"
        ? {
            driver: "s3",
            bucket: s3.bucket ?? "",
            region: s3.region,
            ...(s3.endpoint ? { endpoint: s3.endpoint } : {}),
            forcePathStyle: s3.forcePathStyle,
            ...(s3.accessKeyId && s3.secretAccessKey
              ? { credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } }
              : {}),
          }
        : { driver: "memory" },
  );
}

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
