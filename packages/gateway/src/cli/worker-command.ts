import { assertRuntimeRoleIsSafe, checkConnection, createDatabase, createPlatform } from "@cybernetic/core";
import type { CyberneticConfig } from "../config.js";
import { createLogger } from "../logger.js";
import { type CliIo, UsageError } from "./cli-io.js";
import { createStorage, loadWorkers, workerDependencies } from "./integrations.js";
import { shutdownSignal } from "./shutdown-signal.js";

/** `cybernetic worker`: the workers alone, until SIGTERM/SIGINT. */
export async function workerCommand(config: CyberneticConfig, io: CliIo): Promise<number> {
  const url = config.database.url;
  if (!url) {
    throw new UsageError(
      "DATABASE_URL is required: the embedded database lives inside `cybernetic serve`, which runs workers itself",
    );
  }
  const { workers, problem } = await loadWorkers();
  if (!workers) throw new Error(`cannot run workers: ${problem}`);
  const logger = createLogger({ level: config.logLevel });
  const signal = shutdownSignal((sig) => {
    io.err(`cybernetic: ${sig} again, exiting without waiting\n`);
    process.exit(1);
  });
  await checkConnection(url);
  const db = createDatabase({ url, poolSize: config.database.poolSize });
  try {
    await assertRuntimeRoleIsSafe(db);
    const queue = workers.createJobQueue({ connectionString: url, logger });
    await queue.start();
    // Housekeeping removes expired artifacts' blobs through the storage adapter (rows only without it).
    const storage = await createStorage(config.storage).catch((error: Error) => {
      logger.warn({ err: error }, `storage unavailable: ${error.message}`);
      return undefined;
    });
    const platform = createPlatform({
      db,
      queue,
      logger,
      ...(storage ? { storage, artifacts: { maxBytes: config.gateway.artifactMaxBytes } } : {}),
    });
    const handle = await workers.startWorkers({
      platform,
      queue,
      jobs: workers.builtInJobs(),
      logger,
      concurrency: config.workerConcurrency,
      listenUrl: url,
      deps: workerDependencies(workers, config, storage),
    });
    logger.info({ concurrency: config.workerConcurrency }, "workers started");
    const received = await signal;
    logger.info({ signal: received }, "shutting down");
    await handle.stop({ timeoutMs: config.gateway.shutdownTimeoutMs });
    await queue.stop({ graceful: true, timeoutMs: config.gateway.shutdownTimeoutMs });
    await storage?.close?.();
  } finally {
    await db.destroy();
    logger.flush();
  }
  return 0;
}
