import {
  assertRuntimeRoleIsSafe,
  CyberneticError,
  createDatabase,
  createPlatform,
  type Db,
  type Platform,
} from "@cybernetic/core";
import type { CyberneticConfig } from "../config.js";
import { createGateway } from "../create-gateway.js";
import { createLogger } from "../logger.js";
import type { ServedGateway } from "../serve-gateway.js";
import type { CliIo } from "./cli-io.js";
import { writeSecrets } from "./data-dir.js";
import { type DatabaseRuntime, openDatabaseRuntime } from "./database-runtime.js";
import {
  type CliQueue,
  type CliStorage,
  createStorage,
  loadWorkers,
  policyEvaluatorOf,
  type WorkerHandle,
  workerDependencies,
} from "./integrations.js";
import { shutdownSignal } from "./shutdown-signal.js";

const DEFAULT_TENANT = "default";

/** What a started `serve` holds, in the order it is released. */
interface Running {
  server?: ServedGateway;
  workers?: WorkerHandle;
  queue?: CliQueue;
  storage?: CliStorage;
  db?: Db;
  runtime?: DatabaseRuntime;
}

async function release(
  running: Running,
  timeoutMs: number,
  log: (fields: Record<string, unknown>, msg: string) => void,
) {
  const deadline = Date.now() + timeoutMs;
  const left = () => Math.max(500, deadline - Date.now());
  const step = async (name: string, fn: (() => Promise<unknown>) | undefined) => {
    if (!fn) return;
    try {
      await fn();
    } catch (error) {
      log({ err: error, step: name }, "error while shutting down");
    }
  };
  await step(
    "http",
    running.server && (() => (running.server as ServedGateway).close({ timeoutMs: left() })),
  );
  await step(
    "workers",
    running.workers && (() => (running.workers as WorkerHandle).stop({ timeoutMs: left() })),
  );
  await step(
    "queue",
    running.queue && (() => (running.queue as CliQueue).stop({ graceful: true, timeoutMs: left() })),
  );
  await step(
    "storage",
    running.storage?.close && (() => (running.storage as CliStorage).close?.() ?? Promise.resolve()),
  );
  await step("database", running.db && (() => (running.db as Db).destroy()));
  await step("postgres", running.runtime && (() => (running.runtime as DatabaseRuntime).close()));
}

/** On the embedded default's first start: the `default` tenant and its key, printed once. */
async function ensureDefaultTenant(platform: Platform): Promise<string | undefined> {
  try {
    await platform.tenants.idBySlug(DEFAULT_TENANT);
    return undefined;
  } catch (error) {
    if (!(CyberneticError.isInstance(error) && error.code === "not_found")) throw error;
  }
  const { apiKey } = await platform.tenants.create(
    { name: "Default", slug: DEFAULT_TENANT },
    { issueKey: true },
  );
  return apiKey?.key;
}

/**
 * `cybernetic serve`: the gateway plus in-process workers until SIGTERM/SIGINT, then a graceful stop
 * (HTTP, workers, queue, storage, pool, embedded PostgreSQL) within SHUTDOWN_TIMEOUT_MS; exit 0.
 */
export async function serveCommand(
  config: CyberneticConfig,
  flags: { workers: boolean },
  io: CliIo,
): Promise<number> {
  const logger = createLogger({ level: config.logLevel });
  const signal = shutdownSignal((sig) => {
    io.err(`cybernetic: ${sig} again, exiting without waiting\n`);
    logger.flush();
    process.exit(1);
  });
  const running: Running = {};
  try {
    const { workers, problem } = await loadWorkers();
    if (problem)
      logger.warn({}, `${problem}: serving without a job queue (episodes are recorded, not analysed)`);
    running.runtime = await openDatabaseRuntime(config, {
      migrate: true,
      logger,
      ...(workers ? { installQueue: (url: string) => workers.installQueue(url) } : {}),
    });
    const runtime = running.runtime;
    running.db = createDatabase({ url: runtime.runtimeUrl, poolSize: config.database.poolSize });
    // Refuse to serve tenants over a role that row-level security would not restrict.
    await assertRuntimeRoleIsSafe(running.db);

    if (workers) {
      running.queue = workers.createJobQueue({ connectionString: runtime.runtimeUrl, logger });
      await running.queue.start();
    }
    running.storage = await createStorage(config.storage).catch((error: Error) => {
      logger.warn({ err: error }, `storage unavailable: ${error.message}`);
      return undefined;
    });
    const platform = createPlatform({
      db: running.db,
      logger,
      ...(running.storage
        ? { storage: running.storage, artifacts: { maxBytes: config.gateway.artifactMaxBytes } }
        : {}),
      ...(running.queue ? { queue: running.queue } : {}),
    });

    let adminKey = config.gateway.adminKey;
    let generatedAdminKey: string | undefined;
    if (runtime.embedded && !adminKey) {
      const { secrets, dataDir } = runtime.embedded;
      if (!secrets.adminKey) {
        const { randomBytes } = await import("node:crypto");
        secrets.adminKey = `cyb_admin_${randomBytes(32).toString("base64url")}`;
        generatedAdminKey = secrets.adminKey;
        await writeSecrets(dataDir, secrets);
      }
      adminKey = secrets.adminKey;
    }
    const defaultKey = runtime.embedded ? await ensureDefaultTenant(platform) : undefined;

    const gateway = createGateway({
      platform,
      config: { ...config.gateway, adminKey },
      logger,
      ...(running.queue ? { queue: running.queue } : {}),
      ...(running.storage ? { storage: running.storage } : {}),
      ...(workers ? { evaluatePolicy: policyEvaluatorOf(workers) } : {}),
    });
    if (flags.workers && workers && running.queue) {
      running.workers = await workers.startWorkers({
        platform,
        queue: running.queue,
        jobs: workers.builtInJobs(),
        logger,
        concurrency: config.workerConcurrency,
        listenUrl: runtime.runtimeUrl,
        deps: workerDependencies(workers, config, running.storage),
        hooks: { onJobFinished: ({ name, outcome }) => gateway.metrics.jobFinished(name, outcome) },
      });
    }
    running.server = await gateway.serve({ port: config.port, host: config.host });
    const url = running.server.url;
    logger.info(
      {
        url,
        workers: Boolean(running.workers),
        embedded: Boolean(runtime.embedded),
        storage: config.storage.driver,
      },
      "listening",
    );
    const lines = [`\ncybernetic is listening on ${url}\n`];
    if (runtime.embedded)
      lines.push(`  data:       ${runtime.embedded.dataDir} (embedded PostgreSQL, local files)\n`);
    if (generatedAdminKey) {
      lines.push(
        `  admin key:  ${generatedAdminKey}\n              (generated; kept in ${runtime.embedded?.dataDir}/secrets.json)\n`,
      );
    }
    if (defaultKey) {
      lines.push(
        `  tenant "${DEFAULT_TENANT}" API key (shown once, store it now):\n              ${defaultKey}\n`,
      );
    }
    const key = defaultKey ?? "<API key>";
    lines.push(
      "\n  try:\n",
      `    curl ${url}/health\n`,
      `    curl -H "authorization: Bearer ${key}" ${url}/v1/systems\n`,
      `    curl -H "authorization: Bearer ${key}" -H "content-type: application/json" -d '{"title":"First episode","content":"The line stopped twice tonight."}' ${url}/v1/episodes\n`,
      `    curl ${url}/openapi.json\n\n`,
    );
    io.err(lines.join(""));

    const received = await signal;
    logger.info({ signal: received }, "shutting down");
  } catch (error) {
    await release(running, config.gateway.shutdownTimeoutMs, (f, m) => logger.error(f, m));
    logger.flush();
    throw error;
  }
  await release(running, config.gateway.shutdownTimeoutMs, (f, m) => logger.error(f, m));
  logger.info({}, "stopped");
  logger.flush();
  return 0;
}
