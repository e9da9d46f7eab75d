import {
  APP_ROLE,
  CyberneticError,
  createDatabase,
  ensureRuntimeRole,
  migrationSql,
  migrationStatus,
} from "@cybernetic/core";
import type { CyberneticConfig } from "../config.js";
import { createLogger } from "../logger.js";
import type { CliIo } from "./cli-io.js";
import { openDatabaseRuntime } from "./database-runtime.js";
import { workersModule } from "./integrations.js";

/** `cybernetic migrate [--status] [--print-sql]`. */
export async function migrateCommand(
  config: CyberneticConfig,
  flags: { status: boolean; printSql: boolean },
  io: CliIo,
): Promise<number> {
  if (flags.printSql) {
    io.out(migrationSql());
    return 0;
  }
  const logger = createLogger({
    level: config.logLevel === "info" ? "warn" : config.logLevel,
    destination: 2,
    sync: true,
  });
  if (flags.status) {
    const runtime = await openDatabaseRuntime(
      { ...config, database: { ...config.database, url: config.database.ownerUrl ?? config.database.url } },
      { migrate: false, logger },
    );
    const db = createDatabase({ url: runtime.ownerUrl ?? runtime.runtimeUrl, poolSize: 1 });
    try {
      const status = await migrationStatus(db);
      for (const m of status) {
        io.out(
          `${m.executedAt ? "applied" : "pending"}  ${m.name}${m.executedAt ? `  ${m.executedAt.toISOString()}` : ""}\n`,
        );
      }
      const pending = status.filter((m) => m.executedAt === null).length;
      io.out(pending === 0 ? "database is up to date\n" : `${pending} migration(s) pending\n`);
    } finally {
      await db.destroy();
      await runtime.close();
    }
    return 0;
  }
  const workers = workersModule;
  // Migrations run as the owner: DATABASE_OWNER_URL, else DATABASE_URL itself. Only the owner is
  // connected to first: the runtime role of DATABASE_URL may not exist yet (this command creates it).
  const ownerUrl = config.database.ownerUrl ?? config.database.url;
  const runtime = await openDatabaseRuntime(
    {
      ...config,
      database: { ...config.database, url: ownerUrl, ownerUrl, directUrl: undefined },
    },
    { migrate: true, logger, installQueue: (url) => workers.installQueue(url) },
  );
  try {
    const db = createDatabase({ url: runtime.ownerUrl ?? runtime.runtimeUrl, poolSize: 1 });
    try {
      const status = await migrationStatus(db);
      io.out(`database is up to date (${status.length} migration(s) applied)\n`);
      if (!runtime.embedded && config.database.url && config.database.ownerUrl) {
        const role = await ensureRoleOf(db, config.database.directUrl ?? config.database.url, config);
        if (role) io.out(`runtime role "${role}" is ready: a login role in ${APP_ROLE}\n`);
      }
    } finally {
      await db.destroy();
    }
  } finally {
    await runtime.close();
  }
  return 0;
}

/** `user:password` of a connection URL, decoded. */
function credentialsOf(url: string): { user: string; password: string | undefined } {
  const u = new URL(url);
  return {
    user: decodeURIComponent(u.username),
    password: u.password === "" ? undefined : decodeURIComponent(u.password),
  };
}

/**
 * Creates or updates the runtime login role that `url` names (its user and password) as a member of
 * cybernetic_app, with the owner connection `owner`: operators of their own PostgreSQL write no SQL.
 * Nothing to do when `url` is the owner itself. Returns the role's name when it was ensured.
 */
async function ensureRoleOf(
  owner: ReturnType<typeof createDatabase>,
  url: string,
  config: CyberneticConfig,
): Promise<string | undefined> {
  const runtime = credentialsOf(url);
  const ownerUser = credentialsOf(config.database.ownerUrl ?? url).user;
  if (runtime.user === "" || runtime.user === ownerUser) return undefined;
  try {
    await ensureRuntimeRole(owner, {
      user: runtime.user,
      ...(runtime.password === undefined ? {} : { password: runtime.password }),
    });
  } catch (error) {
    if ((error as { code?: unknown }).code === "42501") {
      throw new CyberneticError(
        "forbidden",
        `the owner role "${ownerUser}" may not create or alter the role "${runtime.user}" (it needs CREATEROLE): ` +
          `give it CREATEROLE, or create the role once as a superuser: CREATE ROLE ${runtime.user} LOGIN PASSWORD '…' IN ROLE ${APP_ROLE}`,
        { cause: error },
      );
    }
    throw error;
  }
  return runtime.user;
}
