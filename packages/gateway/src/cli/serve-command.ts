import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  CyberneticError,
  createEventBus,
  createPlatform,
  type Db,
  databasePooler,
  type EventBus,
  type Platform,
} from "@cybernetic/core";
import { createStorage } from "@cybernetic/storage";
import type { CyberneticConfig } from "../config.js";
import { createGateway } from "../create-gateway.js";
import { createLogger, flushed } from "../logger.js";
import type { ServedGateway } from "../serve-gateway.js";
import type { CliIo } from "./cli-io.js";
import { writeSecrets } from "./data-dir.js";
import {
  assertServableRole,
  type DatabaseRuntime,
  openDatabaseRuntime,
  runtimeDatabase,
} from "./database-runtime.js";
import {
  type CliQueue,
  type CliStorage,
  policyEvaluatorOf,
  type WorkerHandle,
  workerDependencies,
  workersModule,
} from "./integrations.js";
import { shutdownSignal } from "./shutdown-signal.js";

const DEFAULT_TENANT = "default";

/** Fails fast, before the database is started, when the port is taken (bound again later for real). */
async function assertPortFree(port: number, host: string): Promise<void> {
  if (port === 0) return;
  const { createServer } = await import("node:net");
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (error: NodeJS.ErrnoException) =>
      reject(error.code === "EADDRINUSE" ? portTaken(port) : error),
    );
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

/** EADDRINUSE, as one line that says what to do. */
function portTaken(port: number): Error {
  return new Error(
    `port ${port} is already in use (another cybernetic serve?): stop it, or pick another port with PORT=, e.g. PORT=${port + 1} pnpm start`,
  );
}

/**
 * examples/dashboard's build in the repository this gateway runs from (`pnpm start`), when it has been
 * built: the repository is `../../../` from the bundle in dist/, `../../../../` from src/cli/. An
 * installed gateway has none, and serves no dashboard unless DASHBOARD_DIR says where one is.
 */
function repositoryDashboard(): string | undefined {
  for (const relative of ["../../../examples/dashboard/dist", "../../../../examples/dashboard/dist"]) {
    const dir = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(join(dir, "index.html"))) return dir;
  }
  return undefined;
}

/** What a started `serve` holds, in the order it is released. */
interface Running {
  server?: ServedGateway;
  workers?: WorkerHandle;
  queue?: CliQueue;
  storage?: CliStorage;
  bus?: EventBus;
  db?: Db;
  runtime?: DatabaseRuntime;
}

/**
 * Releases what `serve` holds, in order: HTTP, workers, queue, storage, pool, embedded PostgreSQL.
 * `timeoutMs` is a ceiling for the whole stop: each step gets what is left of it, and once it has passed
 * no step is waited for any more (the pool and PostgreSQL are still told to stop; PostgreSQL, in its own
 * process group, finishes its fast shutdown on its own).
 */
async function release(
  running: Running,
  timeoutMs: number,
  log: { warn(fields: Record<string, unknown>, msg: string): void },
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const left = () => Math.max(0, deadline - Date.now());
  let late = false;
  const step = async (name: string, fn: ((ms: number) => Promise<unknown>) | undefined) => {
    if (!fn) return;
    const ms = left();
    const work = Promise.resolve()
      .then(() => fn(ms))
      .catch((error: unknown) => {
        log.warn({ err: error, step: name }, `could not stop ${name} cleanly`);
      });
    if (late || ms === 0) {
      if (!late)
        log.warn(
          { step: name, timeoutMs },
          `SHUTDOWN_TIMEOUT_MS passed before stopping ${name}; not waiting`,
        );
      late = true;
      return; // started, not waited for
    }
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), ms);
    });
    const outcome = await Promise.race([work.then(() => "done" as const), expired]);
    clearTimeout(timer);
    if (outcome === "late") {
      late = true;
      log.warn({ step: name, timeoutMs }, `SHUTDOWN_TIMEOUT_MS passed while stopping ${name}; not waiting`);
    }
  };
  const { server, workers, queue, storage, bus, db, runtime } = running;
  await step("http", server && ((ms) => server.close({ timeoutMs: ms })));
  await step("workers", workers && ((ms) => workers.stop({ timeoutMs: ms })));
  await step("queue", queue && ((ms) => queue.stop({ graceful: true, timeoutMs: ms })));
  await step("storage", storage?.close && (() => storage.close?.() ?? Promise.resolve()));
  await step("events", bus && (() => bus.stop()));
  await step("database", db && (() => db.destroy()));
  await step("postgres", runtime && (() => runtime.close()));
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
    await assertPortFree(config.port, config.host);
    const workers = workersModule;
    running.runtime = await openDatabaseRuntime(config, {
      migrate: true,
      logger,
      installQueue: (url: string) => workers.installQueue(url),
    });
    const runtime = running.runtime;
    running.db = runtimeDatabase(runtime, config);
    // Refuse to serve tenants over a role that row-level security would not restrict.
    await assertServableRole(running.db, runtime.runtimeUrl);

    // The queue and LISTEN connections hold sessions: past any pooler (DATABASE_DIRECT_URL).
    running.queue = workers.createJobQueue({ connectionString: runtime.directUrl, logger });
    await running.queue.start();
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

    // One LISTEN connection for this process; the gateway fans its events out to SSE streams.
    running.bus = createEventBus({ db: running.db, listenUrl: runtime.directUrl, logger });
    await running.bus.start();
    const dashboardDir = config.gateway.dashboardDir ?? repositoryDashboard();
    const gateway = createGateway({
      platform,
      bus: running.bus,
      config: { ...config.gateway, adminKey, ...(dashboardDir ? { dashboardDir } : {}) },
      logger,
      ...(running.queue ? { queue: running.queue } : {}),
      ...(running.storage ? { storage: running.storage } : {}),
      evaluatePolicy: policyEvaluatorOf(workers),
    });
    if (flags.workers) {
      running.workers = await workers.startWorkers({
        platform,
        queue: running.queue,
        jobs: workers.builtInJobs(),
        logger,
        concurrency: config.workerConcurrency,
        listenUrl: runtime.directUrl,
        deps: workerDependencies(workers, config, running.storage),
        hooks: { onJobFinished: ({ name, outcome }) => gateway.metrics.jobFinished(name, outcome) },
      });
    }
    running.server = await gateway.serve({ port: config.port, host: config.host }).catch((error) => {
      throw (error as NodeJS.ErrnoException).code === "EADDRINUSE" ? portTaken(config.port) : error;
    });
    const url = running.server.url;
    logger.info(
      {
        url,
        workers: Boolean(running.workers),
        embedded: Boolean(runtime.embedded),
        pooler: databasePooler(running.db),
        storage: config.storage.driver,
      },
      "listening",
    );
    const lines = [`\ncybernetic is listening on ${url}\n`];
    if (runtime.embedded)
      lines.push(`  data:       ${runtime.embedded.dataDir} (embedded PostgreSQL, local files)\n`);
    if (dashboardDir) lines.push(`  dashboard:  ${url}/dashboard/ (from ${dashboardDir})\n`);
    const secretsFile = runtime.embedded && join(runtime.embedded.dataDir, "secrets.json");
    if (generatedAdminKey) {
      lines.push(`  admin key:  ${generatedAdminKey}\n              (generated; kept in ${secretsFile})\n`);
    } else if (secretsFile && !config.gateway.adminKey) {
      lines.push(`  admin key:  in ${secretsFile} ("adminKey")\n`);
    }
    if (defaultKey) {
      lines.push(
        `  tenant "${DEFAULT_TENANT}" API key (shown once, store it now):\n              ${defaultKey}\n`,
      );
    } else if (runtime.embedded) {
      lines.push(
        `  a new key for tenant "${DEFAULT_TENANT}":  pnpm cybernetic tenant key ${DEFAULT_TENANT}\n`,
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
    await release(running, config.gateway.shutdownTimeoutMs, logger);
    await flushed(logger);
    throw error;
  }
  await release(running, config.gateway.shutdownTimeoutMs, logger);
  logger.info({}, "stopped");
  await flushed(logger);
  return 0;
}
