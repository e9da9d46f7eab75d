import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  APP_ROLE,
  assertRuntimeRoleIsSafe,
  CyberneticError,
  checkConnection,
  createDatabase,
  type DatabaseConfig,
  type Db,
  describeDatabaseUrl,
  ensureRuntimeRole,
  type Logger,
  migrate,
  type RuntimeRoleReport,
} from "@cybernetic/core";
import pg from "pg";
import type { CyberneticConfig } from "../config.js";
import { startEmbeddedPostgres } from "../embedded/embedded-postgres.js";
import { type DataDirSecrets, loadOrCreateSecrets, prepareDataDir } from "./data-dir.js";

/** The login role the embedded default's gateway connects as (a member of cybernetic_app). */
export const EMBEDDED_RUNTIME_ROLE = "cybernetic_runtime";
const EMBEDDED_DATABASE = "cybernetic";

/** Connection strings for one CLI command, and how to let go of them. */
export interface DatabaseRuntime {
  /** The runtime role (row-level security applies). */
  runtimeUrl: string;
  /**
   * The runtime role past any connection pooler (`DATABASE_DIRECT_URL`, else `runtimeUrl`): for the
   * event bus's LISTEN and the job queue, sessions a transaction pooler cannot keep.
   */
  directUrl: string;
  /** The owner (migrations); undefined when only a runtime URL was configured. */
  ownerUrl: string | undefined;
  /** Set when the database is the embedded one. */
  embedded?: { dataDir: string; secrets: DataDirSecrets; startedHere: boolean };
  /** Stops the embedded server if this process started it. */
  close(): Promise<void>;
}

/**
 * The runtime pool of a command: `runtimeUrl` with the configured pooler setting (`DATABASE_POOLER`;
 * `auto` treats a `DATABASE_DIRECT_URL` other than `DATABASE_URL` as a transaction pooler).
 */
export function runtimeDatabase(
  runtime: DatabaseRuntime,
  config: CyberneticConfig,
  options: { poolSize?: number } = {},
): Db {
  const pooler: DatabaseConfig["pooler"] = runtime.embedded ? "none" : config.database.pooler;
  return createDatabase({
    url: runtime.runtimeUrl,
    directUrl: runtime.directUrl,
    pooler,
    poolSize: options.poolSize ?? config.database.poolSize,
  });
}

/** Options of `openDatabaseRuntime`. */
export interface OpenDatabaseOptions {
  /** Apply migrations (and install the queue schema) when an owner connection is available. */
  migrate: boolean;
  /** Installs pg-boss's schema with the owner URL (from the workers package), when available. */
  installQueue?: (ownerUrl: string) => Promise<unknown>;
  logger: Logger;
}

function withDatabase(url: string, user: string, password: string, database: string): string {
  const u = new URL(url);
  u.username = encodeURIComponent(user);
  u.password = encodeURIComponent(password);
  u.pathname = `/${database}`;
  return u.toString();
}

/** The port of an embedded PostgreSQL already running on `pgDataDir`, if any (its postmaster.pid). */
async function runningPort(pgDataDir: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(join(pgDataDir, "postmaster.pid"), "utf8");
  } catch {
    return undefined;
  }
  const [pidLine, , , portLine] = text.split("\n");
  const pid = Number(pidLine);
  const port = Number(portLine);
  if (!Number.isInteger(pid) || !Number.isInteger(port)) return undefined;
  try {
    process.kill(pid, 0);
    return port;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM" ? port : undefined;
  }
}

async function migrateWith(ownerUrl: string, options: OpenDatabaseOptions): Promise<void> {
  const owner = createDatabase({ url: ownerUrl, poolSize: 1 });
  try {
    const { applied } = await migrate(owner);
    if (applied.length > 0) options.logger.info({ applied }, "migrations applied");
  } finally {
    await owner.destroy();
  }
  if (options.installQueue) await options.installQueue(ownerUrl);
}

/**
 * Opens the database a command works on. With `DATABASE_URL`, checks it answers (a one-line error naming
 * host and port otherwise) and, when `DATABASE_OWNER_URL` is set and `migrate` is asked, applies the
 * migrations. Without it, the embedded default: PostgreSQL under `<dataDir>/postgres` (attached to when
 * a `cybernetic serve` is already running on it), migrated as the superuser, with the runtime login role
 * created by `ensureRuntimeRole`.
 */
export async function openDatabaseRuntime(
  config: CyberneticConfig,
  options: OpenDatabaseOptions,
): Promise<DatabaseRuntime> {
  const { logger } = options;
  if (config.database.url) {
    await checkConnection(config.database.url);
    const ownerUrl = config.database.ownerUrl;
    if (ownerUrl && options.migrate) {
      await checkConnection(ownerUrl);
      await migrateWith(ownerUrl, options);
    }
    const directUrl = config.database.directUrl ?? config.database.url;
    if (directUrl !== config.database.url) await checkConnection(directUrl);
    return { runtimeUrl: config.database.url, directUrl, ownerUrl, close: async () => {} };
  }

  const dataDir = config.dataDir;
  await prepareDataDir(dataDir);
  const secrets = await loadOrCreateSecrets(dataDir);
  const pgDataDir = join(dataDir, "postgres");
  let superuserUrl: string;
  let stop: () => Promise<void> = async () => {};
  const port = await runningPort(pgDataDir);
  if (port !== undefined) {
    superuserUrl = `postgres://postgres:${encodeURIComponent(secrets.postgresPassword)}@127.0.0.1:${port}/postgres`;
    logger.info({ dataDir: pgDataDir, port }, "using the embedded PostgreSQL already running");
  } else {
    logger.info({ dataDir: pgDataDir }, "starting embedded PostgreSQL");
    const server = await startEmbeddedPostgres({
      dataDir: pgDataDir,
      password: secrets.postgresPassword,
      onLog: (line) => logger.debug({ postgres: line }, "postgres"),
    });
    superuserUrl = server.url;
    stop = () => server.stop();
  }
  try {
    const admin = new pg.Client({ connectionString: superuserUrl });
    admin.on("error", () => {});
    await admin.connect();
    try {
      const { rowCount } = await admin.query("select 1 from pg_database where datname = $1", [
        EMBEDDED_DATABASE,
      ]);
      if (!rowCount) await admin.query(`create database ${pg.escapeIdentifier(EMBEDDED_DATABASE)}`);
    } finally {
      await admin.end();
    }
    const ownerUrl = withDatabase(superuserUrl, "postgres", secrets.postgresPassword, EMBEDDED_DATABASE);
    if (options.migrate) {
      await migrateWith(ownerUrl, options);
      const owner = createDatabase({ url: ownerUrl, poolSize: 1 });
      try {
        await ensureRuntimeRole(owner, { user: EMBEDDED_RUNTIME_ROLE, password: secrets.runtimePassword });
      } finally {
        await owner.destroy();
      }
    }
    const runtimeUrl = withDatabase(
      superuserUrl,
      EMBEDDED_RUNTIME_ROLE,
      secrets.runtimePassword,
      EMBEDDED_DATABASE,
    );
    logger.debug({ database: describeDatabaseUrl(runtimeUrl) }, "embedded database ready");
    return {
      runtimeUrl,
      directUrl: runtimeUrl,
      ownerUrl,
      embedded: { dataDir, secrets, startedHere: port === undefined },
      close: stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** `url` with another user and password (shown, not secret: placeholders). */
function withCredentials(url: string, user: string, password: string): string {
  const u = new URL(url);
  u.username = encodeURIComponent(user);
  u.password = password;
  return u.toString().replace(encodeURIComponent(password), password);
}

/**
 * `assertRuntimeRoleIsSafe`, with the refusal saying which command fixes it: `cybernetic migrate` with
 * the owner URL creates (or grants `cybernetic_app` to) the runtime role DATABASE_URL names.
 */
export async function assertServableRole(db: Db, url: string): Promise<RuntimeRoleReport> {
  try {
    return await assertRuntimeRoleIsSafe(db);
  } catch (error) {
    const report = CyberneticError.isInstance(error)
      ? (error.details as RuntimeRoleReport | undefined)
      : undefined;
    if (!report || !CyberneticError.isInstance(error)) throw error;
    const privileged = report.superuser || report.bypassRls || report.ownsTables;
    const fix = privileged
      ? `keep this URL as DATABASE_OWNER_URL, point DATABASE_URL at a login role of its own, and let migrate create it: ` +
        `DATABASE_OWNER_URL='${withCredentials(url, report.role, "…")}' DATABASE_URL='${withCredentials(url, "cybernetic_runtime", "<new-password>")}' cybernetic migrate`
      : `let migrate grant ${APP_ROLE} to "${report.role}": DATABASE_OWNER_URL='<owner URL>' DATABASE_URL='${withCredentials(url, report.role, "…")}' cybernetic migrate`;
    throw new CyberneticError(
      "unavailable",
      `${error.message.replace(/ \(see ensureRuntimeRole\)$/, "")}. To fix: ${fix}; then start again with both set (docs/RUNBOOK.md)`,
      {
        details: report,
        cause: error,
      },
    );
  }
}
