/**
 * The CLI's connection to `@cybernetic/workers` and `@cybernetic/storage`, through small local
 * interfaces. Both packages are loaded on demand and checked for the functions the CLI calls, so the
 * gateway builds and runs (without workers, or without a storage driver) while they are being written;
 * each missing piece is reported once, by name, at start-up.
 */
import type { CyberneticConfig, StorageConfig } from "../config.js";
import type { GatewayStorage } from "../gateway-dependencies.js";
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
export function workerDependencies(workers: WorkersModule, config: CyberneticConfig) {
  return {
    analyzer: workers.createHeuristicAnalyzer(),
    ...(config.telegram.botToken
      ? { telegram: { token: config.telegram.botToken, baseUrl: config.telegram.apiBaseUrl } }
      : {}),
  };
}

/** The queue the CLI runs. */
export type CliQueue = ReturnType<WorkersModule["createJobQueue"]>;

/** Running workers. */
export type WorkerHandle = Awaited<ReturnType<WorkersModule["startWorkers"]>>;

/** The storage adapter the CLI builds (readiness now, artifacts later). */
export interface CliStorage extends GatewayStorage {
  close?(): Promise<void>;
}

/** Loads the workers package, or explains why it cannot be used. */
export async function loadWorkers(): Promise<{ workers?: WorkersModule; problem?: string }> {
  let module: Record<string, unknown>;
  try {
    module = (await import("@cybernetic/workers")) as Record<string, unknown>;
  } catch (error) {
    return {
      problem: `@cybernetic/workers could not be loaded (${(error as Error).message.split("\n")[0]})`,
    };
  }
  const missing = [
    "createJobQueue",
    "startWorkers",
    "installQueue",
    "builtInJobs",
    "evaluatePolicy",
    "createHeuristicAnalyzer",
  ].filter((name) => typeof module[name] !== "function");
  if (missing.length > 0) return { problem: `@cybernetic/workers does not export ${missing.join(", ")} yet` };
  return { workers: module as unknown as WorkersModule };
}

/** Builds the storage adapter named by the configuration. */
export async function createStorage(config: StorageConfig): Promise<CliStorage> {
  let module: Record<string, unknown>;
  try {
    module = (await import("@cybernetic/storage")) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`@cybernetic/storage could not be loaded: ${(error as Error).message.split("\n")[0]}`);
  }
  const factoryName = { local: "createLocalStorage", s3: "createS3Storage", memory: "createMemoryStorage" }[
    config.driver
  ];
  const factory = module[factoryName];
  if (typeof factory !== "function") {
    throw new Error(
      `STORAGE_DRIVER=${config.driver} needs ${factoryName} from @cybernetic/storage, which this build does not export`,
    );
  }
  const options =
    config.driver === "local"
      ? { root: config.localRoot }
      : config.driver === "s3"
        ? {
            bucket: config.s3.bucket,
            region: config.s3.region,
            ...(config.s3.endpoint ? { endpoint: config.s3.endpoint } : {}),
            forcePathStyle: config.s3.forcePathStyle,
            ...(config.s3.accessKeyId
              ? {
                  credentials: {
                    accessKeyId: config.s3.accessKeyId,
                    secretAccessKey: config.s3.secretAccessKey,
                  },
                }
              : {}),
          }
        : {};
  return (await (factory as (options: unknown) => CliStorage | Promise<CliStorage>)(options)) as CliStorage;
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
