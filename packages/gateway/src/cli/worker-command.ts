import { checkConnection, createDatabase, createPlatform } from "@cybernetic/core";
import { createStorage } from "@cybernetic/storage";
import type { CyberneticConfig } from "../config.js";
import { createLogger, flushed } from "../logger.js";
import { createGatewayMetrics } from "../metrics.js";
import { type CliIo, UsageError } from "./cli-io.js";
import { assertServableRole } from "./database-runtime.js";
import { workerDependencies, workersModule } from "./integrations.js";
import { shutdownSignal } from "./shutdown-signal.js";
import { serveWorkerHttp } from "./worker-http.js";

/** `cybernetic worker`: the workers alone, until SIGTERM/SIGINT. */
export async function workerCommand(config: CyberneticConfig, io: CliIo): Promise<number> {
  const url = config.database.url;
  if (!url) {
    throw new UsageError(
      "DATABASE_URL is required: the embedded database lives inside `cybernetic serve`, which runs workers itself",
    );
  }
  const workers = workersModule;
  const logger = createLogger({ level: config.logLevel });
  const signal = shutdownSignal((sig) => {
    io.err(`cybernetic: ${sig} again, exiting without waiting\n`);
    process.exit(1);
  });
  // The job queue and the LISTEN wake-up hold sessions: past any pooler (DATABASE_DIRECT_URL).
  const directUrl = config.database.directUrl ?? url;
  await checkConnection(url);
  if (directUrl !== url) await checkConnection(directUrl);
  const db = createDatabase({
    url,
    directUrl,
    pooler: config.database.pooler,
    poolSize: config.database.poolSize,
  });
  try {
    await assertServableRole(db, url);
    const queue = workers.createJobQueue({ connectionString: directUrl, logger });
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
    // Metrics on the worker's own registry (WORKER_PORT): jobs by queue and outcome, queue depths, pool.
    const metrics = config.workerPort === undefined ? undefined : createGatewayMetrics({ db, queue });
    const handle = await workers.startWorkers({
      platform,
      queue,
      jobs: workers.builtInJobs(),
      logger,
      concurrency: config.workerConcurrency,
      listenUrl: directUrl,
      deps: workerDependencies(workers, config, storage),
      ...(metrics
        ? { hooks: { onJobFinished: ({ name, outcome }) => metrics.jobFinished(name, outcome) } }
        : {}),
    });
    const http =
      metrics && config.workerPort !== undefined
        ? await serveWorkerHttp({
            port: config.workerPort,
            host: config.host,
            metrics,
            metricsToken: config.gateway.metricsToken,
          })
        : undefined;
    logger.info(
      { concurrency: config.workerConcurrency, ...(http ? { url: http.url } : {}) },
      "workers started",
    );
    if (http) io.err(`cybernetic worker: /health and /metrics on ${http.url}\n`);
    const received = await signal;
    logger.info({ signal: received }, "shutting down");
    await http?.close();
    await handle.stop({ timeoutMs: config.gateway.shutdownTimeoutMs });
    await queue.stop({ graceful: true, timeoutMs: config.gateway.shutdownTimeoutMs });
    await storage?.close?.();
  } finally {
    await db.destroy();
    await flushed(logger);
  }
  return 0;
}
