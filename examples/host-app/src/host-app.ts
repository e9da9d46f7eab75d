/**
 * The composition root of the host app: what `cybernetic serve` does for the gateway, done by an app of
 * its own with the SDK's public exports only. One process holds the HTTP server, the job queue and the
 * workers that analyse each note (S4), and `stop()` shuts all of them down in order.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import {
  assertRuntimeRoleIsSafe,
  createDatabase,
  createPlatform,
  type Logger,
  type Platform,
} from "@cybernetic/core";
import { createStorage } from "@cybernetic/storage";
import { builtInJobs, createHeuristicAnalyzer, createJobQueue, startWorkers } from "@cybernetic/workers";
import type { HostAppConfig } from "./config.js";
import { createJsonLogger } from "./logger.js";
import { prepareDatabase } from "./prepare-database.js";
import { createRequestHandler } from "./routes.js";
import { createTenantDirectory } from "./tenant-directory.js";
import { createUserDirectory, DEMO_USERS, type UserDirectory } from "./users.js";

/** Options of `startHostApp`. */
export interface HostAppOptions {
  config: HostAppConfig;
  /** Who may sign in; default `DEMO_USERS`. */
  users?: UserDirectory;
  /** Default: JSON lines on stdout at `config.logLevel`. */
  logger?: Logger;
}

/** A running host app. */
export interface HostApp {
  /** `http://host:port` it listens on (the port is the real one when `config.port` is 0). */
  url: string;
  platform: Platform;
  /**
   * Graceful shutdown, within `config.shutdownTimeoutMs`: stops accepting connections, lets in-flight
   * requests and running jobs finish (connections still open at the deadline are cut, and an upload cut
   * short stores nothing), then stops the queue and closes the storage adapter and the pool. Calling it
   * again returns the same promise. `timedOut` says whether the deadline cut anything short.
   */
  stop(): Promise<{ timedOut: boolean }>;
}

const sleep = (ms: number) => new Promise<"late">((resolve) => setTimeout(() => resolve("late"), ms).unref());

/**
 * Starts the app: migrations (with an owner URL), the runtime pool (refusing a role that would bypass
 * row-level security), the job queue, the storage adapter, the platform, the workers, then the HTTP
 * server.
 *
 * @example
 * ```ts
 * const app = await startHostApp({ config: hostAppConfigFromEnv(process.env) });
 * process.once("SIGTERM", () => app.stop().then(() => process.exit(0)));
 * ```
 */
export async function startHostApp(options: HostAppOptions): Promise<HostApp> {
  const { config } = options;
  const logger = options.logger ?? createJsonLogger(config.logLevel);
  // What a failed start must release, newest first: each step pushes how to undo itself.
  const undo: { name: string; run: () => Promise<unknown> }[] = [];
  try {
    await prepareDatabase(config.database, logger);
    const db = createDatabase(config.database);
    undo.push({ name: "database", run: () => db.destroy() });
    // Refuse to serve tenants over a role that row-level security would not restrict.
    await assertRuntimeRoleIsSafe(db);

    // pg-boss and the workers' LISTEN hold sessions: they connect past any transaction pooler.
    const sessionUrl = config.database.directUrl ?? config.database.url;
    const queue = createJobQueue({ connectionString: sessionUrl, logger });
    undo.push({ name: "queue", run: () => queue.stop({ graceful: false }) });
    await queue.start();
    const storage = await createStorage(config.storage);
    undo.push({ name: "storage", run: async () => storage.close?.() });
    const platform = createPlatform({
      db,
      queue,
      storage,
      artifacts: { maxBytes: config.fileMaxBytes },
      logger,
    });
    // Every built-in job (S4 analysis, S5 policies, notifications, housekeeping…), in this process.
    const workers = await startWorkers({
      platform,
      queue,
      jobs: builtInJobs(),
      concurrency: config.workerConcurrency,
      listenUrl: sessionUrl,
      deps: { analyzer: createHeuristicAnalyzer(), artifactBlobs: storage },
      logger,
    });
    undo.push({ name: "workers", run: () => workers.stop({ timeoutMs: 1_000 }) });

    let stopping: Promise<{ timedOut: boolean }> | undefined;
    const inFlight = new Set<Promise<void>>();
    const handle = createRequestHandler({
      platform,
      users: options.users ?? createUserDirectory(DEMO_USERS),
      tenants: createTenantDirectory(platform),
      logger,
      fileMaxBytes: config.fileMaxBytes,
      isStopping: () => stopping !== undefined,
    });
    const server = createServer((req, res) => {
      const request = handle(req, res);
      inFlight.add(request);
      void request.finally(() => {
        inFlight.delete(request);
        // A keep-alive connection that just went idle during shutdown: close it now, not at its timeout.
        if (stopping) server.closeIdleConnections();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(config.port, config.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const { port } = server.address() as AddressInfo;
    const url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}`;
    logger.info({ url }, "listening");

    const shutdown = async (): Promise<{ timedOut: boolean }> => {
      const deadline = Date.now() + config.shutdownTimeoutMs;
      const left = () => Math.max(0, deadline - Date.now());
      logger.info({ requests: inFlight.size, jobs: workers.inFlight }, "shutting down");
      const drainHttp = async (): Promise<boolean> => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        if ((await Promise.race([closed, sleep(left())])) !== "late") return false;
        // The deadline: cut what is still open. An upload cut short aborts and removes its temp file;
        // wait (briefly) for those handlers to finish before the pool they use goes away.
        logger.warn({ requests: inFlight.size }, "shutdown deadline: closing open connections");
        server.closeAllConnections();
        await Promise.race([Promise.allSettled([...inFlight]), sleep(2_000)]);
        return true;
      };
      // HTTP and workers drain side by side; the queue stays up until both are done, since a request in
      // flight may still enqueue an analysis.
      const [httpLate, jobs] = await Promise.all([drainHttp(), workers.stop({ timeoutMs: left() })]);
      await queue.stop({ graceful: left() > 0, timeoutMs: left() });
      await storage.close?.();
      await db.destroy();
      const timedOut = httpLate || jobs.timedOut;
      logger.info({ timedOut }, "stopped");
      return { timedOut };
    };
    return {
      url,
      platform,
      stop() {
        stopping ??= shutdown();
        return stopping;
      },
    };
  } catch (error) {
    for (const step of undo.reverse()) {
      await step
        .run()
        .catch((err: unknown) => logger.warn({ err, step: step.name }, `could not stop ${step.name}`));
    }
    throw error;
  }
}
